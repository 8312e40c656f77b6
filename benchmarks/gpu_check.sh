#!/usr/bin/env bash
# GPU timing of AVSyncDPipeline at the paper's size: the sd15 UNet (random weights), 256 px
# (32 x 32 latents), 12 frames, bfloat16, attention through torch's SDPA, audio CFG batched.
#   1. eager,          PNDM 50 steps (the paper's sampler)
#   2. eager,          DPM-Solver++ 20 steps
#   3. torch.compile,  PNDM 50 steps   (a warm-up call pays the compilation)
#   4. torch.compile,  DPM-Solver++ 20 steps (reuses the on-disk compile cache of run 3)
# Each run has its own time limit; all together stay under 8 minutes.
#
#   bash benchmarks/gpu_check.sh            # PYTHON=/path/to/python to pick the interpreter
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-${TMPDIR:-/tmp}/asva-inductor-cache}"

"$PY" - <<'EOF' || { echo "gpu_check: no usable CUDA device / asva import failed" >&2; exit 1; }
import torch
import asva.pipelines.testing  # noqa: F401  (fails here, not after a long build, if asva is not importable)

assert torch.cuda.is_available(), "CUDA is not available"
props = torch.cuda.get_device_properties(0)
print(f"device: {props.name}, {props.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}; bf16 supported: {torch.cuda.is_bf16_supported()}")
print("SDPA backends enabled: flash", torch.backends.cuda.flash_sdp_enabled(),
      "mem_efficient", torch.backends.cuda.mem_efficient_sdp_enabled(),
      "math", torch.backends.cuda.math_sdp_enabled())
EOF

status=0
run() {  # run LIMIT_SECONDS OPTIONS...
  local limit=$1
  shift
  echo "--- $* (limit ${limit} s)"
  timeout --kill-after=10 "$limit" "$PY" benchmarks/bench_pipeline.py --device cuda --dtype bfloat16 \
    --cases sd15-batched --size 256 --warmup 1 "$@" || { echo "    (exit $?)"; status=1; }
}

start=$SECONDS
run 75 --scheduler pndm --steps 50
run 60 --scheduler dpm --steps 20
run 180 --scheduler pndm --steps 50 --compile
run 120 --scheduler dpm --steps 20 --compile
echo "gpu_check: done in $((SECONDS - start)) s"
exit $status
