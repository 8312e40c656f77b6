"""AVSyncDPipeline: animate an image into a video that moves in time with an audio clip.

    pipe = AVSyncDPipeline.from_pretrained(model_dir, torch_dtype=torch.bfloat16).to("cuda")
    out = pipe(image_uint8_3hw, wave_16k, "dog barking", generator=torch.Generator().manual_seed(0))
    out.videos  # (1, 3, f, h, w) uint8, f = floor(audio seconds * 6)

The model generates 12 frames (2 s at 6 fps) per window; the first frame is the input image's latent,
kept clean at every step. Longer audio runs as consecutive windows chained on their shared frame
(see `long_audio`); with `window_anchor="image"` every window starts from the input image instead.
The caller chooses device and dtype; nothing here changes global torch settings.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import DiffusionPipeline, ModelMixin, SchedulerMixin
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from einops import rearrange, repeat

from asva.media.audio import SAMPLE_RATE
from asva.media.frames import to_model_range, to_uint8
from asva.pipelines.components import AVSyncDAudioEncoder, AVSyncDUNet
from asva.pipelines.guidance import Conditions, GuidedDenoiser, check_scales
from asva.pipelines.long_audio import (
    check_window_anchor,
    frame_count,
    join_windows,
    plan_windows,
    resample_frames,
)
from asva.pipelines.prompts import PromptTable

OUTPUT_TYPES = ("uint8", "float", "latent")


@dataclass
class AnimationOutput(BaseOutput):
    """videos: (b, 3, f, h, w) uint8 (or float in [-1, 1], or latents (b, c, f, h', w'));
    audio: the input audio at 16 kHz, (b, n) or (b, channels, n), trimmed to the video; fps: of videos."""

    videos: torch.Tensor
    audio: torch.Tensor
    fps: float


def normalize_inputs(image: torch.Tensor, audio: torch.Tensor,
                     sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What every animation pipeline (AVSyncD and the baselines) accepts, checked and normalised:
    image (3, h, w) or (b, 3, h, w), uint8 or float in [-1, 1] -> (b, 3, h, w) float in [-1, 1];
    audio (n,), (b, n) or (b, ch, n) float at `sample_rate` -> (b, [ch,] n) float at 16 kHz."""
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (3, h, w) or (b, 3, h, w), got {tuple(image.shape)}")
    image = to_model_range(image) if image.dtype == torch.uint8 else image.float()
    if not audio.is_floating_point() or audio.ndim not in (1, 2, 3):
        raise ValueError(f"audio must be a float waveform (n,), (b, n) or (b, ch, n), got "
                         f"{audio.dtype} {tuple(audio.shape)}")
    audio = audio.reshape(1, -1) if audio.ndim == 1 else audio
    if audio.shape[0] != image.shape[0]:
        raise ValueError(f"got {image.shape[0]} images but {audio.shape[0]} audio clips")
    if sample_rate != SAMPLE_RATE:
        from asva.media import resample

        audio = resample(audio.float(), sample_rate, SAMPLE_RATE)
    return image, audio.float()


class AVSyncDPipeline(DiffusionPipeline):
    """AVSyncD image-to-video diffusion conditioned on audio (and a text/class prompt).

    Components: `vae` (diffusers AutoencoderKL, or a ModelMixin with its interface such as
    `asva.models.autoencoder.PatchAutoencoder`), `unet` (`AVSyncDUNet`, the 3-D UNet), `audio_encoder`
    (`AVSyncDAudioEncoder`, ImageBind's audio tokens), `scheduler`, and for the prompt either
    `text_encoder` + `tokenizer` (CLIP) or `prompt_table` (precomputed class encodings), or both.
    """

    model_cpu_offload_seq = "text_encoder->audio_encoder->unet->vae"
    _optional_components = ["audio_encoder", "text_encoder", "tokenizer", "prompt_table"]

    def __init__(self, vae: ModelMixin, unet: AVSyncDUNet, audio_encoder: AVSyncDAudioEncoder | None,
                 scheduler: SchedulerMixin,
                 text_encoder=None, tokenizer=None, prompt_table: PromptTable | None = None,
                 frames_per_window: int = 12, window_fps: float = 6.0, window_anchor: str = "previous"):
        super().__init__()
        check_window_anchor(window_anchor)
        self.register_modules(vae=vae, unet=unet, audio_encoder=audio_encoder, scheduler=scheduler,
                              text_encoder=text_encoder, tokenizer=tokenizer, prompt_table=prompt_table)
        self.register_to_config(frames_per_window=frames_per_window, window_fps=window_fps,
                                window_anchor=window_anchor)

    # ---------------------------------------------------------------- geometry
    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this: the VAE and UNet downsampling combined."""
        return self.vae_scale_factor * 2 ** (len(self.unet.unet_config.channels) - 1)

    @property
    def hears_audio(self) -> bool:
        """False for an image-only UNet (the I2VD baseline, `audio_dim=None`): audio sets only the length."""
        return self.unet.unet_config.audio_dim is not None

    @property
    def window_seconds(self) -> float:
        return self.config.frames_per_window / self.config.window_fps

    # ---------------------------------------------------------------- encoders
    def encode_prompt(self, prompts: list[str] | None, batch_size: int, *, use_table: bool = False,
                      need_null: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Prompt encodings (b, n, d) and, if `need_null`, the empty-prompt encodings (b, n, d).

        Uses the CLIP text encoder when the pipeline has one (unless `use_table`), else looks the
        prompts up in `prompt_table` by name. No prompt means the empty prompt.
        """
        if use_table or self.text_encoder is None:
            if self.prompt_table is None:
                raise ValueError("this model has neither a text encoder nor a class prompt table")
            null = self.prompt_table.null(batch_size)
            text = null if prompts is None else self.prompt_table.lookup(prompts)
            return text, null if need_null else None
        null = self._encode_text([""] * batch_size) if need_null or prompts is None else None
        text = null if prompts is None else self._encode_text(prompts)
        return text, null if need_null else None

    def _encode_text(self, prompts: list[str]) -> torch.Tensor:
        if self.tokenizer is None:
            raise ValueError("this model has a text encoder but no tokenizer")
        ids = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        return self.text_encoder(ids.to(self.text_encoder.device))[0]  # last hidden state (b, n, d)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """(b, 3, h, w) in [-1, 1] -> scaled latents (b, c, h/8, w/8); the posterior mean, not a sample."""
        z = self.vae.encode(image.to(self.vae.device, self.vae.dtype)).latent_dist.mode()
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        return (z - shift) * self.vae.config.scaling_factor

    def decode_latents(self, latents: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """(b, c, f, h, w) latents -> (b, 3, f, H, W) frames in [-1, 1], `chunk` frames per VAE call."""
        b = latents.shape[0]
        flat = rearrange(latents, "b c f h w -> (b f) c h w").to(self.vae.dtype)
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        flat = flat / self.vae.config.scaling_factor + shift
        frames = torch.cat([self.vae.decode(flat[i:i + chunk]).sample for i in range(0, len(flat), chunk)])
        return rearrange(frames, "(b f) c h w -> b c f h w", b=b).clamp(-1, 1)

    def encode_audio(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """2-s waveforms (b, n) or (b, channels, n) -> tokens (b, m, c) and per-frame masks (b, f, m)
        (every frame's attention sees the same tokens, through its own mask; not copied per frame)."""
        from asva.media import normalize_mel, waveform_to_mel

        mel = torch.stack([normalize_mel(waveform_to_mel(w, SAMPLE_RATE)) for w in wave.float().cpu()])
        tokens = self.audio_encoder.audio_tokens(mel.to(self.audio_encoder.device, self.audio_encoder.dtype))
        return self._on_unet(tokens), self._token_mask(wave.shape[0], tokens.shape[1])

    def null_audio(self, batch_size: int) -> torch.Tensor:
        """The null-audio tokens (the encoder's output for an all-zero normalised mel), (b, m, c)."""
        return self._on_unet(self.audio_encoder.null_audio_tokens(batch_size))

    def _on_unet(self, tokens: torch.Tensor) -> torch.Tensor:
        """Conditioning tokens (b, n, c) in the UNet's device and dtype (all its frames attend to them)."""
        return tokens.to(self.unet.device, self.unet.dtype)

    def _token_mask(self, batch_size: int, num_tokens: int) -> torch.Tensor:
        from asva.models.audio_tokens import audio_token_mask

        mask = audio_token_mask(self.config.frames_per_window)  # (f, m) bool
        if mask.shape[1] != num_tokens:
            raise ValueError(f"audio token mask covers {mask.shape[1]} tokens, the encoder gave {num_tokens}")
        return repeat(mask.to(self.unet.device), "f m -> b f m", b=batch_size)

    # ---------------------------------------------------------------- denoising
    def denoiser(self, sample, t, text, audio, mask) -> torch.Tensor:
        """The UNet as a plain callable: noise prediction (b, c, f, h, w); audio and mask may be None."""
        return self.unet(sample, t, text, audio, mask)

    def denoise_window(self, first: torch.Tensor, conditions: Conditions, guided: GuidedDenoiser,
                       num_inference_steps: int, generator: torch.Generator | None, bar,
                       guidance_fraction: float = 1.0) -> torch.Tensor:
        """Generate one window (b, c, f, h, w) whose frame 0 is the clean latent `first` (b, c, h, w).

        The first round(guidance_fraction * steps) steps are guided, the rest run the conditional
        branch alone (steps: the scheduler's model calls, e.g. PNDM's 50 + 1)."""
        b, c, h, w = first.shape
        noise = randn_tensor((b, c, self.config.frames_per_window - 1, h, w), generator=generator,
                             device=first.device, dtype=first.dtype)
        latents = torch.cat([first.unsqueeze(2), noise * self.scheduler.init_noise_sigma], dim=2)
        self.scheduler.set_timesteps(num_inference_steps, device=first.device)  # also resets its history
        guided_steps = round(guidance_fraction * len(self.scheduler.timesteps))
        for i, t in enumerate(self.scheduler.timesteps):
            eps = guided(self.scheduler.scale_model_input(latents, t), t, conditions,
                         guide=i < guided_steps)
            # frame 0 is the condition: never stepped, so it stays the clean image latent
            step = self.scheduler.step(eps[:, :, 1:], t, latents[:, :, 1:]).prev_sample
            latents = torch.cat([latents[:, :, :1], step.to(latents.dtype)], dim=2)
            bar.update()
        return latents

    # ---------------------------------------------------------------- inputs
    def check_inputs(self, image: torch.Tensor, audio: torch.Tensor, sample_rate: int,
                     num_inference_steps: int, output_type: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate and normalise: image -> (b, 3, h, w) float in [-1, 1]; audio -> (b, [ch,] n) at 16 kHz."""
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be an integer >= 1, got {num_inference_steps}")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        image, audio = normalize_inputs(image, audio, sample_rate)
        m = self.size_multiple
        if image.shape[-2] % m or image.shape[-1] % m:
            raise ValueError(f"image sides must be multiples of {m}, got {tuple(image.shape[-2:])}")
        return image, audio

    def _audio_window(self, audio: torch.Tensor, start_frame: int) -> torch.Tensor:
        """The window's audio, (b, [ch,] n): its 2 s from frame `start_frame`, silence past the end."""
        first = round(start_frame / self.config.window_fps * SAMPLE_RATE)
        length = round(self.window_seconds * SAMPLE_RATE)
        piece = audio[..., first:first + length]
        return torch.nn.functional.pad(piece, (0, length - piece.shape[-1]))

    def _finish(self, video: torch.Tensor, audio: torch.Tensor, fps: float, output_type: str):
        """Re-time to `fps`, convert, and trim the audio to the video's length."""
        src_fps = self.config.window_fps
        num_out = frame_count(audio.shape[-1] / SAMPLE_RATE, fps)
        if output_type != "latent":
            video = resample_frames(video, src_fps, fps, num_out)
        if output_type == "uint8":
            video = to_uint8(video)
        keep = round(video.shape[2] / (fps if output_type != "latent" else src_fps) * SAMPLE_RATE)
        return AnimationOutput(videos=video.cpu(), audio=audio[..., :keep].cpu(), fps=float(fps))

    # ---------------------------------------------------------------- call
    @torch.no_grad()
    def __call__(self, image: torch.Tensor, audio: torch.Tensor, prompt: str | list[str] | None = None, *,
                 use_prompt_table: bool = False, sample_rate: int = SAMPLE_RATE,
                 num_inference_steps: int = 50, audio_guidance_scale: float = 4.0,
                 text_guidance_scale: float = 1.0, guidance_fraction: float = 1.0, fps: float | None = None,
                 generator: torch.Generator | None = None, batched_guidance: bool = True,
                 window_anchor: str | None = None, output_type: str = "uint8") -> AnimationOutput:
        """Animate `image` ((3, h, w) or (b, 3, h, w), uint8 or float in [-1, 1]) with `audio` (float
        waveform (n,), (b, n) or (b, channels, n); ImageBind reads channel 0). The clip lasts as long as
        the audio (whole frames at `fps`, default 6). `prompt` is text, or with `use_prompt_table` a
        class name of the model's table. `audio_guidance_scale` is eta; 1 disables audio guidance.
        `guidance_fraction` < 1 guides only the first round(fraction * steps) steps and runs the
        conditional branch alone in the rest (fewer UNet evaluations). `window_anchor` (default: the
        model folder's, else "previous") is frame 0 of every window after the first: the previous
        window's last frame ("previous": continuous motion) or the input image again ("image")."""
        # 0. Check inputs; the clip length follows the audio, cut into 2-s windows
        image, audio = self.check_inputs(image, audio, sample_rate, num_inference_steps, output_type)
        fps = self.config.window_fps if fps is None else fps
        seconds = audio.shape[-1] / SAMPLE_RATE
        if frame_count(seconds, fps) < 1:
            raise ValueError(f"audio of {seconds:.3f} s is shorter than one frame at {fps} fps")
        num_frames = frame_count(seconds, self.config.window_fps)
        starts = plan_windows(num_frames, self.config.frames_per_window)
        check_scales(audio_scale=audio_guidance_scale, text_scale=text_guidance_scale)
        anchor = check_window_anchor(self.config.window_anchor if window_anchor is None else window_anchor)
        if not 0.0 <= guidance_fraction <= 1.0:
            raise ValueError(f"guidance_fraction must be in [0, 1], got {guidance_fraction}")
        audio_scale = audio_guidance_scale if self.hears_audio else 1.0  # nothing to guide without audio
        guided = GuidedDenoiser(self.denoiser, audio_scale=audio_scale, text_scale=text_guidance_scale,
                                batched=batched_guidance)
        batch = image.shape[0]
        prompts = [prompt] * batch if isinstance(prompt, str) else prompt
        # 1. Encode the prompt and the null audio (once, for every window and step)
        text, null_text = self.encode_prompt(prompts, batch, use_table=use_prompt_table,
                                             need_null=text_guidance_scale != 1.0)
        text, null_text = (None if x is None else self._on_unet(x) for x in (text, null_text))
        null_audio = self.null_audio(batch) if audio_scale != 1.0 else None
        # 2. Encode the image: the first frame's latent, kept clean at every step
        image_latent = first = self.encode_image(image).to(self.unet.device, self.unet.dtype)
        # 3. Denoise frames 2..12 of each window, chaining windows on their shared frame (or the image)
        self.scheduler.set_timesteps(num_inference_steps)
        windows = []
        with self.progress_bar(total=len(starts) * len(self.scheduler.timesteps)) as bar:
            for start in starts:
                tokens, mask = self.encode_audio(self._audio_window(audio, start)) if self.hears_audio \
                    else (None, None)
                conditions = Conditions(text=text, audio=tokens, mask=mask,
                                        null_audio=tokens if null_audio is None else null_audio,
                                        null_text=null_text)
                windows.append(self.denoise_window(first, conditions, guided, num_inference_steps,
                                                   generator, bar, guidance_fraction))
                first = image_latent if anchor == "image" else windows[-1][:, :, -1]
        latents = join_windows(windows, num_frames)
        # 4. Decode with the VAE
        video = latents if output_type == "latent" else self.decode_latents(latents)
        # 5. Re-time to the requested fps and trim the audio to the video
        return self._finish(video, audio, fps, output_type)
