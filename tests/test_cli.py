from asva import cli


def test_help_lists_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_unknown_command_exits_2(capsys):
    assert cli.main(["no-such-command"]) == 2
    assert "unknown command" in capsys.readouterr().err


def _parser_imports(name: str) -> list[str]:
    """Heavy packages imported by `asva NAME --help`, in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import contextlib, io, sys\nfrom asva import cli\n"
            f"with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            f"    cli.main([{name!r}, '--help'])\n"
            "print(','.join(m for m in ('torch', 'diffusers', 'transformers', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [m for m in out.strip().split(",") if m]


def test_help_is_fast_and_every_option_says_its_default():
    """`asva X --help` imports nothing heavy, and every option that has a default shows it."""
    import argparse
    import importlib

    from asva.commands.evaluate import FID_SIZES, METRIC_NAMES
    from asva.evaluation.run import METRICS
    from asva.metrics.inception import ASVA_FID_SIZE, STANDARD_FID_SIZE

    assert METRIC_NAMES.split(",") == list(METRICS) and FID_SIZES == (ASVA_FID_SIZE, STANDARD_FID_SIZE)
    for name in cli.COMMANDS:
        assert _parser_imports(name) == [], name
        parser = importlib.import_module(cli.command_module(name)).build_parser()
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.default is None or action.default is False or argparse.SUPPRESS in (action.default,
                                                                                           action.help):
                continue
            text = formatter._get_help_string(action) if action.option_strings else "positional"
            assert "default" in text or not action.option_strings, f"asva {name} {action.option_strings}"
