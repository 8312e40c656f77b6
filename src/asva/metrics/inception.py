"""The FID Inception network (TF-ported `pt_inception-2015-12-05` weights) and its preprocessing.

This is the pytorch-fid variant of Inception-v3 used by the official ASVA evaluation: BatchNorm
eps 1e-3, average pools that ignore the padding in Mixed_5b-5d, 6b-6e and 7b, a *max* pool in the
pool branch of Mixed_7c, and the 2048-d global average pool after Mixed_7c as the feature.
Module names follow the checkpoint (torchvision's Inception3), so only `fc` (unused) is dropped.

Preprocessing is done outside the network: squash-resize to 229 px (the official ASVA protocol;
pass size=299 for the usual FID resolution), bicubic with antialias, then x * 2 - 1.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from asva.media.frames import squash_resize, to_unit_float
from asva.models.checkpoint import apply_renames, load_strict, read_state_dict

FID_WHAT = "FID (Inception weights pt_inception-2015-12-05)"
ASVA_FID_SIZE = 229  # the official ASVA evaluation resizes to 229, not the usual 299
STANDARD_FID_SIZE = 299

_WRAPPER_LAYERS = {
    "0": ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"),
    "1": ("Conv2d_3b_1x1", "Conv2d_4a_3x3"),
    "2": ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"),
    "3": ("Mixed_7a", "Mixed_7b", "Mixed_7c"),
}

# Module names are the checkpoint's; this table only accepts the pytorch-fid wrapper's own
# state dict (`blocks.i.j.` names) as well.
INCEPTION_RENAMES: tuple[tuple[str, str], ...] = tuple(
    (rf"^blocks\.{i}\.{j}\.", f"{name}.")
    for i, names in _WRAPPER_LAYERS.items()
    for j, name in enumerate(names)
)
# the 1008-way classifier: in the checkpoint (a strict load must accept it), unused by the features
UNUSED_CHECKPOINT_KEYS = ("fc.weight", "fc.bias")


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3/1 average pool that, like TensorFlow, leaves the zero padding out of the mean."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], dim=1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Mixed_6a)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class InceptionC(nn.Module):
    """Factorised 7x7 block (Mixed_6b-6e)."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool(_tf_avg_pool(x))], dim=1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Mixed_7a)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], dim=1)


class InceptionE(nn.Module):
    """Expanded-filter block (Mixed_7b with the TF average pool, Mixed_7c with a max pool)."""

    def __init__(self, in_channels: int, pool: str) -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], dim=1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d3 = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], dim=1)
        pooled = _tf_avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, 3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), b3, d3, self.branch_pool(pooled)], dim=1)


class FIDInceptionV3(nn.Module):
    """(n, 3, h, w) images in [-1, 1] (see `preprocess_fid_images`) -> (n, 2048) pooled features."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")

    def block_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """pytorch-fid's four blocks: after max-pool 1 (64 ch), max-pool 2 (192), Mixed_6e (768),
        and the flattened global average pool (2048)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"FID Inception input must be (n, 3, h, w), got shape {tuple(x.shape)}")
        outputs = []
        for names, last in _BLOCKS:
            for name in names:
                x = getattr(self, name)(x)
            x = last(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_outputs(x)[-1]


def _max_pool_3_2(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=2)


def _global_pool(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(2, 3))  # AdaptiveAvgPool2d(1) + flatten: (n, c, h, w) -> (n, c)


_BLOCKS = (
    (_WRAPPER_LAYERS["0"], _max_pool_3_2),
    (_WRAPPER_LAYERS["1"], _max_pool_3_2),
    (_WRAPPER_LAYERS["2"], lambda x: x),
    (_WRAPPER_LAYERS["3"], _global_pool),
)


def load_fid_inception(
    path: str | Path, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> FIDInceptionV3:
    """Load `pt_inception-2015-12-05-6726825d.pth` (or the pytorch-fid wrapper's state dict) strictly."""
    try:
        state = read_state_dict(path)
    except ValueError as err:
        raise ValueError(f"{FID_WHAT}: {err}") from err
    state = apply_renames(state, INCEPTION_RENAMES)
    state = {k: v for k, v in state.items() if k not in UNUSED_CHECKPOINT_KEYS}
    net = FIDInceptionV3()
    load_strict(net, state, source=f"{FID_WHAT} {path}")
    return net.to(device=device, dtype=dtype).eval().requires_grad_(False)


def preprocess_fid_images(images: torch.Tensor, size: int = ASVA_FID_SIZE) -> torch.Tensor:
    """(n, 3, h, w) uint8 or float in [0, 1] -> (n, 3, size, size) float32 in [-1, 1]."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (n, 3, h, w), got shape {tuple(images.shape)}")
    if size < 75:
        raise ValueError(f"FID resize must be at least 75 px (Inception's minimum), got {size}")
    return squash_resize(to_unit_float(images), size) * 2 - 1


def clip_frames_for_fid(videos: torch.Tensor, *, skip_first: bool = True) -> torch.Tensor:
    """(b, c, f, h, w) clips -> ((b f'), c, h, w) frames; the official FID leaves out frame 0
    (the conditioning image)."""
    if videos.ndim != 5:
        raise ValueError(f"videos must be (b, c, f, h, w), got shape {tuple(videos.shape)}")
    if skip_first:
        videos = videos[:, :, 1:]
    return rearrange(videos, "b c f h w -> (b f) c h w")


@torch.no_grad()
def fid_features(
    net: FIDInceptionV3, images: torch.Tensor, *, size: int = ASVA_FID_SIZE, batch_size: int = 32
) -> torch.Tensor:
    """(n, 3, h, w) uint8 or [0, 1] images -> (n, 2048) float32 features on the CPU.

    The network runs in channels-last memory layout (oneDNN's fast convolution path: ~1.5x less CPU
    time for the same features, to float rounding)."""
    param = next(net.parameters())
    chunks = []
    for start in range(0, images.shape[0], batch_size):
        batch = preprocess_fid_images(images[start:start + batch_size], size).to(param.device, param.dtype)
        chunks.append(net(batch.contiguous(memory_format=torch.channels_last)).float().cpu())
    if not chunks:
        raise ValueError("fid_features needs at least one image, got 0")
    return torch.cat(chunks)
