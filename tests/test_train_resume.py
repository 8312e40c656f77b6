"""asva train: SIGKILL mid-run then --resume latest gives the uninterrupted run's weights; two DDP
processes (gloo, CPU) end with identical weights."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from asva.training.checkpoint import list_checkpoints
from test_train import TINY, synth_data  # noqa: F401  (the fixture)

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def train_cmd(data, out, *extra):
    return [sys.executable, "-m", "asva.commands.train", "--config", "synth-tiny", "--data", str(data),
            "--output", str(out), "train.max_steps=6", "checkpoint.every=2", "checkpoint.keep=5",
            *TINY, *extra]


def final_weights(out, name="trainable.safetensors"):
    return load_file(str(list_checkpoints(out)[-1] / name))


# the training levers of the bundled model: the EMA is part of the checkpoint, the offset noise is
# drawn from the step's generator
LEVERS = ["train.ema_decay=0.9", "diffusion.min_snr_gamma=5", "diffusion.offset_noise=0.1",
          "diffusion.rescale_betas_zero_snr=true", "export.scheduler=dpm", "export.window_anchor=image"]


@pytest.mark.parametrize("levers", [[], LEVERS], ids=["plain", "ema-minsnr-offset-ztsnr"])
def test_sigkill_then_resume_matches_an_uninterrupted_run(synth_data, tmp_path, levers):  # noqa: F811
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(train_cmd(synth_data, whole, *levers), check=True, env=ENV, capture_output=True)
    proc = subprocess.Popen(train_cmd(synth_data, killed, *levers), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list_checkpoints(killed) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    steps = [p.name for p in list_checkpoints(killed)]
    assert steps and "step-0000006" not in steps, f"the run was not interrupted mid-way: {steps}"
    assert not (killed / "model").exists()
    resume = train_cmd(synth_data, killed, *levers, "--resume", "latest")
    subprocess.run(resume, check=True, env=ENV, capture_output=True)
    for file in ["trainable.safetensors"] + (["ema.safetensors"] if levers else []):
        a, b = final_weights(whole, file), final_weights(killed, file)
        assert a.keys() == b.keys()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=f"{file}: {name}")
    rows = (killed / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3, 4, 5, 6]  # no duplicate rows after resuming
    index = json.loads((killed / "model" / "model_index.json").read_text())  # the export's settings
    assert index["window_anchor"] == ("image" if levers else "previous")


SCRIPT = """
import os
import sys
import torch
from safetensors.torch import save_file
from asva.training.avsyncd.config import load_config
from asva.training.avsyncd.trainer import train
data, out, *overrides = sys.argv[1:]
result = train(load_config("synth-tiny", overrides), output=out, data_root=data)
state = {n: p.detach().contiguous() for n, p in result.module.named_parameters() if p.requires_grad}
rank, world = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")  # set by the launcher
save_file(state, f"{out}/rank{rank}-of-{world}.safetensors")
"""


def test_two_cpu_processes_hold_identical_weights(synth_data, tmp_path):  # noqa: F811
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    out = tmp_path / "ddp"
    # torchrun sets RANK / WORLD_SIZE / MASTER_ADDR; Accelerator then runs DDP over gloo on the CPU
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
           str(script), str(synth_data), str(out), "train.max_steps=3", "checkpoint.every=0", *TINY]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # each rank trains on its own half of every batch with its own noise: only gradient all-reduce
    # (DDP) can keep the weights equal
    r0, r1 = (load_file(str(out / f"rank{r}-of-2.safetensors")) for r in (0, 1))
    assert r0.keys() == r1.keys() and r0
    for name in r0:
        torch.testing.assert_close(r0[name], r1[name], rtol=0, atol=0, msg=name)
    assert (out / "model" / "model_index.json").is_file()
