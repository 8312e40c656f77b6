"""The house rules of the source tree (docs/architecture.md), checked by reading src/ (no imports)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted((SRC / "asva").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = ast.parse(path.read_text(), filename=str(path))
    return out


def _imports(name: str, tree: ast.Module) -> set[str]:
    found = set()
    package = name if name.count(".") == 0 else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_nothing_outside_commands_imports_a_command():
    """Jobs import the library, never each other: only asva.cli and asva.commands import asva.commands."""
    offenders = []
    for name, tree in _modules().items():
        if name == "asva.cli" or name == "asva.commands" or name.startswith("asva.commands."):
            continue
        found = _imports(name, tree)
        bad = sorted(m for m in found if m == "asva.commands" or m.startswith("asva.commands."))
        offenders += [f"{name} imports {m}" for m in bad]
    assert not offenders, offenders


def test_one_load_model():
    """A single model loader: no two modules define a function named load_model."""
    owners = [name for name, tree in _modules().items()
              if any(isinstance(n, ast.FunctionDef) and n.name == "load_model" for n in ast.walk(tree))]
    assert owners == ["asva.pipelines.loading"], owners


def test_the_library_floors_do_not_import_the_work_above_them():
    """The library (media, data, models, pipelines, metrics, baselines) never imports the jobs above it."""
    lower = ("asva.media", "asva.data", "asva.models", "asva.pipelines", "asva.metrics", "asva.utils",
             "asva.baselines", "asva.presets")
    upper = ("asva.training", "asva.evaluation", "asva.synth", "asva.commands", "asva.cli")
    offenders = [f"{name} imports {m}" for name, tree in _modules().items() if name.startswith(lower)
                 for m in sorted(_imports(name, tree)) if m.startswith(upper)]
    assert not offenders, offenders
