"""The `asva` sub-commands: one thin module each (parser + `main(argv=None) -> int`), reached through
`asva.cli.COMMANDS`. Nothing outside this package and `asva.cli` imports it."""
