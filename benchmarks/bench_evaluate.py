"""Clips/s of `asva evaluate`'s feature extraction: one clip per network call against --batch-size clips.

Usage:
    python benchmarks/bench_evaluate.py --work /work/runs/evalspeed [--test-videos 4] [--batch-size 8]
        [--rounds 2] [--threads 1] [--imagebind small|tiny|huge] [--sync official|tiny] [--size 256]

Makes (once, under WORK) a 2-class `asva synth` benchmark at 128 px and a generated set that copies its
test clips (3 clips per test video), and builds the metric networks with random weights: the FID
Inception-v3 of the official evaluation, the sync classifier's `official` preset (20.8 M parameters,
224-px frames), an ImageBind of --imagebind size (`small`: ViT-S-like branches, width 384, depth 12;
`huge` is ~2 TFLOP of vision per clip, beyond this CPU) and, for FVD, a scripted two-layer 3-D conv
stand-in (the real I3D exists only as a TorchScript file). Then, in each round, batch 1 (the per-clip
path) and batch N alternately:

  - per network: `batch_features` on the generated clips, decoded beforehand (no decoding counted);
  - end to end: `run_evaluation` of fid,fvd,ia,it,relsync,alignsync (workers 0, so the decoding is
    in the timed process too; no cache);

one line per figure: clips/s by process CPU time and by wall time. Last, the largest relative
difference between the two batch sizes' metrics.
"""

from __future__ import annotations

import argparse
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


def end_to_end(nets, data: Path, gen: Path, batch: int, size: int):
    from asva.evaluation import EvalConfig, run_evaluation

    config = EvalConfig(data, gen, METRICS, size=size, progress=False, workers=0, batch_size=batch)
    return run_evaluation(config, nets)


def report(label: str, n: int, cpu: float, wall: float) -> None:
    print(f"{label}: {n} clips, process CPU {cpu:.2f} s ({n / cpu:.3f} clips/s), "
          f"wall {wall:.2f} s ({n / wall:.3f} clips/s)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="folder for the benchmark data (made once)")
    p.add_argument("--test-videos", type=int, default=4, help="test videos, 3 clips each (default 4)")
    p.add_argument("--batch-size", type=int, default=8, help="the batched figure's size (default 8)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of batch 1 then batch N (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--imagebind", default="small", choices=("small", "tiny", "huge"), help="default small")
    p.add_argument("--sync", default="official", choices=("official", "tiny"), help="default official")
    p.add_argument("--size", type=int, default=256, help="frame size the clips are read at (default 256)")
    p.add_argument("--only", choices=("networks", "end-to-end"), help="one of the two parts (default both)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data, gen = make_bench(args.work, args.test_videos)
    nets = make_nets(args.imagebind, args.sync)
    from asva.evaluation import load_generated_clip

    files = sorted(gen.rglob("*.mp4"))
    clips = [load_generated_clip(f, size=args.size) for f in files]
    print(f"{len(clips)} clips at {args.size} px, threads {args.threads}, ImageBind {args.imagebind}, "
          f"sync {args.sync}, batch 1 vs {args.batch_size}", flush=True)
    results: dict[int, object] = {}
    for r in range(1, args.rounds + 1):
        for batch in (1, args.batch_size):
            if args.only != "end-to-end":
                for kind in KINDS:
                    cpu, wall, _ = timed(lambda k=kind, b=batch: per_network(nets, clips, b, k))
                    report(f"round {r} {kind:6s} batch {batch}", len(clips), cpu, wall)
            if args.only != "networks":
                cpu, wall, results[batch] = timed(lambda b=batch: end_to_end(nets, data, gen, b, args.size))
                report(f"round {r} end-to-end batch {batch}", len(clips), cpu, wall)
    if len(results) == 2:
        one, many = results[1].metrics, results[args.batch_size].metrics
        worst = max(abs(many[k] - one[k]) / max(abs(one[k]), 1e-12) for k in one)
        print(f"metrics batch {args.batch_size} vs 1: largest relative difference {worst:.2e}")


if __name__ == "__main__":
    main()
