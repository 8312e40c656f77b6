"""asva demo: a web page (and HTTP API) to animate an image with a sound, on Gradio.

Usage:
    asva demo [--model NAME_OR_DIR] [--i2vd NAME_OR_DIR] [--aadiff SD15_DIR]
              [--host 127.0.0.1] [--port 7860] [--device auto] [--dtype float32]
              [--concurrency 1] [--max-upload-mb 50] [--max-audio-seconds 30] [--max-image-mp 40]
              [--keep-minutes 60] [--workdir DIR]

Open http://HOST:PORT in a browser. The page offers AVSyncD and the baselines that are available:
Static always, I2VD with --i2vd (or when the registry's I2VD model is installed), AADiff with --aadiff;
its Compare tab renders `asva compare`'s grid for them. The same server answers Gradio's API: the
endpoint `/animate` takes (image file, audio file, class or prompt, eta, steps, seed) and returns the
mp4 (docs/demo.md).
The server binds to 127.0.0.1 (this machine only) unless --host says otherwise; any other address
prints a warning, since anyone who can reach it can use the model. --share (a public Gradio link)
is refused: it needs the internet and publishes the server. Needs the `demo` extra
(pip install 'asva[demo]').
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from asva.models.registry import DEFAULT_MODEL

    p = argparse.ArgumentParser(prog="asva demo", description="Serve the animation page and its HTTP API.")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    p.add_argument("--i2vd", help="I2VD model name or folder for the I2VD method (default: the registry's "
                                  "I2VD model when installed, else no I2VD)")
    p.add_argument("--aadiff", help="Stable Diffusion 1.5 folder for the AADiff method (default: no AADiff)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:i] or mps "
                                                    "(default auto)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32",
                   help="weights' dtype (default float32)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="generations run at once; the rest wait in the queue, seeing their place (default 1)")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload in MB (default 50)")
    p.add_argument("--max-audio-seconds", type=float, default=30.0, help="longest sound (default 30)")
    p.add_argument("--max-image-mp", type=float, default=40.0,
                   help="largest image in megapixels (default 40)")
    p.add_argument("--max-steps", type=int, default=100,
                   help="most denoising steps a request may ask (default 100)")
    p.add_argument("--keep-minutes", type=float, default=60.0,
                   help="generated files are deleted after this many minutes (default 60)")
    p.add_argument("--workdir", type=Path,
                   help="folder for examples and generated files "
                        "(default: a temporary folder removed at exit)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default 1 on CPU, as `asva animate`)")
    p.add_argument("--share", action="store_true", help="refused: no public links (default off)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.share:
        raise ValueError("--share is not supported: it would publish this server through Gradio's relay "
                         "(and needs the internet); use --host 0.0.0.0 on a network you trust instead")
    from asva.demo.config import DemoConfig, Limits

    limits = Limits(max_upload_mb=args.max_upload_mb, max_audio_seconds=args.max_audio_seconds,
                    max_image_pixels=int(args.max_image_mp * 1e6), max_steps=args.max_steps)
    config = DemoConfig(model=args.model, i2vd=args.i2vd, aadiff=args.aadiff, host=args.host, port=args.port,
                        device=args.device, dtype=args.dtype, concurrency=args.concurrency,
                        keep_seconds=args.keep_minutes * 60, workdir=args.workdir, limits=limits)
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if not config.is_loopback:
        print(f"asva demo: warning: listening on {args.host}, not only this machine: anyone who can reach "
              f"port {args.port} can use the model and upload files", file=sys.stderr)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise ValueError("asva demo needs the demo extra: pip install 'asva[demo]'") from err
    import torch

    from asva.pipelines.loading import pick_device

    if args.threads is not None or pick_device(args.device).type == "cpu":
        torch.set_num_threads(args.threads or 1)  # a job's setting, made by its entry point
    from asva.demo.app import serve

    # `kill` (SIGTERM) ends the server like Ctrl-C does, so the temporary work folder is removed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    serve(config)
    return 0
