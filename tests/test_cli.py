"""The command line (sr_lib.cli): every command module contributes its sub-parser; a user error is
one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sr_lib import cli
from sr_lib.errors import UserError


def test_every_command_module_contributes_a_subcommand():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"evaluate", "train", "data", "run-notebooks"} <= set(sub.choices)


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


def test_other_errors_are_not_swallowed(monkeypatch):
    monkeypatch.setattr(cli, "build_parser", lambda: _Parser(RuntimeError("bug")))
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["anything"])


def test_command_return_value_is_the_exit_code(monkeypatch):
    class P:
        def parse_args(self, argv=None):
            return argparse.Namespace(func=lambda args: None)
    monkeypatch.setattr(cli, "build_parser", lambda: P())
    assert cli.main([]) == 0


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "sr_lib", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage: python -m sr_lib" in out.stdout
