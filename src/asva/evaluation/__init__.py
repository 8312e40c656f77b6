"""Evaluation of generated sets: matching, cached features, metrics and reports (see docs/evaluation.md).

from asva.evaluation import EvalConfig, run_evaluation, resolve_weights, load_extractors, write_reports
paths, metrics, skipped = resolve_weights(["fid", "relsync"], "weights/")
nets = load_extractors(paths, metrics, fid_size=229)
result = run_evaluation(EvalConfig(dataset, generated, tuple(metrics), cache=out / "cache"), nets)
write_reports(out, result.metrics, result.rows, protocol={...})
"""

from .features import Clip, Extractors, FeatureCache, load_generated_clip
from .matching import EvalClip, MismatchError, Problem, expected_clips, generated_name, match_generated
from .report import REPORT_FILES, fid_protocol, markdown_table, write_reports
from .run import METRICS, EvalConfig, EvalResult, run_evaluation
from .weights import SPECS, load_extractors, resolve_weights

__all__ = [
    "METRICS",
    "REPORT_FILES",
    "SPECS",
    "Clip",
    "EvalClip",
    "EvalConfig",
    "EvalResult",
    "Extractors",
    "FeatureCache",
    "MismatchError",
    "Problem",
    "expected_clips",
    "fid_protocol",
    "generated_name",
    "load_extractors",
    "load_generated_clip",
    "markdown_table",
    "match_generated",
    "resolve_weights",
    "run_evaluation",
    "write_reports",
]
