"""asva.commands: one module per `asva` command (parser + `main(argv) -> int`, usage in its docstring).

`asva.cli` dispatches to them; nothing else imports this package (tests/test_layout.py). The work
each command does lives in the library (docs/architecture.md).
"""
