"""The one preset mechanism (`asva.presets`): listing by prefix, `extends`, clear errors."""
import json
from dataclasses import dataclass

import pytest

from asva import presets


@dataclass
class _Cfg:
    a: int = 1
    b: str = "x"


def _write(folder, name, data):
    (folder / f"{name}.json").write_text(json.dumps(data))


def test_extends_merges_sections_and_names_list_by_prefix(tmp_path):
    _write(tmp_path, "k-base", {"model": {"a": 1, "b": "x"}, "top": 3})
    _write(tmp_path, "k-child", {"extends": "base", "model": {"b": "y"}, "top": 4})
    _write(tmp_path, "other-z", {})
    assert presets.list_presets(tmp_path, "k-") == ["base", "child"]
    data = presets.read_preset(tmp_path, "child", prefix="k-", kind="test")
    assert data == {"model": {"a": 1, "b": "y"}, "top": 4}


def test_errors_name_the_bad_preset_base_and_keys(tmp_path):
    _write(tmp_path, "k-base", {})
    _write(tmp_path, "k-loop", {"extends": "nope"})
    with pytest.raises(ValueError, match=r"unknown test preset 'gone'; expected one of \['base', 'loop'\]"):
        presets.read_preset(tmp_path, "gone", prefix="k-", kind="test")
    with pytest.raises(ValueError, match="extends 'nope'"):
        presets.read_preset(tmp_path, "loop", prefix="k-")
    with pytest.raises(ValueError, match="neither a preset"):
        presets.read_preset(tmp_path, str(tmp_path / "missing.json"), prefix="k-", allow_file=True)
    presets.check_fields(_Cfg, {"a": 2}, "test config")
    with pytest.raises(ValueError, match=r"unknown test config keys \['c'\]"):
        presets.check_fields(_Cfg, {"a": 2, "c": 0}, "test config")


def test_every_shipped_preset_reads_through_the_mechanism():
    from asva.curation.config import list_presets as curate_presets
    from asva.curation.config import load_config as curate_config
    from asva.models.config import list_presets as unet_presets
    from asva.models.config import load_preset
    from asva.models.imagebind.config import ImageBindConfig
    from asva.models.imagebind.config import list_presets as ib_presets
    from asva.models.sync.config import SyncClassifierConfig
    from asva.models.sync.config import list_presets as sync_presets
    from asva.training.avsyncd.config import list_presets as train_presets
    from asva.training.avsyncd.config import load_config

    assert {"sd15", "tiny"} <= set(unet_presets()) and {"huge", "tiny"} <= set(ib_presets())
    assert {"official", "tiny"} <= set(sync_presets()) and "synth-tiny" in train_presets()
    for name in unet_presets():
        load_preset(name)
    for name in ib_presets():
        ImageBindConfig.from_preset(name)
    for name in sync_presets():
        SyncClassifierConfig.from_preset(name)
    for name in train_presets():
        load_config(name)
    for name in curate_presets():
        curate_config(name)
