"""What `asva demo` serves and what it accepts: the server options and the input limits."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from asva.models.registry import DEFAULT_MODEL

LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Limits:
    """Inputs over these are refused with a message in the page (and by the API)."""

    max_upload_mb: float = 50.0  # any uploaded file
    max_audio_seconds: float = 30.0  # audio stream length, from the header
    max_image_pixels: int = 40_000_000  # width * height, from the header (decompression-bomb guard)
    max_steps: int = 100  # denoising steps one request may ask for

    def __post_init__(self):
        for name in ("max_upload_mb", "max_audio_seconds", "max_image_pixels", "max_steps"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class DemoConfig:
    """`model` is a registered name or a model folder; `i2vd` an I2VD model (None: the registry's, if
    installed; else no I2VD); `aadiff` a Stable Diffusion 1.5 folder (None: no AADiff); `workdir` holds
    the rendered examples and the generated files (default: a fresh temporary folder, removed at exit);
    generated files older than `keep_seconds` are deleted."""

    model: str = DEFAULT_MODEL
    i2vd: str | None = None
    aadiff: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    device: str = "auto"
    dtype: str = "float32"
    concurrency: int = 1
    keep_seconds: float = 3600.0
    workdir: Path | None = None
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self):
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        if not self.keep_seconds > 0:
            raise ValueError(f"keep_seconds must be > 0, got {self.keep_seconds}")

    @property
    def is_loopback(self) -> bool:
        """True when only this machine can reach the server."""
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
