"""The Gradio page of `asva demo` and its HTTP API (`/animate`); `serve` builds and launches both."""
from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from asva.demo.config import DemoConfig
from asva.demo.engine import Engine, Request
from asva.demo.examples import Example, render_examples
from asva.demo.methods import available_models, load_methods

INTRO = """# asva: audio-synchronized visual animation
Give an image and a sound; the model animates the image in time with the sound (AVSyncD, ECCV 2024).
Pick an example below, or bring your own. The video lasts as long as the sound."""
# No web fonts: the page must not make the visitor's browser fetch anything from the internet.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


TRACK_STEPS = gr.Progress(track_tqdm=True)  # the pipeline's tqdm bar drives the page's progress bar


def _file_path(value) -> str | None:
    """The server-side path of a file input left unprocessed by Gradio (a FileData dict or a path)."""
    if isinstance(value, dict):
        return value.get("path")
    return value


def run(job, progress: gr.Progress, *args, **kwargs):
    """`job(*args, **kwargs)` (engine.generate or engine.compare), with bad input turned into the page's
    error message."""
    progress(0, desc="checking the inputs")
    try:
        return job(*args, **kwargs)
    except ValueError as err:
        raise gr.Error(str(err), print_exception=False) from None


def _note(note: str | None) -> str:
    """The crop note as the page shows it (empty when nothing was cut)."""
    return f"**Image cropped:** {note}" if note else ""


def _etas(text: str) -> list[float]:
    try:
        return [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"eta values: comma-separated numbers such as 1,4,8; got {text!r}") from None


def _prompt_input(engine: Engine):
    """A dropdown of the model's classes, editable when it also has a text encoder; free text only
    when it has no class table."""
    if engine.classes:
        return gr.Dropdown(engine.classes, value=engine.classes[0], allow_custom_value=engine.free_text,
                           label="Class" + (" or prompt" if engine.free_text else ""))
    return gr.Textbox(label="Prompt", placeholder="what makes the sound, e.g. 'dog barking'")


def _example_rows(examples: list[Example], engine: Engine) -> list[list[str]]:
    """[image, audio, class] rows; a class the model does not know becomes its first class."""
    known = engine.classes
    return [[str(e.image), str(e.audio), e.prompt if not known or e.prompt in known else known[0]]
            for e in examples]


def _input_column(engine: Engine, max_steps: int) -> dict:
    from asva.pipelines.schedulers import scheduler_names

    image = gr.Image(label="Image", type="filepath", elem_id="input-image",
                     sources=["upload", "clipboard", "webcam"])
    audio = gr.Audio(label="Sound", type="filepath", sources=["upload", "microphone"], format=None,
                     elem_id="input-audio")
    prompt = _prompt_input(engine)
    method = gr.Dropdown(list(engine.methods), value="AVSyncD", label="Method", elem_id="method")
    with gr.Accordion("Sampling", open=True):
        eta = gr.Slider(0, 10, value=4, step=0.5, label="eta: audio guidance (1 = none; default 4)")
        steps = gr.Slider(1, max_steps, value=25, step=1, label="Steps (default 25)")
        own = [engine.sampler] if engine.sampler not in scheduler_names() else []
        sampler = gr.Dropdown(own + scheduler_names(), value=engine.sampler,
                              label="Sampler (default: the model's own)")
        with gr.Row():
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            dice = gr.Button("Random seed", size="sm")
        fps = gr.Slider(1, 30, value=6, step=1, label="Frames per second (model runs at 6)")
    dice.click(lambda: random.randrange(2**31), outputs=seed, api_visibility="private", queue=False)
    return {"image": image, "audio": audio, "prompt": prompt, "method": method, "eta": eta, "steps": steps,
            "sampler": sampler, "seed": seed, "fps": fps}


def _output_column() -> list:
    """video, crop note, download files, GIF, parameters, command."""
    return [gr.Video(label="Result (with sound)", interactive=False, elem_id="result-video"),
            gr.Markdown(elem_id="crop-note"),
            gr.File(label="Download", file_count="multiple", interactive=False),
            gr.Image(label="GIF", type="filepath", interactive=False),
            gr.JSON(label="Parameters used"),
            gr.Code(label="The same from the command line", language="shell", interactive=False, lines=2,
                    max_lines=4, wrap_lines=True, buttons=["copy"])]


def _compare_tab(engine: Engine) -> dict:
    """The Compare tab's controls and outputs: `asva compare`'s grid for the current inputs."""
    gr.Markdown("The methods side by side on the current image, sound, class, steps, sampler, seed and "
                "frame rate, as `asva compare` renders them: one column per method, AVSyncD once per eta; "
                "the video carries the sound. Below it, the contact sheet (frames x methods).")
    labels = gr.CheckboxGroup(list(engine.methods), value=list(engine.methods), label="Methods",
                              elem_id="compare-methods")
    etas = gr.Textbox("1,4,8", label="AVSyncD eta values (comma-separated; default 1,4,8)")
    button = gr.Button("Compare", variant="primary")
    outputs = [gr.Video(label="Comparison (with sound)", interactive=False, elem_id="compare-video"),
               gr.Image(label="Contact sheet", type="filepath", interactive=False, elem_id="compare-sheet"),
               gr.Markdown()]
    return {"labels": labels, "etas": etas, "button": button, "outputs": outputs}


def build_app(engine: Engine, examples: list[Example], config: DemoConfig) -> gr.Blocks:
    """The page (private UI events: animate, compare) and the public `/animate` endpoint, over one engine."""

    def request_of(img, aud, text, meth, e, n, samp, s, f) -> Request:
        return Request(_file_path(img), _file_path(aud), text or "", meth, float(e), int(n), samp,
                       int(s or 0), float(f))

    def animate_page(img, aud, text, meth, e, n, samp, s, f, progress=TRACK_STEPS):
        result = run(engine.generate, progress, request_of(img, aud, text, meth, e, n, samp, s, f))
        return (str(result.video), _note(result.note), [str(result.video), str(result.gif)], str(result.gif),
                result.params, result.command)

    def compare_page(img, aud, text, meth, e, n, samp, s, f, labels, etas, progress=TRACK_STEPS):
        request = request_of(img, aud, text, "AVSyncD", e, n, samp, s, f)
        result = run(lambda: engine.compare(request, labels or [], _etas(etas)), progress)
        return str(result.video), str(result.sheet), _note(result.note)

    def animate_api(img, aud, text, e, n, s, progress=TRACK_STEPS):
        """Animate `image` with `audio`: class or prompt, eta, steps, seed -> the mp4 (with the sound)."""
        request = Request(_file_path(img), _file_path(aud), text or "", "AVSyncD", e, n, None, s)
        return str(run(engine.generate, progress, request).video)

    with gr.Blocks(title="asva demo", delete_cache=(600, int(config.keep_seconds))) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                inputs = _input_column(engine, config.limits.max_steps)
                go = gr.Button("Animate", variant="primary")
            with gr.Column(), gr.Tabs():
                with gr.Tab("Result"):
                    outputs = _output_column()
                with gr.Tab("Compare", elem_id="compare-tab"):
                    compare = _compare_tab(engine)
        gr.Examples(_example_rows(examples, engine), [inputs["image"], inputs["audio"], inputs["prompt"]],
                    label="Examples (synthetic, one per class)", examples_per_page=len(examples))
        # preprocess=False: our checks read the files (Gradio's own would open a broken or huge image
        # with PIL before them and fail with a server error instead of the page's message)
        go.click(animate_page, list(inputs.values()), outputs, api_visibility="private", preprocess=False)
        compare["button"].click(compare_page, [*inputs.values(), compare["labels"], compare["etas"]],
                                compare["outputs"], api_visibility="private", preprocess=False)
        api_inputs = [inputs["image"], inputs["audio"], gr.Textbox(visible=False),
                      inputs["eta"], inputs["steps"], inputs["seed"]]
        gr.Button(visible=False).click(animate_api, api_inputs, gr.File(visible=False), api_name="animate",
                                       preprocess=False)
    return app


def serve(config: DemoConfig) -> None:
    """Load the methods' models, render the examples, build the page and serve it until interrupted."""
    workdir = Path(config.workdir) if config.workdir else Path(tempfile.mkdtemp(prefix="asva-demo-"))
    try:
        models = available_models(config.model, config.i2vd, config.aadiff)
        methods = load_methods(models, config.device, config.dtype)  # each model once
        examples = render_examples(workdir / "examples")
        roots = [Path(gr.utils.get_upload_folder()), workdir / "examples"]
        engine = Engine(methods, models, config.limits, workdir / "outputs", roots,
                        keep_seconds=config.keep_seconds)
        app = build_app(engine, examples, config)
        app.queue(default_concurrency_limit=config.concurrency)
        app.launch(server_name=config.host, server_port=config.port, share=False, theme=THEME,
                   max_file_size=config.limits.max_upload_bytes, allowed_paths=[str(workdir)],
                   footer_links=["api"])
    finally:
        if config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
