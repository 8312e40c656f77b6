"""SDPA against an explicit batched softmax(QK^T)V at the sd15 UNet's attention shapes, CPU time.

    python benchmarks/bench_attention.py [--threads 1] [--reps 2]

Issue 16, target 1: is there time left in the attention kernels? For each shape of one guided pair
of a 256-px 12-frame window (batch x heads x queries x keys x head width: spatial self-attention at
the three attended levels, text cross-attention of all frames at once, audio cross-attention on each
frame's 25 tokens) it times `F.scaled_dot_product_attention` (PyTorch's CPU flash kernel) and a
plain `bmm`-softmax-`bmm` over chunks of 4 batch items (so the score matrix stays small), in
process-CPU seconds after a warm-up call, and prints one line per shape with the largest difference
between the two.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

SHAPES = (  # (batch, heads, queries, keys, head width)
    (24, 8, 1024, 1024, 40),
    (24, 8, 256, 256, 80),
    (24, 8, 64, 64, 160),
    (2, 8, 12 * 1024, 77, 40),
    (24, 8, 1024, 25, 40),
)


def cpu_seconds(fn, inputs: tuple, reps: int) -> float:
    fn(*inputs)
    start = time.process_time()
    for _ in range(reps):
        fn(*inputs)
    return (time.process_time() - start) / reps


def explicit(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, chunk: int = 4) -> torch.Tensor:
    out = torch.empty_like(q)
    scale = q.shape[-1] ** -0.5
    for i in range(0, q.shape[0], chunk):
        qi, ki, vi = (t[i:i + chunk].flatten(0, 1) for t in (q, k, v))
        weights = torch.bmm(qi * scale, ki.transpose(1, 2)).softmax(-1)
        out[i:i + chunk] = torch.bmm(weights, vi).view(-1, q.shape[1], q.shape[2], q.shape[3])
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for b, h, n, m, d in SHAPES:
            q = torch.randn(b, h, n, d, generator=g)
            k, v = torch.randn(b, h, m, d, generator=g), torch.randn(b, h, m, d, generator=g)
            sdpa = cpu_seconds(F.scaled_dot_product_attention, (q, k, v), args.reps)
            plain = cpu_seconds(explicit, (q, k, v), args.reps)
            diff = (F.scaled_dot_product_attention(q, k, v) - explicit(q, k, v)).abs().max().item()
            print(f"attention b={b} heads={h} queries={n} keys={m} width={d} threads={args.threads}: "
                  f"sdpa {sdpa * 1e3:.0f} ms, bmm-softmax {plain * 1e3:.0f} ms, max-abs diff {diff:.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
