"""asva.curation: turning raw labelled videos into an AVSync15-style dataset (see docs/curation.md).

    config.py    CurateConfig (every threshold), STAGES, presets
    sources.py   the input videos and labels (folder, CSV, VGGSound CSV)
    decode.py    one decode per video for every stage
    stages.py    the stages, small functions over one video's clips
    models.py    the image embedder / ImageBind / sync classifier behind small interfaces
    process.py   one video through every stage -> manifest rows
    runner.py    local process pool or Ray Data; resumable; `curate` is the whole job
    manifest.py  manifest JSONL and the closing summary
    dataset.py   merged segments -> videos/, train.txt, test.txt, class_mapping.json
    review.py    the static review page and its decisions

Nothing here is imported by the core library; the `curate` extra installs what it needs.
"""
