"""Command-line options every command that runs a method shares (`animate`, `generate-eval`, `compare`).

Light at import: parsers call `add_method_options` without loading torch models.
"""
from __future__ import annotations

import argparse

from asva.baselines import METHODS
from asva.baselines.config import CONTROLS, STARTS, AADiffConfig

AADIFF_DEFAULTS = vars(AADiffConfig())


def add_method_options(p: argparse.ArgumentParser, *, method: bool = True) -> None:
    """--method (if `method`) and AADiff's settings, grouped under "AADiff"."""
    if method:
        p.add_argument("--method", choices=METHODS, default="avsyncd",
                       help="static (the image repeated), i2vd (AVSyncD without audio; default model "
                            "asva-synth-tiny-i2vd), aadiff (needs --model SD15_DIR) or avsyncd (default)")
    g = p.add_argument_group("AADiff (--method aadiff; docs/baselines.md)")
    g.add_argument("--aadiff-start", choices=STARTS, default=AADIFF_DEFAULTS["start"],
                   help="how every frame starts from the image: DDIM inversion or SDEdit noising "
                        f"(default {AADIFF_DEFAULTS['start']})")
    g.add_argument("--aadiff-strength", type=float, default=AADIFF_DEFAULTS["strength"],
                   help="fraction of the schedule inverted / noised to "
                        f"(default {AADIFF_DEFAULTS['strength']})")
    g.add_argument("--aadiff-scale", type=float, default=AADIFF_DEFAULTS["attention_scale"],
                   help="lambda: prompt attention x (1 + lambda * loudness) "
                        f"(default {AADIFF_DEFAULTS['attention_scale']})")
    g.add_argument("--aadiff-smoothing", type=int, default=AADIFF_DEFAULTS["smoothing"],
                   help="loudness sliding window in frames, odd "
                        f"(default {AADIFF_DEFAULTS['smoothing']} = none)")
    g.add_argument("--aadiff-words", help="comma-separated prompt words to re-weight (default: all words)")
    g.add_argument("--aadiff-control", choices=CONTROLS, default=AADIFF_DEFAULTS["control"],
                   help="p2p: each frame a Prompt-to-Prompt re-weighting edit of a base sample; reweight: "
                        f"each frame's own attention scaled (default {AADIFF_DEFAULTS['control']})")
    g.add_argument("--aadiff-cross-replace", type=float, default=AADIFF_DEFAULTS["cross_replace"],
                   help="p2p: fraction of the steps with the base's re-weighted cross-attention "
                        f"(default {AADIFF_DEFAULTS['cross_replace']})")
    g.add_argument("--aadiff-self-replace", type=float, default=AADIFF_DEFAULTS["self_replace"],
                   help="p2p: fraction of the steps with the base's self-attention "
                        f"(default {AADIFF_DEFAULTS['self_replace']})")
    g.add_argument("--aadiff-blend", type=_threshold, default=AADIFF_DEFAULTS["blend_threshold"],
                   help="p2p: local-blending threshold on the words' attention, or none "
                        f"(default {AADIFF_DEFAULTS['blend_threshold']})")


def _threshold(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1) or none, got {text!r}") from None


def aadiff_config(args: argparse.Namespace):
    """The `AADiffConfig` the options describe (validated)."""
    words = tuple(w.strip() for w in args.aadiff_words.split(",") if w.strip()) if args.aadiff_words else None
    return AADiffConfig(start=args.aadiff_start, strength=args.aadiff_strength,
                        attention_scale=args.aadiff_scale, smoothing=args.aadiff_smoothing, words=words,
                        control=args.aadiff_control, cross_replace=args.aadiff_cross_replace,
                        self_replace=args.aadiff_self_replace, blend_threshold=args.aadiff_blend)


def aadiff_settings(args: argparse.Namespace) -> dict:
    """AADiff's options as a flat dict (for manifests)."""
    return {"aadiff_start": args.aadiff_start, "aadiff_strength": args.aadiff_strength,
            "aadiff_scale": args.aadiff_scale, "aadiff_smoothing": args.aadiff_smoothing,
            "aadiff_words": args.aadiff_words, "aadiff_control": args.aadiff_control,
            "aadiff_cross_replace": args.aadiff_cross_replace,
            "aadiff_self_replace": args.aadiff_self_replace, "aadiff_blend": args.aadiff_blend}
