"""Training as the official trainer does: VAE posterior samples and ImageBind's audio DropPath active."""
from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL

from asva.models.imagebind.config import ImageBindConfig
from asva.models.imagebind.model import ImageBind
from asva.training.avsyncd.config import load_config
from asva.training.avsyncd.model import encode_video

pytestmark = pytest.mark.usefixtures("one_thread")


def test_paper_preset_defaults_are_the_official_ones():
    paper = load_config("avsync15-sd15")
    assert paper.train.vae_latents == "sample" and paper.model.imagebind_train_mode
    tiny = load_config("synth-tiny")  # the bundled model's recipe keeps its posterior means, eval mode
    assert tiny.train.vae_latents == "mean" and not tiny.model.imagebind_train_mode
    with pytest.raises(ValueError, match="vae_latents"):
        load_config("synth-tiny", ["train.vae_latents=mode"])


def test_huge_audio_drop_path_rates():
    cfg = ImageBindConfig.from_preset("huge")
    assert cfg.audio.drop_path == 0.1 and cfg.vision.drop_path == 0.0 and cfg.text.drop_path == 0.0
    with torch.device("meta"):
        model = ImageBind(cfg)
    rates = [block.drop_path for block in model.audio.transformer.blocks]
    assert rates == pytest.approx(torch.linspace(0, 0.1, 12).tolist())  # ImageBind's instantiate_trunk


def test_drop_path_is_active_in_train_mode_only():
    cfg = ImageBindConfig.from_preset("tiny")
    cfg = ImageBindConfig.from_dict({**cfg.to_dict(), "audio": {**cfg.to_dict()["audio"], "drop_path": 0.5}})
    model = ImageBind(cfg)
    mel = torch.randn(4, 1, 128, 204)
    model.eval()
    assert torch.equal(model.audio_tokens(mel), model.audio_tokens(mel))
    model.train()
    torch.manual_seed(0)
    a = model.audio_tokens(mel)
    assert not torch.equal(a, model.audio_tokens(mel))


def test_vae_latents_sample_the_posterior():
    vae = AutoencoderKL(block_out_channels=(8,), down_block_types=("DownEncoderBlock2D",),
                        up_block_types=("UpDecoderBlock2D",), norm_num_groups=4, latent_channels=4).eval()
    video = torch.rand(1, 3, 2, 16, 16) * 2 - 1
    mean = encode_video(vae, video)
    a = encode_video(vae, video, sample=True, generator=torch.Generator().manual_seed(3))
    b = encode_video(vae, video, sample=True, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.allclose(a, mean)
    assert (a - mean).abs().mean() < 1.0  # a sample around the mean, not noise


@pytest.mark.parametrize("train_mode", [True, False])
def test_trainer_keeps_imagebind_in_the_configured_mode(tmp_path, train_mode):
    from asva.synth.generate import SynthConfig, generate
    from asva.training.avsyncd.trainer import train

    root = tmp_path / "synth"
    generate(SynthConfig(root, videos_per_class=2, size=32, classes=("drum",), workers=1, test_fraction=0.5),
             progress=False)
    cfg = load_config("synth-tiny", ["data.size=32", "model.prompt_length=8", "train.batch_size=1",
                                     "train.max_steps=1", "train.threads=1", "train.warmup_steps=0",
                                     "log.progress=false", "validation.every=0", "log.tensorboard=false",
                                     f"model.imagebind_train_mode={str(train_mode).lower()}",
                                     "train.vae_latents=sample"])
    result = train(cfg, output=tmp_path / "run", data_root=root)
    assert result.module.audio_encoder.training is train_mode and result.module.unet.training
