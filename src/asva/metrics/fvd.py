"""FVD: the Frechet distance between I3D features of real and generated 12-frame clips.

The I3D network is the TorchScript file the official evaluation loads (`i3d_torchscript.pt`, the
Kinetics-400 I3D exported by StyleGAN-V); asva only runs it:

    net = load_i3d("weights/i3d_torchscript.pt")
    real = i3d_features(net, gt_videos)       # (b, 3, 12, h, w) uint8 -> (b, 400)
    fake = i3d_features(net, gen_videos)
    fvd = frechet_distance(real, fake)

Preprocessing follows `compute_fvd.preprocess_videos`: frames in [0, 1] squash-resized to 224 x 224
(bicubic, antialias, aspect ratio not kept, no clamp), then x * 2 - 1; the network is called with
`rescale=False, resize=False, return_features=True` and returns the pre-softmax features.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from einops import rearrange

from asva.media.frames import squash_resize, to_unit_float
from asva.metrics.frechet import frechet_distance

I3D_FILE = "i3d_torchscript.pt"
I3D_WHAT = f"FVD (I3D TorchScript weights {I3D_FILE})"
FVD_FRAMES = 12
FVD_SIZE = 224


def load_i3d(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    """`torch.jit.load` the I3D TorchScript file; a missing or unreadable file is a ValueError."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{I3D_WHAT}: no file at {path}")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format the file comes in
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location=torch.device(device))
    except (RuntimeError, OSError) as err:
        raise ValueError(f"{I3D_WHAT}: {path} is not a TorchScript file ({err})") from err
    return net.eval()


def preprocess_fvd_videos(
    videos: torch.Tensor, *, num_frames: int = FVD_FRAMES, size: int = FVD_SIZE
) -> torch.Tensor:
    """(b, 3, f, h, w) uint8 or float in [0, 1] with f == num_frames -> (b, 3, f, size, size) in [-1, 1]."""
    if videos.ndim != 5 or videos.shape[1] != 3:
        raise ValueError(f"videos must be (b, 3, f, h, w), got shape {tuple(videos.shape)}")
    if videos.shape[2] != num_frames:
        raise ValueError(f"FVD needs clips of {num_frames} frames, got {videos.shape[2]}")
    frames = rearrange(to_unit_float(videos), "b c f h w -> (b f) c h w")
    frames = squash_resize(frames, size) * 2 - 1
    return rearrange(frames, "(b f) c h w -> b c f h w", f=num_frames)


@torch.no_grad()
def i3d_features(
    net,
    videos: torch.Tensor,
    *,
    batch_size: int = 8,
    num_frames: int = FVD_FRAMES,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """(b, 3, f, h, w) uint8 or [0, 1] clips -> (b, d) float32 I3D features on the CPU."""
    if videos.shape[0] == 0:
        raise ValueError("i3d_features needs at least one clip, got 0")
    chunks = []
    for start in range(0, videos.shape[0], batch_size):
        batch = preprocess_fvd_videos(videos[start : start + batch_size], num_frames=num_frames)
        if device is not None:
            batch = batch.to(device)
        feats = net(batch, rescale=False, resize=False, return_features=True)
        if feats.ndim != 2 or feats.shape[0] != batch.shape[0]:
            raise ValueError(
                f"{I3D_WHAT}: expected (b, d) features, the network returned {tuple(feats.shape)}"
            )
        chunks.append(feats.float().cpu())
    return torch.cat(chunks)


def fvd(real_features, fake_features) -> float:
    """FVD = Frechet distance between (n, d) I3D features of real and generated clips."""
    return frechet_distance(real_features, fake_features)
