"""One generation of the demo, without Gradio: a `Request` in, an mp4 + GIF + the parameters out.

The `Engine` holds the loaded pipeline. Each request gets a shallow copy of it with its own
scheduler, so concurrent requests (`--concurrency N`) never share sampler state; the networks
themselves are shared and only read.
"""
from __future__ import annotations

import copy
import shlex
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from asva.demo.config import Limits
from asva.demo.inputs import load_audio, load_image
from asva.demo.methods import METHODS


def load_pipeline(model: str, device: str, dtype: str):
    """(pipeline, frame size) for `model`: the one place the demo loads weights."""
    from asva.pipelines.loading import load_model

    loaded = load_model(model, device=device, dtype=dtype)
    loaded.pipe.set_progress_bar_config(disable=False, leave=False)  # its tqdm bar drives the page's
    return loaded.pipe, loaded.size


@dataclass(frozen=True)
class Request:
    image: str | None
    audio: str | None
    prompt: str = ""
    method: str = "AVSyncD"
    eta: float = 4.0
    steps: int = 25
    sampler: str | None = None  # None: the model's own
    seed: int = 0
    fps: float = 6.0

    def check(self, limits: Limits) -> None:
        for name in ("eta", "steps", "seed", "fps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {', '.join(METHODS)}")
        if not 0 <= self.eta <= 50:
            raise ValueError(f"eta must be in [0, 50], got {self.eta}")
        if int(self.steps) != self.steps or not 1 <= self.steps <= limits.max_steps:
            raise ValueError(f"steps must be a whole number in [1, {limits.max_steps}], got {self.steps}")
        if int(self.seed) != self.seed or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a whole number in [0, 2**63), got {self.seed}")
        if not 0 < self.fps <= 60:
            raise ValueError(f"fps must be in (0, 60], got {self.fps}")


@dataclass(frozen=True)
class Result:
    video: Path  # mp4 with the input sound
    gif: Path
    params: dict
    command: str  # the equivalent `asva animate` command line


class Engine:
    """The model plus where generated files go; `roots` are the folders inputs may come from."""

    def __init__(self, pipe, size: int, model: str, limits: Limits, outputs: Path, roots: Sequence[Path],
                 keep_seconds: float = 3600.0):
        self.pipe, self.size, self.model, self.limits = pipe, size, model, limits
        self.keep_seconds = keep_seconds
        self.outputs, self.roots = Path(outputs), [Path(r) for r in roots]
        self.outputs.mkdir(parents=True, exist_ok=True)

    @property
    def classes(self) -> list[str]:
        """The model's class prompts (its prompt table), [] when it has none."""
        table = self.pipe.prompt_table
        return list(table.names) if table is not None else []

    @property
    def free_text(self) -> bool:
        return self.pipe.text_encoder is not None

    @property
    def sampler(self) -> str:
        """The sampler name of the model's own scheduler ("own" when it is none of asva's)."""
        from asva.pipelines.schedulers import scheduler_name

        return scheduler_name(self.pipe.scheduler) or "own"

    def pipeline_for(self, sampler: str | None):
        """A shallow copy of the pipeline with a fresh scheduler of its own."""
        from asva.pipelines.schedulers import make_scheduler

        pipe = copy.copy(self.pipe)
        name = sampler or self.sampler
        own = copy.deepcopy(self.pipe.scheduler)
        pipe.scheduler = own if name == "own" else make_scheduler(name, self.pipe.scheduler.config)
        return pipe

    def generate(self, request: Request) -> Result:
        """Check everything, animate, write the mp4 and GIF atomically; ValueError on bad input."""
        from asva.media import write_gif, write_video
        from asva.utils import atomic_path

        request.check(self.limits)
        request = replace(request, steps=int(request.steps), seed=int(request.seed))
        if not self.free_text and self.classes and request.prompt not in self.classes:
            raise ValueError(f"unknown class {request.prompt!r}; this model knows: {', '.join(self.classes)}")
        image = load_image(request.image, self.size, self.limits, self.roots)
        audio = load_audio(request.audio, self.limits, self.roots)
        out = METHODS[request.method](self.pipeline_for(request.sampler), image, audio, request)
        self.sweep()
        folder = self.outputs / uuid.uuid4().hex
        video, gif = folder / f"asva-seed{request.seed}.mp4", folder / f"asva-seed{request.seed}.gif"
        with atomic_path(video) as tmp:
            write_video(tmp, out.videos[0], out.fps, audio=out.audio[0].mean(dim=0))
        with atomic_path(gif) as tmp:
            write_gif(tmp, out.videos[0], out.fps)
        params = {**asdict(request), "sampler": request.sampler or self.sampler, "model": self.model,
                  "image": Path(request.image).name, "audio": Path(request.audio).name,
                  "frames": int(out.videos.shape[2]), "size": self.size}
        return Result(video, gif, params, self.command(params))

    def command(self, params: dict) -> str:
        """The `asva animate` command that makes the same video from the same files."""
        uses_class = not self.free_text or params["prompt"] in self.classes
        words = ["asva", "animate", "--image", params["image"], "--audio", params["audio"],
                 "--class" if uses_class else "--prompt", params["prompt"], "-o", "out.mp4",
                 "--gif", "out.gif", "--model", self.model, "--eta", f"{params['eta']:g}",
                 "--steps", str(params["steps"]), "--seed", str(params["seed"]),
                 "--fps", f"{params['fps']:g}"]
        if params["sampler"] != "own":
            words += ["--scheduler", params["sampler"]]
        return shlex.join(words)

    def sweep(self, now: float | None = None, keep_seconds: float | None = None) -> list[Path]:
        """Delete generated folders older than `keep_seconds` (default: the engine's); returns them."""
        now = time.time() if now is None else now
        keep = self.keep_seconds if keep_seconds is None else keep_seconds
        old = [d for d in self.outputs.iterdir() if d.is_dir() and now - d.stat().st_mtime > keep]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        return old
