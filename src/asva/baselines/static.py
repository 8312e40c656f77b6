"""Static: the paper's lower bound on motion; the input frame repeated for the audio's duration."""
from __future__ import annotations

import torch
from einops import repeat

from asva.baselines.media_io import check_media, clip_frames, finish
from asva.pipelines.avsyncd import SAMPLE_RATE, AnimationOutput


class StaticPipeline:
    """A model-free pipeline with `AVSyncDPipeline`'s call: the prompt and sampling options are accepted
    and ignored (there is nothing to sample), so every command can run it like the others."""

    ignores_prompt = True  # `generate-eval` passes the prompt through without a table look-up
    text_encoder = None
    prompt_table = None
    hears_audio = False

    def to(self, *args, **kwargs) -> StaticPipeline:
        return self

    def set_progress_bar_config(self, **kwargs) -> None:
        return None

    @torch.no_grad()
    def __call__(self, image: torch.Tensor, audio: torch.Tensor, prompt: str | list[str] | None = None, *,
                 sample_rate: int = SAMPLE_RATE, fps: float | None = None, output_type: str = "uint8",
                 **sampling) -> AnimationOutput:
        """(b, 3, f, h, w) copies of `image`, f = floor(audio seconds * fps) (fps default 6)."""
        image, audio = check_media(image, audio, sample_rate, ("uint8", "float"), output_type)
        fps = 6.0 if fps is None else fps
        video = repeat(image, "b c h w -> b c f h w", f=clip_frames(audio, fps))
        return finish(video, audio, fps, fps, output_type)
