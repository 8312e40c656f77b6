"""Work split over processes: under `accelerate launch` / `torchrun`, or N local processes.

    info = process_info()                  # rank, world, local rank (RANK / WORLD_SIZE / LOCAL_RANK)
    mine = my_share(len(items), info)      # item i belongs to rank i % world only
    launch_local(cmd, 2)                   # `cmd` as 2 local processes, env set as torchrun does

The split depends only on the item index, never on which outputs exist, so processes that start at
different times (or a resumed run with another process count) never do an item twice: a process only
writes its own items, each atomically, and skips those already on disk. With a process group set up
(`init_group`, gloo on CPU, nccl on GPUs) the processes meet at a barrier before rank 0 reports.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class ProcessInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0


def process_info(env=None) -> ProcessInfo:
    """This process's place, from the variables `accelerate launch` and `torchrun` set (else 0 of 1)."""
    env = os.environ if env is None else env
    try:
        info = ProcessInfo(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)),
                           int(env.get("LOCAL_RANK", env.get("RANK", 0))))
    except ValueError as err:
        raise ValueError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers ({err})") from err
    if not 0 <= info.rank < info.world:
        raise ValueError(f"RANK must be in 0..WORLD_SIZE-1, got RANK={info.rank}, WORLD_SIZE={info.world}")
    return info


def my_share(num_items: int, info: ProcessInfo) -> list[int]:
    """The item indices this process owns: i with i % world == rank."""
    return list(range(info.rank, num_items, info.world))


def device_for(name: str, info: ProcessInfo) -> str:
    """--device auto on a machine with GPUs gives each local process its own GPU."""
    if name == "auto" and info.world > 1 and torch.cuda.is_available():
        return f"cuda:{info.local_rank % torch.cuda.device_count()}"
    return name


def init_group(info: ProcessInfo) -> bool:
    """Join the process group when launched as several processes with a rendezvous address."""
    import torch.distributed as dist

    if info.world == 1 or "MASTER_ADDR" not in os.environ or dist.is_initialized():
        return dist.is_initialized()
    backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    dist.init_process_group(backend, rank=info.rank, world_size=info.world)
    return True


def finish_group() -> None:
    """Wait for every process, then leave the group (no-op without one)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def report_done(targets: Sequence[Path], out: Path, info: ProcessInfo) -> int:
    """Wait for every process (in a group); rank 0 of several then says how many targets exist."""
    finish_group()
    if info.world > 1 and info.rank == 0:
        done = sum(Path(t).is_file() for t in targets)
        print(f"asva generate-eval: {done} of {len(targets)} clips in {out}", file=sys.stderr)
    return 0


def command_args(argv: Sequence[str] | None, command: str) -> list[str]:
    """The options a command was given: `argv`, or this process's own (without the command name)."""
    given = list(sys.argv[1:] if argv is None else argv)
    return given[1:] if given[:1] == [command] else given


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_local(command: Sequence[str], num_processes: int) -> int:
    """Run `command` (an argv) as `num_processes` processes here, with RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR and MASTER_PORT set, and the CPU threads split between them (unless OMP_NUM_THREADS
    is set). Returns the worst exit code."""
    if num_processes < 1:
        raise ValueError(f"--num-processes must be >= 1, got {num_processes}")
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // num_processes))
    base = {**os.environ, "WORLD_SIZE": str(num_processes), "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(_free_port()), "OMP_NUM_THREADS": threads}
    procs = [subprocess.Popen(list(command), env={**base, "RANK": str(k), "LOCAL_RANK": str(k)})
             for k in range(num_processes)]
    codes = [p.wait() for p in procs]
    return max(codes, key=abs)


def relaunch_argv(argv: Sequence[str], module: str) -> list[str]:
    """`python -m module argv...` without --num-processes (the children must not launch again)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--num-processes":
            skip = True
            continue
        if arg.startswith("--num-processes="):
            continue
        out.append(arg)
    return [sys.executable, "-m", module, *out]
