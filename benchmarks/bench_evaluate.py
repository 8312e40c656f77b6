"""Clips/s of `asva evaluate`'s feature extraction: one clip per network call against --batch-size clips.

Usage:
    python benchmarks/bench_evaluate.py --work /work/runs/evalspeed [--base OLD/src] [--test-videos 2]
        [--batch-size 8 [N ...]] [--rounds 2] [--e2e-rounds 1] [--threads 1] [--imagebind small|tiny|huge]
        [--sync official|tiny] [--size 256] [--only networks|end-to-end]

Makes (once, under WORK) a 2-class `asva synth` benchmark at 128 px and a generated set that copies its
test clips (3 clips per test video), and builds the metric networks with random weights: the FID
Inception-v3 of the official evaluation, the sync classifier's `official` preset (20.8 M parameters,
224-px frames), an ImageBind of --imagebind size (`small`: ViT-S-like branches, width 384, depth 12;
`huge` is ~2 TFLOP of vision per clip, beyond this CPU) and, for FVD, a scripted two-layer 3-D conv
stand-in (the real I3D exists only as a TorchScript file). Then, in each round, batch 1 (the per-clip
path) and each batch size N in turn:

  - per network: `batch_features` on the generated clips, decoded beforehand (no decoding counted),
    and for FID also the previous code's loop (contiguous memory layout, `fid-old`);
  - end to end: `run_evaluation` of fid,fvd,ia,it,relsync,alignsync (workers 0, so the decoding is
    in the timed process too; no cache), each run in a fresh process on this tree's `src` and, with
    --base, first on an older tree's (`git archive COMMIT src | tar -x -C DIR`; the clips it reads
    one at a time), timed inside the process (imports and network building not counted);

one line per figure: clips/s by process CPU time and by wall time; last, the largest relative
difference between the metrics of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

KINDS = ("fid", "fvd", "vision", "audio", "phi")
METRICS = ("fid", "fvd", "ia", "it", "relsync", "alignsync")
IMAGEBIND_SMALL = {
    "embed_dim": 512,
    "audio": {"width": 384, "depth": 12, "heads": 6, "bias_kv": True},
    "vision": {"width": 384, "depth": 12, "heads": 6, "pre_norm": True},
    "text": {"width": 384, "depth": 12, "heads": 6},
}


class StandInI3D(nn.Module):
    """The I3D call signature: (b, 3, f, 224, 224) in [-1, 1] -> (b, 64)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 32, kernel_size=(3, 7, 7), stride=(1, 4, 4), padding=(1, 3, 3))
        self.conv2 = nn.Conv3d(32, 64, kernel_size=3, stride=2, padding=1)

    def forward(
        self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False
    ) -> torch.Tensor:
        return self.conv2(torch.relu(self.conv1(x))).mean(dim=(2, 3, 4))


def make_bench(work: Path, test_videos: int) -> tuple[Path, Path]:
    """(dataset, generated set copying its test clips), made once under `work`."""
    from asva.data import AVSyncDataset
    from asva.evaluation import generated_name
    from asva.media import write_video
    from asva.synth.generate import SynthConfig, generate

    data, gen = work / f"synth-{test_videos}", work / f"generated-{test_videos}"
    if not (data / "test.txt").is_file():
        generate(SynthConfig(out=data, videos_per_class=test_videos, size=128, classes=("bell", "drum"),
                             test_fraction=0.5, workers=1), progress=False)
    if not gen.is_dir():
        test = AVSyncDataset(data, "test", mode="eval", eval_starts="three", size=128)
        for i in range(len(test)):
            item = test[i]
            frames = ((item["video"] + 1) * 127.5).round().to(torch.uint8)
            name = generated_name(item["path"], item["clip_index"])
            write_video(gen / name, frames, 6.0, audio=item["audio"])
    return data, gen


def make_nets(imagebind: str, sync: str):
    from asva.evaluation import Extractors
    from asva.metrics.inception import FIDInceptionV3
    from asva.models.imagebind import ImageBind
    from asva.models.imagebind.config import ImageBindConfig
    from asva.models.sync import SyncClassifier, SyncClassifierConfig

    torch.manual_seed(0)
    config = ImageBindConfig.from_dict(IMAGEBIND_SMALL) if imagebind == "small" else imagebind
    return Extractors(
        fid=FIDInceptionV3().eval().requires_grad_(False),
        i3d=torch.jit.script(StandInI3D().eval()),
        imagebind=ImageBind(config).eval().requires_grad_(False),
        sync=SyncClassifier(SyncClassifierConfig.from_preset(sync)).eval().requires_grad_(False),
    )


def timed(fn) -> tuple[float, float, object]:
    """(process CPU s, wall s, result) of fn()."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def per_network(nets, clips, batch: int, kind: str) -> list:
    from asva.evaluation.features import batch_features

    out = []
    for start in range(0, len(clips), batch):
        out += batch_features(kind, clips[start:start + batch], nets, fps=6.0)
    return out


@torch.no_grad()
def fid_old(nets, clips, batch: int) -> list:
    """The FID features as the code before this change computed them: contiguous layout."""
    from asva.metrics.inception import clip_frames_for_fid, preprocess_fid_images

    out = []
    for start in range(0, len(clips), batch):
        frames = clip_frames_for_fid(torch.stack([c.video for c in clips[start:start + batch]]))
        out.append(nets.fid(preprocess_fid_images(frames, nets.fid_size)))
    return out


def report(label: str, n: int, cpu: float, wall: float) -> None:
    print(f"{label}: {n} clips, process CPU {cpu:.2f} s ({n / cpu:.3f} clips/s), "
          f"wall {wall:.2f} s ({n / wall:.3f} clips/s)", flush=True)


def networks(args, clips) -> None:
    """Per-network figures, batch 1 and batch N alternately in each round."""
    nets = make_nets(args.imagebind, args.sync)
    for r in range(1, args.rounds + 1):
        for batch in (1, *args.batch_size):
            for kind in (*KINDS, "fid-old"):
                fn = fid_old if kind == "fid-old" else (lambda n, c, b, k=kind: per_network(n, c, b, k))
                cpu, wall, _ = timed(lambda f=fn, b=batch: f(nets, clips, b))
                report(f"round {r} {kind:7s} batch {batch}", len(clips), cpu, wall)


def child(args, data: Path, gen: Path) -> None:
    """One end-to-end run in this process (whatever `asva` is on the path); prints a JSON line."""
    from asva.evaluation import EvalConfig, run_evaluation

    nets = make_nets(args.imagebind, args.sync)
    extra = {"batch_size": args.child} if args.child > 0 else {}  # 0: a tree without batches
    config = EvalConfig(data, gen, METRICS, size=args.size, progress=False, workers=0, **extra)
    cpu, wall, result = timed(lambda: run_evaluation(config, nets))
    print(json.dumps({"cpu": cpu, "wall": wall, "clips": len(result.rows), "metrics": result.metrics}))


def end_to_end(args) -> None:
    """Fresh processes: the --base tree (one clip at a time), then this tree at batch 1 and each N."""
    here = Path(__file__).resolve().parents[1] / "src"
    runs = [("base", args.base, 0)] if args.base else []
    runs += [("new", here, batch) for batch in (1, *args.batch_size)]
    metrics = {}
    for r in range(1, args.e2e_rounds + 1):
        for tree, src, batch in runs:
            env = {**os.environ, "PYTHONPATH": str(src)}
            cmd = [sys.executable, __file__, *sys.argv[1:], "--child", str(batch)]
            done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            out = json.loads(done.stdout.splitlines()[-1])
            how = "one clip at a time" if batch == 0 else f"batch {batch}"
            label = f"round {r} end-to-end {tree} {how}"
            report(label, out["clips"], out["cpu"], out["wall"])
            metrics[(tree, batch)] = out["metrics"]
    ref = next(iter(metrics.values()))
    worst = max(abs(m[k] - ref[k]) / max(abs(ref[k]), 1e-12) for m in metrics.values() for k in ref)
    print(f"metrics of all end-to-end runs: largest relative difference {worst:.2e}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="folder for the benchmark data (made once)")
    p.add_argument("--base", type=Path, help="an older tree's src/ to time end to end first (default none)")
    p.add_argument("--test-videos", type=int, default=2, help="test videos, 3 clips each (default 2)")
    p.add_argument("--batch-size", type=int, nargs="+", default=[8], help="batch sizes against 1 (default 8)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of the per-network figures (default 2)")
    p.add_argument("--e2e-rounds", type=int, default=1, help="rounds of the end-to-end figures (default 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--imagebind", default="small", choices=("small", "tiny", "huge"), help="default small")
    p.add_argument("--sync", default="official", choices=("official", "tiny"), help="default official")
    p.add_argument("--size", type=int, default=256, help="frame size the clips are read at (default 256)")
    p.add_argument("--only", choices=("networks", "end-to-end"), help="one of the two parts (default both)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)  # internal: one end-to-end run, this batch
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data, gen = make_bench(args.work, args.test_videos)
    if args.child is not None:
        return child(args, data, gen)
    print(f"{len(list(gen.rglob('*.mp4')))} clips at {args.size} px, threads {args.threads}, ImageBind "
          f"{args.imagebind}, sync {args.sync}, batch 1 vs {args.batch_size}", flush=True)
    if args.only != "end-to-end":
        from asva.evaluation import load_generated_clip

        networks(args, [load_generated_clip(f, size=args.size) for f in sorted(gen.rglob("*.mp4"))])
    if args.only != "networks":
        end_to_end(args)


if __name__ == "__main__":
    main()
