"""One generation of the demo, without Gradio: a `Request` in, an mp4 + GIF + the parameters out;
and the methods side by side (`asva compare`'s grid video and contact sheet, by the same library code).

The `Engine` holds the loaded methods (`methods.load_methods`: each model loaded once). Each request
gets a shallow copy of its pipeline with its own scheduler, so concurrent requests (`--concurrency N`)
never share sampler state; the networks themselves are shared and only read (AADiff, which swaps its
UNet's attention processors while it runs, takes one request at a time).
"""
from __future__ import annotations

import contextlib
import copy
import shlex
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from asva.demo.config import Limits
from asva.demo.inputs import load_audio, load_image
from asva.demo.methods import METHODS, check_prompt, run_method, uses_class_table


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
    note: str | None = None  # what the official transform cropped from the image (None: nothing)


@dataclass(frozen=True)
class Comparison:
    video: Path  # the labelled grid mp4, with the sound
    sheet: Path  # its contact sheet PNG (one row of frames per method)
    note: str | None = None  # what was cropped from the image (at the AVSyncD model's size)


class Engine:
    """The loaded methods (label -> (pipeline, frame size), AVSyncD among them) and their models (label
    -> name or folder), plus where generated files go; `roots` are the folders inputs may come from."""

    def __init__(self, methods: dict[str, tuple], models: dict[str, str], limits: Limits, outputs: Path,
                 roots: Sequence[Path], keep_seconds: float = 3600.0):
        unknown = [label for label in methods if label not in METHODS]
        if "AVSyncD" not in methods or unknown:
            raise ValueError(f"methods must include AVSyncD and only labels of {', '.join(METHODS)}, "
                             f"got {list(methods)}")
        self.methods, self.models, self.limits = methods, models, limits
        self.pipe, self.size = methods["AVSyncD"]
        self.model = models["AVSyncD"]
        self.keep_seconds = keep_seconds
        self.outputs, self.roots = Path(outputs), [Path(r) for r in roots]
        self.outputs.mkdir(parents=True, exist_ok=True)
        self._locks = {label: threading.Lock() for label in methods if METHODS[label].exclusive}

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
        """The sampler name of the AVSyncD model's own scheduler ("own" when it is none of asva's)."""
        return self.sampler_of("AVSyncD")

    def sampler_of(self, label: str) -> str | None:
        """A method's own sampler name ("own" when it is none of asva's; None for Static)."""
        from asva.pipelines.schedulers import scheduler_name

        scheduler = getattr(self.methods[label][0], "scheduler", None)
        return None if scheduler is None else scheduler_name(scheduler) or "own"

    def pipeline_for(self, label: str, sampler: str | None = None):
        """A shallow copy of the method's pipeline with a fresh scheduler of its own: `sampler` (None:
        the model's own) for the methods that take one, else the method's own."""
        from asva.pipelines.schedulers import make_scheduler

        base = self.methods[label][0]
        if getattr(base, "scheduler", None) is None:
            return base  # Static: no state
        pipe = copy.copy(base)
        name = (sampler if METHODS[label].sampler else None) or self.sampler_of(label)
        own = copy.deepcopy(base.scheduler)
        pipe.scheduler = own if name == "own" else make_scheduler(name, base.scheduler.config)
        return pipe

    def check(self, request: Request) -> None:
        """The request's numbers, its method (one this page offers) and its class."""
        request.check(self.limits)
        if request.method not in self.methods:
            raise ValueError(f"unknown method {request.method!r}; this page offers {', '.join(self.methods)}")
        check_prompt(self.methods[request.method][0], request.prompt)

    def _exclusive(self, labels: Sequence[str]) -> contextlib.ExitStack:
        """Holds the locks of the methods that run one request at a time."""
        stack = contextlib.ExitStack()
        for label in dict.fromkeys(labels):
            if label in self._locks:
                stack.enter_context(self._locks[label])
        return stack

    def generate(self, request: Request) -> Result:
        """Check everything, animate, write the mp4 and GIF atomically; ValueError on bad input."""
        from asva.media import fit_image, write_gif, write_video
        from asva.utils import atomic_path

        self.check(request)
        request = replace(request, steps=int(request.steps), seed=int(request.seed))
        size = self.methods[request.method][1]
        image, note = fit_image(load_image(request.image, self.limits, self.roots), size)  # as asva animate
        audio = load_audio(request.audio, self.limits, self.roots)
        with self._exclusive([request.method]):
            out = run_method(request.method, self.pipeline_for(request.method, request.sampler), image, audio,
                             request)
        folder = self._new_folder()
        video, gif = folder / f"asva-seed{request.seed}.mp4", folder / f"asva-seed{request.seed}.gif"
        with atomic_path(video) as tmp:
            write_video(tmp, out.videos[0], out.fps, audio=out.audio[0].mean(dim=0))
        with atomic_path(gif) as tmp:
            write_gif(tmp, out.videos[0], out.fps)
        sampler = request.sampler if METHODS[request.method].sampler else None
        params = {**asdict(request), "sampler": sampler or self.sampler_of(request.method),
                  "model": self.models[request.method], "image": Path(request.image).name,
                  "audio": Path(request.audio).name, "frames": int(out.videos.shape[2]), "size": size,
                  "cropped": note}
        return Result(video, gif, params, self.command(params), note)

    def compare(self, request: Request, labels: Sequence[str], etas: Sequence[float], *, tile: int = 128,
                sheet_frames: int = 8) -> Comparison:
        """`asva compare`'s grid video and contact sheet (`asva.baselines.compare`, the same code): one
        column per method of `labels` (baselines first, in `asva.baselines.METHODS` order), AVSyncD once
        per eta; the request's image, sound, prompt, steps, sampler, seed and fps."""
        from asva.baselines import METHODS as BASELINES
        from asva.baselines.compare import (
            ComparisonSettings,
            plan_columns,
            plan_rows,
            render_comparison,
            save_comparison,
        )
        from asva.media import crop_note

        if not labels or any(label not in self.methods for label in labels):
            raise ValueError(f"pick the methods to compare among {', '.join(self.methods)}; "
                             f"got {list(labels)}")
        labels = sorted(labels, key=lambda label: BASELINES.index(METHODS[label].name))  # as asva compare's
        for label in labels:
            self.check(replace(request, method=label))
        columns = plan_columns([METHODS[label].name for label in labels], list(etas))
        pixels = load_image(request.image, self.limits, self.roots)
        load_audio(request.audio, self.limits, self.roots)  # checked here; the comparison reads it
        rows = plan_rows([Path(request.audio).resolve()], [1.0])
        settings = ComparisonSettings(prompt=request.prompt or None, steps=int(request.steps),
                                      seed=int(request.seed), fps=float(request.fps), tile=tile)
        with self._exclusive(labels):
            pipes = {METHODS[label].name: (self.pipeline_for(label, request.sampler), self.methods[label][1])
                     for label in labels}
            result = render_comparison(pipes, pixels, rows, columns, settings)
        name = self._new_folder() / f"compare-seed{int(request.seed)}"
        video, sheet = name.with_suffix(".mp4"), name.with_suffix(".png")
        save_comparison(result, video, sheet, sheet_frames)
        return Comparison(video, sheet, crop_note(*pixels.shape[-2:], self.size))

    def _new_folder(self) -> Path:
        """A fresh folder for one result, after deleting the expired ones."""
        self.sweep()
        return self.outputs / uuid.uuid4().hex

    def command(self, params: dict) -> str:
        """The `asva animate` command that makes the same video from the same files."""
        method, pipe = METHODS[params["method"]], self.methods[params["method"]][0]
        uses_class = getattr(pipe, "prompt_table", None) is not None and (
            pipe.text_encoder is None or uses_class_table(pipe, params["prompt"]))
        words = ["asva", "animate", "--image", params["image"], "--audio", params["audio"]]
        if params["prompt"]:
            words += ["--class" if uses_class else "--prompt", params["prompt"]]
        words += ["-o", "out.mp4", "--gif", "out.gif"]
        words += ["--method", method.name] if method.name != "avsyncd" else []
        words += ["--model", params["model"]]
        words += ["--eta", f"{params['eta']:g}"] if method.eta else []
        words += ["--steps", str(params["steps"]), "--seed", str(params["seed"]),
                  "--fps", f"{params['fps']:g}"]
        if method.sampler and params["sampler"] != "own":
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
