"""The official precomputed class encodings: import (`asva convert --class-encodings`), and `--class`."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from asva import cli
from asva.pipelines.loading import load_model, write_model_index
from asva.pipelines.prompts import class_prompt, import_class_encodings, save_class_prompts
from asva.pipelines.testing import random_pipeline

pytestmark = pytest.mark.usefixtures("one_thread")

MAPPING = {"dog": "dog barking", "lion": "lions roaring"}


class NotATensor:  # anything that needs unpickling code
    pass


def official_files(folder, dim=768, single=False):
    """Tiny files in the official layout: prompt -> (1, 77, dim) (one tensor for TheGreatestHits),
    the null encoding stored flat (the official code views it as (1, 77, 768))."""
    g = torch.Generator().manual_seed(0)
    enc = torch.randn(1, 77, dim, generator=g) if single else {
        p: torch.randn(1, 77, dim, generator=g) for p in ("dog barking", "lions roaring", "unused")}
    torch.save(enc, folder / "enc.pt")
    torch.save(torch.randn(77 * dim, generator=g), folder / "null.pt")
    (folder / "class_mapping.json").write_text(json.dumps(MAPPING))
    return enc, folder / "enc.pt", folder / "null.pt", folder / "class_mapping.json"


def test_import_by_class_by_prompt_and_single_tensor(tmp_path):
    enc, enc_pt, null_pt, mapping = official_files(tmp_path)
    table = import_class_encodings(enc_pt, null_pt, mapping)
    assert table.names == ["dog", "lion"]  # keyed by class, rows = the class's prompt encoding
    assert torch.equal(table.lookup(["lion"]), enc["lions roaring"])
    assert torch.equal(table.null(1), torch.load(null_pt).view(1, 77, 768))
    assert import_class_encodings(enc_pt, null_pt).names == ["dog barking", "lions roaring", "unused"]
    single, enc_pt, null_pt, _ = official_files(tmp_path, single=True)
    table = import_class_encodings(enc_pt, null_pt)
    assert table.names == ["hitting with a stick"] and torch.equal(table.lookup(table.names), single)


def test_refused_and_bad_files(tmp_path):
    _, enc_pt, null_pt, mapping = official_files(tmp_path)
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as handle:
        pickle.dump({"dog barking": NotATensor()}, handle)
    with pytest.raises(ValueError, match="unpickling code"):
        import_class_encodings(evil, null_pt)
    torch.save(torch.zeros(10), tmp_path / "short.pt")
    with pytest.raises(ValueError, match=r"viewed as \(1, 77, 768\)"):
        import_class_encodings(enc_pt, tmp_path / "short.pt")
    (tmp_path / "other.json").write_text(json.dumps({"cat": "cat meowing"}))
    with pytest.raises(ValueError, match="cat meowing"):
        import_class_encodings(enc_pt, null_pt, tmp_path / "other.json")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A tiny model in the `asva convert` layout with a CLIP text encoder and imported encodings."""
    folder = tmp_path_factory.mktemp("converted") / "model"
    pipe = random_pipeline("tiny", text="clip")
    pipe.save_pretrained(folder)
    dim = pipe.unet.unet_config.text_dim
    official = tmp_path_factory.mktemp("official")
    enc, enc_pt, null_pt, _ = official_files(official, dim=dim)
    (official / "dog_only.json").write_text(json.dumps({"dog": "dog barking"}))
    table = import_class_encodings(enc_pt, null_pt, official / "dog_only.json", null_shape=(1, 77, dim))
    entries = save_class_prompts(folder, table, MAPPING)  # the table knows dog only; the mapping both
    parts = ["unet", "audio_encoder", "vae", "text_encoder", "tokenizer", "scheduler"]
    write_model_index(folder, parts + list(entries["components"]))  # as `asva convert` writes it
    return folder, enc


def test_class_uses_the_imported_encoding(converted, tmp_path, capsys):
    folder, enc = converted
    pipe = load_model(folder).pipe
    choice = class_prompt(pipe, "dog")
    assert choice.use_table and "precomputed" in choice.note
    text, _ = pipe.encode_prompt([choice.prompt], 1, use_table=True)
    assert torch.equal(text, enc["dog barking"])
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(tmp_path / "i.png")
    wave = torch.zeros(16000)
    from asva.media import write_video
    write_video(tmp_path / "a.mp4", torch.zeros(3, 6, 32, 32, dtype=torch.uint8), 6.0, audio=wave)
    base = ["animate", "--model", str(folder), "--steps", "1", "--size", "32", "--device", "cpu",
            "--image", str(tmp_path / "i.png"), "--audio", str(tmp_path / "a.mp4")]
    assert cli.main([*base, "--class", "dog", "-o", str(tmp_path / "dog.mp4")]) == 0
    assert "class 'dog': the model's precomputed CLIP encoding" in capsys.readouterr().out
    # a class without an imported encoding: its class_mapping.json prompt, encoded by CLIP
    assert cli.main([*base, "--class", "lion", "-o", str(tmp_path / "lion.mp4")]) == 0
    assert "encoding its class_mapping.json prompt 'lions roaring' with CLIP" in capsys.readouterr().out
    assert (tmp_path / "dog.mp4").is_file() and (tmp_path / "lion.mp4").is_file()
