"""The `asva` sub-commands: one thin module each (parser + `main(argv=None) -> int`).

Only `asva.cli` imports these; what two commands share lives in the library.
"""
