"""Pieces of a run that use the pipeline: fitting the patch autoencoder, and validation animations."""
from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange

from asva.media.frames import to_model_range
from asva.utils import atomic_path


def fit_autoencoder(vae, source, *, max_frames: int = 4096) -> dict | None:
    """Fit a `PatchAutoencoder` to training frames (every 4th frame of each cached video, or the
    frames of the first batches); other autoencoders are left alone."""
    if not hasattr(vae, "fit"):
        return None
    if source.cache is not None:
        frames = torch.cat([rearrange(v[:, ::4], "c f h w -> f c h w") for v in source.cache.videos])
    else:
        frames = torch.cat([rearrange(source.dataset[i]["video"], "c f h w -> f c h w")
                            for i in range(min(len(source.dataset), 32))])
    step = max(1, len(frames) // max_frames)
    images = to_model_range(frames[::step]) if frames.dtype == torch.uint8 else frames[::step]
    return vae.fit(images)


def in_memory_pipeline(components, scheduler, window_anchor: str = "previous"):
    """An `AVSyncDPipeline` sharing the run's modules (no copies), sampling with `scheduler`."""
    from asva.pipelines.avsyncd import AVSyncDPipeline
    from asva.pipelines.components import AVSyncDUNet

    pipe = AVSyncDPipeline(vae=components.vae, unet=AVSyncDUNet.wrap(components.unet),
                           audio_encoder=components.audio_encoder, scheduler=scheduler,
                           prompt_table=components.prompt_table, window_anchor=window_anchor)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@torch.no_grad()
def write_validation(components, config, folder: Path, root: Path) -> list[Path]:
    """Animate the first `validation.num_clips` clips of `validation.split` (or of the training split
    when that split does not exist) from their first frame and audio; writes one mp4 each."""
    from asva.data import AVSyncDataset
    from asva.media import write_video

    v, d = config.validation, config.data
    split = v.split if (Path(root) / f"{v.split}.txt").is_file() else d.split
    dataset = AVSyncDataset(root, split, num_frames=d.num_frames, fps=d.fps, size=d.size, mode="eval")
    from asva.training.avsyncd.model import sampling_scheduler

    pipe = in_memory_pipeline(components, sampling_scheduler(v.scheduler, config.diffusion))
    written = []
    for i in range(min(v.num_clips, len(dataset))):
        item = dataset[i]
        out = pipe(item["video"][:, 0], item["audio"], item["prompt"], use_prompt_table=True,
                   num_inference_steps=v.steps, audio_guidance_scale=v.audio_guidance_scale,
                   generator=torch.Generator().manual_seed(i))
        path = Path(folder) / f"{i:02d}_{Path(item['path']).stem}.mp4"
        with atomic_path(path) as tmp:
            write_video(tmp, out.videos[0], out.fps, audio=out.audio[0])
        written.append(path)
    return written
