"""benchmarks/two_object_look.py --rows: two rows of `asva table1 --json` files compared clip by clip."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "two_object_look.py"


@pytest.fixture(scope="module")
def look():
    spec = importlib.util.spec_from_file_location("two_object_look", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table1_json(path, rows):
    methods = [{"method": name, "scores": scores} for name, scores in rows.items()]
    path.write_text(json.dumps({"methods": methods}))
    return path


def test_rows_pairs_clips_within_each_file_and_drops_undefined_ones(look, tmp_path, capsys):
    # file 0: B is A + 0.1 on every clip; file 1: B is A + 0.3, and one clip has no correlation on A
    f0 = table1_json(tmp_path / "t0.json", {"A": {"correlation": [0.1, 0.5], "relsync": [0.2, 0.2]},
                                            "B": {"correlation": [0.2, 0.6], "relsync": [0.3, 0.3]}})
    f1 = table1_json(tmp_path / "t1.json", {"A": {"correlation": [0.0, math.nan], "relsync": [0.1, 0.1]},
                                            "B": {"correlation": [0.3, 0.9], "relsync": [0.4, 0.4]}})
    look.rows("A", "B", [f0, f1], draws=200)
    corr, relsync = capsys.readouterr().out.splitlines()
    # correlation: differences 0.1, 0.1, 0.3 (the NaN clip dropped) -> mean 0.167 over 3 clips
    assert corr.startswith("correlation: A 0.200, B 0.367, B - A +0.167 [") and "over 3 paired clips" in corr
    low, high = (float(x) for x in corr.split("[")[1].split("]")[0].split(", "))
    assert 0.1 - 1e-9 <= low <= 0.167 <= high <= 0.3 + 1e-9  # the bootstrap stays within the differences
    assert "B - A +0.200" in relsync and "over 4 paired clips" in relsync


def test_rows_names_a_missing_row(look, tmp_path):
    f0 = table1_json(tmp_path / "t0.json", {"A": {"correlation": [0.1], "relsync": [0.2]}})
    with pytest.raises(SystemExit, match="has no row 'B'"):
        look.rows("A", "B", [f0], draws=10)
