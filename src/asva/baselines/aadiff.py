"""AADiff (Lee et al., "AADiff: Audio-Aligned Video Synthesis with Text-to-Image Diffusion", CVPR-W 2023)
on any Stable Diffusion 1.5-format diffusers folder, in the image-conditioned (I+T+A) setting.

    pipe = AADiffPipeline.from_sd15("path/to/stable-diffusion-v1-5").to("cuda")
    out = pipe(image_uint8_3hw, wave_16k, "a dog barking")   # AnimationOutput, like AVSyncDPipeline

Every frame n is the prompt's sample with the cross-attention to the prompt's chosen tokens multiplied by
w_n = 1 + lambda * a_n, a_n the audio's normalised loudness at the frame's time (`envelope`). With the
default `p2p` control (`asva.baselines.p2p`) each frame is a Prompt-to-Prompt re-weighting edit of a base
sample (weight 1) run alongside: the base's attention maps are re-weighted and injected, and local
blending keeps the change to the chosen tokens' region (AADiff's "audio-based regional editing");
`reweight` scales every frame's own attention instead. Every frame starts from the same latent, made
from the input image: DDIM inversion (default) or SDEdit-style partial noising (`AADiffConfig.start`).
Frame 0 is the input image through the VAE, as in AVSyncD. The math and the choices are in
docs/baselines.md.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor
from einops import rearrange, repeat

from asva.baselines.attention import ReweightControl, reweighting
from asva.baselines.config import AADiffConfig
from asva.baselines.envelope import amplitude_envelope
from asva.baselines.media_io import check_media, clip_frames, finish
from asva.baselines.p2p import P2PControl, p2p_processors
from asva.pipelines.avsyncd import SAMPLE_RATE, AnimationOutput

SD15_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


class AADiffPipeline(DiffusionPipeline):
    """Stable Diffusion 1.5 components (`unet` UNet2DConditionModel, `vae` AutoencoderKL, `text_encoder`
    CLIPTextModel, `tokenizer`, `scheduler` made DDIM) with `AVSyncDPipeline`'s call."""

    model_cpu_offload_seq = "text_encoder->unet->vae"

    def __init__(self, vae, text_encoder, tokenizer, unet, scheduler, config: AADiffConfig | None = None):
        super().__init__()
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                              scheduler=DDIMScheduler.from_config(scheduler.config))
        self.aadiff = config or AADiffConfig()

    @classmethod
    def from_sd15(cls, folder: str | Path, config: AADiffConfig | None = None,
                  dtype: torch.dtype | None = None) -> AADiffPipeline:
        """Load the components of a Stable Diffusion 1.5-format diffusers folder."""
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        folder = Path(folder)
        missing = [part for part in SD15_PARTS if not (folder / part).is_dir()]
        if missing:
            raise ValueError(f"{folder} is not a Stable Diffusion 1.5 diffusers folder: it lacks "
                             f"{', '.join(missing)} (expected subfolders {', '.join(SD15_PARTS)})")
        kw = {} if dtype is None else {"dtype": dtype}
        return cls(vae=AutoencoderKL.from_pretrained(folder / "vae", **kw),
                   text_encoder=CLIPTextModel.from_pretrained(folder / "text_encoder", **kw),
                   tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer"),
                   unet=UNet2DConditionModel.from_pretrained(folder / "unet", **kw),
                   scheduler=DDIMScheduler.from_pretrained(folder / "scheduler"), config=config)

    # ---------------------------------------------------------------- geometry and encoders
    @property
    def size_multiple(self) -> int:
        vae = 2 ** (len(self.vae.config.block_out_channels) - 1)
        return vae * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def encode_prompt(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """-> CLIP last hidden states (b, L, d) and the re-weighted tokens (b, L) bool."""
        ids = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        hidden = self.text_encoder(ids.to(self.text_encoder.device))[0]
        return hidden, torch.stack([self.token_mask(p, row) for p, row in zip(prompts, ids, strict=True)])

    def token_mask(self, prompt: str, ids: torch.Tensor) -> torch.Tensor:
        """(L,) bool: the prompt's word tokens (no start / end / padding), or only those of `words`."""
        n = len(self.tokenizer(prompt, add_special_tokens=False, truncation=True,
                               max_length=self.tokenizer.model_max_length - 2).input_ids)
        words = torch.zeros(ids.shape[0], dtype=torch.bool)
        words[1:1 + n] = True
        if self.aadiff.words is None:
            return words
        chosen = torch.zeros_like(words)
        for word in self.aadiff.words:
            hit = torch.isin(ids, torch.tensor(self.tokenizer(word, add_special_tokens=False).input_ids))
            if not (hit & words).any():
                raise ValueError(f"AADiff word {word!r} is not in the prompt {prompt!r}")
            chosen |= hit & words
        return chosen

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        z = self.vae.encode(image.to(self.vae.device, self.vae.dtype)).latent_dist.mode()
        return z * self.vae.config.scaling_factor

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """(b, c, h, w) -> (b, 3, H, W) in [-1, 1]."""
        latents = latents.to(self.vae.dtype) / self.vae.config.scaling_factor
        return self.vae.decode(latents).sample.clamp(-1, 1)

    # ---------------------------------------------------------------- sampling
    def _eps(self, latents, t, text, text_scale, control=None) -> torch.Tensor:
        """Noise estimate with the frames' attention `control` on for the prompt (never for the empty
        prompt); classifier-free guidance when text_scale != 1."""
        if control is not None:
            control.active = True
        out = self.unet(latents, t, encoder_hidden_states=text).sample
        if text_scale != 1:
            if control is not None:
                control.active = False  # the empty prompt is never edited
            null = self._null_text(latents.shape[0])
            null_out = self.unet(latents, t, encoder_hidden_states=null).sample
            out = out * text_scale + null_out * (1 - text_scale)
        return out

    def _null_text(self, batch: int) -> torch.Tensor:
        ids = self.tokenizer([""], padding="max_length", max_length=self.tokenizer.model_max_length,
                             return_tensors="pt").input_ids
        return self.text_encoder(ids.to(self.text_encoder.device))[0].expand(batch, -1, -1)

    def _as_eps(self, out: torch.Tensor, latents: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        kind = self.scheduler.config.prediction_type
        if kind == "epsilon":
            return out
        if kind == "v_prediction":
            return alpha.sqrt() * out + (1 - alpha).sqrt() * latents
        raise ValueError(f"DDIM inversion supports epsilon and v_prediction models, not {kind!r}")

    def invert(self, z0: torch.Tensor, text: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """DDIM inversion of clean latents z0 (b, c, h, w) up to timesteps[0] (run backwards), with the
        plain prompt (no attention control)."""
        alphas = self.scheduler.alphas_cumprod.to(z0.device)
        stride = self.scheduler.config.num_train_timesteps // self.scheduler.num_inference_steps
        z = z0
        for t in reversed(timesteps):
            prev = int(t) - stride
            a_prev = alphas[prev] if prev >= 0 else self.scheduler.final_alpha_cumprod.to(z0.device)
            a_t = alphas[int(t)]
            eps = self._as_eps(self._eps(z, t, text, 1.0), z, a_prev)
            x0 = (z - (1 - a_prev).sqrt() * eps) / a_prev.sqrt()
            z = a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps
        return z

    def start_latents(self, z0, text, timesteps, generator) -> torch.Tensor:
        """The shared start of every frame: the image inverted (or noised) to timesteps[0]."""
        if self.aadiff.start == "inversion":
            return self.invert(z0, text, timesteps)
        noise = randn_tensor(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
        return self.scheduler.add_noise(z0, noise, timesteps[:1])

    @contextlib.contextmanager
    def frame_control(self):
        """Install the attention processors of `AADiffConfig.control`; yields them (all switched off)."""
        if self.aadiff.control == "p2p":
            with p2p_processors(self.unet) as processors:
                yield processors
        else:
            with reweighting(self.unet) as processors:
                yield processors

    def make_control(self, weights: torch.Tensor, tokens: torch.Tensor, steps: int, latent_hw):
        """The attention control of one batch of frames (weights (k,), tokens (L,) bool)."""
        cfg = self.aadiff
        if cfg.control == "reweight":
            return ReweightControl(weights, tokens)
        return P2PControl(weights, tokens, cross_steps=int(steps * cfg.cross_replace),
                          self_steps=int(steps * cfg.self_replace), latent_hw=tuple(latent_hw),
                          blend_threshold=cfg.blend_threshold)

    def denoise(self, start, text, weights, tokens, timesteps, processors, text_scale, bar) -> torch.Tensor:
        """Frames (f, c, h, w) from one start latent (c, h, w), frame n's prompt re-weighted by weights[n]
        (with `p2p` control, each batch of frames is an edit of a base sample run alongside)."""
        frames = []
        for chunk in weights.split(self.aadiff.frames_per_batch):
            control = self.make_control(chunk, tokens, len(timesteps), start.shape[-2:])
            size = len(chunk) + int(control.base_sample)
            z = repeat(start, "c h w -> f c h w", f=size)
            cond = repeat(text, "l d -> f l d", f=size)
            for processor in processors:
                processor.control = control
            for t in timesteps:
                eps = self._eps(z, t, cond, text_scale, control)
                z = control.after_step(self.scheduler.step(eps, t, z).prev_sample)
                bar.update()
            for processor in processors:
                processor.control = None
            frames.append(z[int(control.base_sample):])
        return torch.cat(frames)

    # ---------------------------------------------------------------- call
    @torch.no_grad()
    def __call__(self, image: torch.Tensor, audio: torch.Tensor, prompt: str | list[str] | None = None, *,
                 use_prompt_table: bool = False, sample_rate: int = SAMPLE_RATE,
                 num_inference_steps: int = 50, audio_guidance_scale: float = 4.0,
                 text_guidance_scale: float = 1.0, fps: float | None = None,
                 generator: torch.Generator | None = None, batched_guidance: bool = True,
                 output_type: str = "uint8") -> AnimationOutput:
        """Animate `image` with `audio` as `AVSyncDPipeline` does. AADiff has no audio guidance:
        `audio_guidance_scale` (eta) is ignored; `text_guidance_scale` is Stable Diffusion's CFG."""
        # 0. Check inputs: the image, the prompt (free text), the clip length
        if use_prompt_table:
            raise ValueError("AADiff takes free-text prompts; it has no class prompt table")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be an integer >= 1, got {num_inference_steps}")
        image, audio = check_media(image, audio, sample_rate, ("uint8", "float"), output_type)
        m = self.size_multiple
        if image.shape[-2] % m or image.shape[-1] % m:
            raise ValueError(f"image sides must be multiples of {m}, got {tuple(image.shape[-2:])}")
        fps = self.aadiff.fps if fps is None else fps
        clip_frames(audio, fps)
        src_fps = self.aadiff.fps
        num_frames = clip_frames(audio, src_fps)
        prompts = [prompt or ""] * image.shape[0] if prompt is None or isinstance(prompt, str) else prompt
        # 1. The loudness of every frame -> attention weights w_n = 1 + lambda * a_n
        level = amplitude_envelope(audio, SAMPLE_RATE, num_frames, src_fps, window=self.aadiff.smoothing)
        weights = (1 + self.aadiff.attention_scale * level).to(self.unet.device, self.unet.dtype)
        # 2. Encode the prompt and the image
        text, tokens = self.encode_prompt(prompts)
        text, tokens = text.to(self.unet.device, self.unet.dtype), tokens.to(self.unet.device)
        z0 = self.encode_image(image).to(self.unet.device, self.unet.dtype)
        # 3. Start every frame from the image (DDIM inversion or partial noising), then denoise
        self.scheduler.set_timesteps(num_inference_steps, device=self.unet.device)
        keep = max(1, round(num_inference_steps * self.aadiff.strength))
        timesteps = self.scheduler.timesteps[num_inference_steps - keep:]
        frames, chunks = [], -(-num_frames // self.aadiff.frames_per_batch)
        with self.frame_control() as processors, self.progress_bar(total=len(image) * chunks * keep) as bar:
            start = self.start_latents(z0, text, timesteps, generator)
            for i in range(len(image)):
                frames.append(self.denoise(start[i], text[i], weights[i], tokens[i], timesteps, processors,
                                           text_guidance_scale, bar))
        # 4. Decode; frame 0 is the input image through the VAE, as in AVSyncD
        video = torch.stack([self.decode_latents(torch.cat([z0[i:i + 1], f[1:]]))
                             for i, f in enumerate(frames)])
        video = rearrange(video, "b f c h w -> b c f h w").float()
        # 5. Re-time to the requested fps and trim the audio to the video
        return finish(video, audio, src_fps, fps, output_type)
