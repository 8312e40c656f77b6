"""Running the stages over many videos: a local process pool, or Ray Data on a cluster; resumable.

`curate` is the whole job: read what an earlier run left in OUT/manifest.jsonl, run the remaining
videos (each worker loads the models once), append each finished video's rows, then write the
dataset, the sorted manifest and OUT/summary.md. Kill it at any point and run the same command again:
finished videos are not redone and the outputs are the same as an uninterrupted run's.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from asva.curation.config import CurateConfig
from asva.curation.dataset import write_dataset
from asva.curation.manifest import ManifestWriter, repair_manifest, row_line, summary_markdown
from asva.curation.models import ModelSpec, check_spec, load_models
from asva.curation.process import curate_video
from asva.curation.sources import VideoItem
from asva.utils import atomic_path, write_json

MANIFEST, SUMMARY, SETTINGS = "manifest.jsonl", "summary.md", "curation.json"


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs (picklable)."""

    config: CurateConfig
    models: ModelSpec
    skip: tuple[str, ...] = ()

    def settings(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "models": dataclasses.asdict(self.models),
            "skip": sorted(self.skip),
        }


_STATE: dict = {}


def _init_worker(spec: RunSpec) -> None:
    import torch

    torch.set_num_threads(1)
    _STATE["spec"], _STATE["models"] = spec, load_models(spec.models, spec.skip)


def _work(item: VideoItem) -> list[dict]:
    spec = _STATE["spec"]
    return curate_video(item, spec.config, _STATE["models"], spec.skip)


def run_local(
    items: list[VideoItem], spec: RunSpec, workers: int, on_rows: Callable[[list[dict]], None]
) -> None:
    """Each video's rows to `on_rows` as it finishes; `workers` spawned processes (1: this process)."""
    if workers == 1:
        _init_worker(spec)
        for item in items:
            on_rows(_work(item))
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)) as pool:
        pending, queue = set(), iter(items)
        for item in queue:  # at most 2 videos in flight per worker: memory stays flat at any scale
            pending.add(pool.submit(_work, item))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    on_rows(future.result())
        for future in pending:
            on_rows(future.result())


class RayCurator:
    """A Ray Data actor: loads the models once, then curates one video per call."""

    def __init__(self, spec: RunSpec):
        _init_worker(spec)

    def __call__(self, batch: dict) -> dict:
        videos = [_work(VideoItem(**json.loads(text))) for text in batch["item"]]
        return {"rows": [json.dumps(rows) for rows in videos]}  # one output row per video


def run_ray(
    items: list[VideoItem],
    spec: RunSpec,
    workers: int,
    on_rows: Callable[[list[dict]], None],
    address: str | None = None,
) -> None:
    """The same stages as Ray Data operators: read the list, map videos through an actor pool of
    `workers` (one model load each, a GPU each when spec.models.device is cuda), stream rows back."""
    import ray

    started = not ray.is_initialized()
    if started:
        local = address in (None, "", "local")
        ray.init(
            address=None if local else address,
            num_cpus=workers if local else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        _stream(ray, items, spec, workers, on_rows)
    finally:
        if started:
            ray.shutdown()


def _stream(ray, items: list[VideoItem], spec: RunSpec, workers: int, on_rows) -> None:
    """Read the list (paths only) -> map_batches through the actor pool -> rows streamed back in
    completion order; decoded frames never leave the actor that decoded them."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    gpus = 1 if spec.models.device.startswith("cuda") else 0
    ds = ray.data.from_items([{"item": json.dumps(dataclasses.asdict(i))} for i in items])
    ds = ds.map_batches(
        RayCurator,
        fn_constructor_args=(spec,),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        num_gpus=gpus,
    )
    for row in ds.iter_rows():
        on_rows(json.loads(row["rows"]))


def check_settings(out: Path, spec: RunSpec) -> None:
    """A resumed run must use the settings of the run it continues (else its rows would mix)."""
    path = out / SETTINGS
    if path.is_file():
        before = json.loads(path.read_text())
        if before != json.loads(json.dumps(spec.settings())):
            raise ValueError(
                f"{out} holds a run with other settings ({path}); use a new --out, or the "
                "same settings to resume it"
            )
    else:
        write_json(path, spec.settings())


def curate(
    items: list[VideoItem],
    out: str | Path,
    spec: RunSpec,
    *,
    workers: int = 2,
    ray_address: str | None = None,
    use_ray: bool = False,
    progress: bool = True,
    write: bool = True,
) -> dict:
    """The whole job (see the module docstring); returns {"rows", "dataset", "summary"}."""
    from tqdm import tqdm

    out = Path(out)
    check_spec(spec.models, spec.skip)
    out.mkdir(parents=True, exist_ok=True)
    check_settings(out, spec)
    finished = repair_manifest(out / MANIFEST)
    done = {r["video"] for r in finished}
    todo = [i for i in items if i.key not in done]
    counts = {"kept": sum(r["status"] == "kept" for r in finished)}
    counts["rejected"] = len(finished) - counts["kept"]
    bar = tqdm(
        total=len(items),
        initial=len(items) - len(todo),
        desc="asva curate",
        unit="video",
        disable=not progress,
    )
    writer = ManifestWriter(out / MANIFEST)

    def on_rows(rows: list[dict]) -> None:
        writer.write(rows)
        kept = sum(r["status"] == "kept" for r in rows)
        counts["kept"] += kept
        counts["rejected"] += len(rows) - kept
        bar.set_postfix(counts, refresh=False)
        bar.update()

    try:
        if todo and use_ray:
            run_ray(todo, spec, workers, on_rows, ray_address)
        elif todo:
            run_local(todo, spec, min(workers, len(todo)), on_rows)
    finally:
        writer.close()
        bar.close()
    return finish(out, spec.config, progress=progress, write=write)


def finish(
    out: Path,
    config: CurateConfig,
    *,
    progress: bool = False,
    write: bool = True,
    rows: Iterable[dict] | None = None,
) -> dict:
    """Sort the manifest, write the dataset (unless `write` is False) and the summary."""
    rows = sorted(
        repair_manifest(out / MANIFEST) if rows is None else rows,
        key=lambda r: (r["video"], -1 if r["clip"] is None else r["clip"]),
    )
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text("".join(row_line(r) for r in rows), encoding="utf-8")
    dataset = (
        write_dataset(
            rows,
            out,
            min_per_class=config.min_per_class,
            test_per_class=config.test_per_class,
            seed=config.seed,
            progress=progress,
        )
        if write
        else None
    )
    summary = summary_markdown(rows, dataset)
    with atomic_path(out / SUMMARY) as tmp:
        tmp.write_text(summary, encoding="utf-8")
    return {"rows": rows, "dataset": dataset, "summary": summary}
