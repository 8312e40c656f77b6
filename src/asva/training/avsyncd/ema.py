"""Exponential moving average of the trainable weights (`train.ema_decay`).

    ema = WeightEMA(module, decay=0.999)
    ema.update(module, step)          # after every optimizer step
    with ema.applied(module): ...     # sample / export with the averaged weights, then restore

The average of step s uses decay min(decay, (1 + s) / (10 + s)), so early steps are not dominated by
the random initialisation. It is saved with every checkpoint (`ema.safetensors`), so a resumed run
continues the same average bit for bit.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


class WeightEMA:
    def __init__(self, module: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.ema_decay must be in (0, 1) (0 switches EMA off), got {decay!r}")
        self.decay = float(decay)
        self.shadow = {n: p.detach().clone().float() for n, p in module.named_parameters() if p.requires_grad}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, module: torch.nn.Module, step: int) -> None:
        weight = 1.0 - self.decay_at(step)
        for name, p in module.named_parameters():
            if name in self.shadow:
                self.shadow[name].lerp_(p.detach().float(), weight)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: t.contiguous() for n, t in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if set(state) != set(self.shadow):
            raise ValueError(f"EMA state does not match the trainable parameters: "
                             f"missing {sorted(set(self.shadow) - set(state))[:5]}, "
                             f"unexpected {sorted(set(state) - set(self.shadow))[:5]}")
        for name, value in state.items():
            self.shadow[name].copy_(value)

    @contextmanager
    def applied(self, module: torch.nn.Module):
        """Inside the block the module holds the averaged weights; its own weights come back after."""
        params = dict(module.named_parameters())
        saved = {n: params[n].detach().clone() for n in self.shadow}
        with torch.no_grad():
            for name, value in self.shadow.items():
                params[name].copy_(value.to(params[name].dtype))
        try:
            yield module
        finally:
            with torch.no_grad():
                for name, value in saved.items():
                    params[name].copy_(value)
