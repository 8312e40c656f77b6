"""asva.commands: one thin module per CLI command (parser + `main(argv=None) -> int`); see asva.cli."""
