"""asva.media: reading and writing video, audio and images, and ImageBind's audio front end.

Public API (see docs/media.md):
    probe, MediaInfo, read_video, read_audio, audio_window, read_image,
    write_video, write_gif, write_frames, write_image, resample, waveform_to_mel, normalize_mel,
    imagebind_audio_clips, kaldi_fbank, fit_frames, fit_image, crop_box, crop_note, parse_size,
    normalize_size.
"""
from asva.media.audio import SAMPLE_RATE, audio_window, read_audio
from asva.media.fbank import imagebind_audio_clips, kaldi_fbank, normalize_mel, waveform_to_mel
from asva.media.image import read_image
from asva.media.probe import MediaInfo, probe
from asva.media.resample import resample
from asva.media.transform import crop_box, crop_note, fit_frames, fit_image, normalize_size, parse_size
from asva.media.video import read_video
from asva.media.write import write_frames, write_gif, write_image, write_video

__all__ = [
    "SAMPLE_RATE",
    "MediaInfo",
    "audio_window",
    "crop_box",
    "crop_note",
    "fit_frames",
    "fit_image",
    "imagebind_audio_clips",
    "kaldi_fbank",
    "normalize_mel",
    "normalize_size",
    "probe",
    "read_audio",
    "read_image",
    "read_video",
    "parse_size",
    "resample",
    "write_frames",
    "waveform_to_mel",
    "write_gif",
    "write_image",
    "write_video",
]
