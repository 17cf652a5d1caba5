"""The command line (sr_lib.cli): every command module contributes its sub-parser; a user error is
one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sr_lib import cli
from sr_lib.errors import UserError


def _commands(parser) -> dict:
    sub = next(a for a in parser._actions if a.dest == "command")
    return {a.dest: a.help for a in sub._choices_actions}


def test_every_command_module_contributes_a_subcommand():
    parser = cli.build_parser("all")
    assert {"evaluate", "train", "data", "run-notebooks", "report"} <= set(_commands(parser))


def test_the_light_help_lists_what_the_modules_register():
    """`--help` imports no command module: its table (cli.COMMANDS) must say what they register."""
    real = _commands(cli.build_parser("all"))
    assert real == {name: line for name, (_, line) in cli.COMMANDS.items()}
    assert _commands(cli.build_parser()) == real


def test_help_imports_neither_torch_nor_a_command_module():
    code = ("import sys\nfrom sr_lib import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m == 'torch' or m in {mod for mod, _ in cli.COMMANDS.values()}]\n"
            "print('IMPORTED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTED []" in out.stdout
    help_text = out.stdout.split("IMPORTED")[0]
    assert "``" not in help_text and "usage: python -m sr_lib" in help_text      # no raw docstring markup
    for name in cli.COMMANDS:
        assert f"    {name}" in help_text


def test_a_command_loads_only_its_module(monkeypatch):
    loaded = []
    real_import = cli.importlib.import_module
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: loaded.append(name) or real_import(name))
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    assert loaded == ["sr_lib.repro.runner"]


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([])
    assert e.value.code == 2


class _Parser:
    """A parser whose command raises ``exc``: what ``main`` does with it is under test."""

    def __init__(self, exc):
        self.exc = exc

    def parse_args(self, argv=None):
        def fail(args):
            raise self.exc
        return argparse.Namespace(func=fail)


@pytest.mark.parametrize("exc", [UserError("bad scale 'x'"), FileNotFoundError("no such file: a.png"),
                                 ValueError("scale must be positive"), KeyError("unknown dataset 'Foo'")])
def test_user_errors_are_one_line_and_exit_2(exc, monkeypatch, capsys):
    monkeypatch.setattr(cli, "build_parser", lambda: _Parser(exc))
    code = cli.main(["anything"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"error: {exc.args[0]}\n"                            # a KeyError without its quotes


def test_other_errors_are_one_line_exit_1_and_raise_under_sr_debug(monkeypatch, capsys):
    monkeypatch.setattr(cli, "build_parser", lambda: _Parser(RuntimeError("bug\nsecond line")))
    monkeypatch.delenv("SR_DEBUG", raising=False)
    assert cli.main(["anything"]) == 1
    err = capsys.readouterr().err
    assert err == "error: internal error (RuntimeError: bug; second line); rerun with SR_DEBUG=1 for the traceback\n"
    monkeypatch.setenv("SR_DEBUG", "1")
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["anything"])


def test_usage_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--method", "liif", "--seed", "abc"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: ") and "invalid int value: 'abc'" in err and "--help" in err


def test_command_return_value_is_the_exit_code(monkeypatch):
    class P:
        def parse_args(self, argv=None):
            return argparse.Namespace(func=lambda args: None)
    monkeypatch.setattr(cli, "build_parser", lambda: P())
    assert cli.main([]) == 0


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "sr_lib", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage: python -m sr_lib" in out.stdout
