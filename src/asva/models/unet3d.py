"""AVSyncD's denoiser: Stable Diffusion's UNet inflated to video, with audio and temporal attention.

    model = VideoUNet(load_preset("tiny"))
    eps = model(sample,            # (b, 4, f, h, w) noisy latents (frame 0: the clean image latent)
                timestep,          # int, or (b,) / (1,) tensor
                text_states,       # (b, n, text_dim) or per frame (b, f, n, text_dim)
                audio_states,      # (b, m, audio_dim) or per frame (b, f, m, audio_dim); None if no audio
                audio_mask)        # (b, f, m) or (f, m) bool, True = attend; None = all tokens
    # eps: (b, 4, f, h, w)

The temporal and audio layers form one separable adapter (`adapter_modules`, `freeze_base`,
`save_adapter` / `load_adapter`); see `asva.models.adapter`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from . import adapter
from .attention import FirstFrameAttention
from .blocks import DownStage, MidStage, UpStage
from .config import UNetConfig
from .layers import EmbeddingMLP, FrameMix, InflatedConv, sinusoidal_embedding
from .resnet import ResBlock
from .transformer import Conditioning, VideoTransformer


class VideoUNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        make_res = functools.partial(ResBlock, time_dim=c.time_dim, groups=c.norm_groups, eps=c.norm_eps)
        make_tf = functools.partial(
            VideoTransformer,
            heads=c.num_heads,
            groups=c.norm_groups,
            text_dim=c.text_dim,
            audio_dim=c.audio_dim,
        )
        self.input_conv = InflatedConv(c.in_channels, c.channels[0], 3, padding=1)
        self.time_mlp = EmbeddingMLP(c.channels[0], c.time_dim)

        levels = len(c.channels)
        self.down = nn.ModuleList()
        skips = [c.channels[0]]
        for i, (ch, attn) in enumerate(zip(c.channels, c.attention, strict=True)):
            last = i == levels - 1
            stage = DownStage(
                c.channels[max(i - 1, 0)],
                ch,
                c.layers_per_block,
                make_res,
                make_tf if attn else None,
                None if last else c.downsample_padding,
            )
            self.down.append(stage)
            skips += stage.skip_channels()
        self.mid = MidStage(c.channels[-1], make_res, make_tf)
        self.up = nn.ModuleList()
        for i, (ch, attn) in enumerate(zip(c.channels[::-1], c.attention[::-1], strict=True)):
            stage_skips = [skips.pop() for _ in range(c.layers_per_block + 1)]
            prev = c.channels[::-1][max(i - 1, 0)]
            self.up.append(
                UpStage(stage_skips, prev, ch, make_res, make_tf if attn else None, i < levels - 1)
            )
        self.out_norm = nn.GroupNorm(c.norm_groups, c.channels[0], eps=c.norm_eps)
        self.out_conv = InflatedConv(c.channels[0], c.out_channels, 3, padding=1)
        adapter.reset_adapter(self)
        self._set_first_frame_lookups()

    def _set_first_frame_lookups(self) -> None:
        """Table 2a's switches: which layers see frame 0 (`first_frame_conv`, `first_frame_attention`)."""
        for module in self.modules():
            if isinstance(module, FrameMix):
                module.use_first_frame = self.config.first_frame_conv
            elif isinstance(module, FirstFrameAttention):
                module.use_first_frame = self.config.first_frame_attention

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | int | float,
        text_states: torch.Tensor,
        audio_states: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b, _, f, _, _ = self._check_sample(sample)
        temb = self.embed_timestep(timestep, b, sample.device)
        cond = self._conditioning(b, f, text_states, audio_states, audio_mask)
        # Channels-last (b, f, h, w, c in memory): the per-frame convolutions then run on oneDNN's
        # preferred layout, and the frame mixing and transformers see their token views without copies.
        x = self.input_conv(sample.contiguous(memory_format=torch.channels_last_3d))
        skips = [x]
        for stage in self.down:
            x, stage_skips = stage(x, temb, cond)
            skips += stage_skips
        x = self.mid(x, temb, cond)
        for stage in self.up:
            x = stage(x, skips, temb, cond)
        return self.out_conv(F.silu(self.out_norm(x))).contiguous()

    def embed_timestep(self, timestep, batch: int, device: torch.device) -> torch.Tensor:
        """int / float / (1,) / (b,) timesteps -> (b, time_dim) embedding."""
        t = torch.as_tensor(timestep, device=device)
        if t.ndim == 0 or t.shape == (1,):
            t = t.reshape(1).expand(batch)
        if t.shape != (batch,):
            raise ValueError(f"timestep must be a scalar, (1,) or ({batch},), got shape {tuple(t.shape)}")
        c = self.config
        emb = sinusoidal_embedding(
            t, c.channels[0], flip_sin_to_cos=c.flip_sin_to_cos, freq_shift=c.freq_shift
        )
        return self.time_mlp(emb.to(self.dtype))

    def _check_sample(self, sample: torch.Tensor) -> torch.Size:
        if sample.ndim != 5 or sample.shape[1] != self.config.in_channels:
            raise ValueError(
                f"sample must be (b, {self.config.in_channels}, f, h, w), got shape {tuple(sample.shape)}"
            )
        return sample.shape

    def _conditioning(self, b: int, f: int, text, audio, mask) -> Conditioning:
        c = self.config
        text = _shared_or_per_frame(text, b, f, c.text_dim, "text_states")
        if c.audio_dim is None:
            if audio is not None or mask is not None:
                raise ValueError("this UNet has no audio attention (audio_dim=None); pass audio_states=None")
            return Conditioning(f, text)
        if audio is None:
            raise ValueError(
                f"audio_states (b, m, {c.audio_dim}) are required: this UNet has audio attention"
            )
        audio = _shared_or_per_frame(audio, b, f, c.audio_dim, "audio_states")
        if mask is not None:
            m = audio.shape[1]
            if mask.dtype != torch.bool or mask.shape not in ((b, f, m), (f, m)):
                raise ValueError(
                    f"audio_mask must be bool ({b}, {f}, {m}) or ({f}, {m}), "
                    f"got {mask.dtype} {tuple(mask.shape)}"
                )
            mask = rearrange(mask.expand(b, f, m), "b f m -> (b f) m")
            return Conditioning(f, text, *attended_tokens(audio, mask, b))
        return Conditioning(f, text, audio)

    @property
    def device(self) -> torch.device:
        return self.input_conv.spatial.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.input_conv.spatial.weight.dtype

    # ------------------------------------------------------------------ adapter and training
    def adapter_modules(self) -> list[nn.Module]:
        return adapter.adapter_modules(self)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.adapter_modules() for p in m.parameters()]

    def freeze_base(self) -> list[nn.Parameter]:
        """Freeze SD's weights, leave the adapter trainable; returns the trainable parameters."""
        return adapter.freeze_base(self)

    def save_adapter(self, path: str | Path) -> Path:
        return adapter.save_adapter(self, path, config=self.config.to_dict())

    def load_adapter(self, path: str | Path) -> None:
        adapter.load_adapter(self, path)

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Recompute each resnet and transformer in the backward pass (saves memory in training)."""
        for stage in [*self.down, self.mid, *self.up]:
            stage.gradient_checkpointing = enabled


def _shared_or_per_frame(tokens: torch.Tensor, b: int, f: int, dim: int, name: str) -> torch.Tensor:
    """(b, n, d) (the same tokens for every frame, kept as they are) or (b, f, n, d) -> ((b f), n, d)."""
    if tokens.ndim == 3 and tokens.shape[0] == b and tokens.shape[-1] == dim:
        return tokens
    if tokens.ndim == 4 and tokens.shape[:2] == (b, f) and tokens.shape[-1] == dim:
        return rearrange(tokens, "b f n d -> (b f) n d")
    raise ValueError(
        f"{name} must be ({b}, n, {dim}) or ({b}, {f}, n, {dim}), got shape {tuple(tokens.shape)}"
    )


def attended_tokens(
    tokens: torch.Tensor, mask: torch.Tensor, b: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-frame tokens and mask ((b f), m) -> only the tokens each frame attends to, and no mask.

    `tokens` is (b, m, d) (shared by the frames) or ((b f), m, d). Masked-out tokens have attention
    weight 0, so dropping them changes nothing but the cost (AVSyncD's frames see 25 of 229 audio
    tokens). Needs the same number k > 0 of attended tokens in every frame; otherwise the tokens are
    expanded per frame and the mask kept.
    """
    counts = mask.sum(dim=1)
    bf, m = mask.shape
    if tokens.shape[0] == b:
        tokens = repeat(tokens, "b m d -> (b f) m d", f=bf // b)
    k = int(counts[0])
    if k == 0 or not bool((counts == k).all()):
        return tokens, mask
    index = mask.nonzero()[:, 1].reshape(bf, k)  # row-major: ascending token order in each frame
    return tokens.gather(1, index[:, :, None].expand(bf, k, tokens.shape[-1])), None
