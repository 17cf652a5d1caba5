"""Command line: ``python -m sr_lib <command> ...``.

Each command lives in the module that does the work and contributes its own
sub-parser through ``add_cli(subparsers)``; this file only wires them up.
Errors a user can cause (bad path, bad scale, unknown dataset) are reported as
one line on stderr with a non-zero exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command modules, in help order
COMMANDS = [
    "sr_lib.engine.evaluate",    # evaluate
    "sr_lib.engine.train",       # train
    "sr_lib.data.download",      # data download / data list
    "sr_lib.repro.runner",    # run-notebooks
]


from sr_lib.errors import UserError  # noqa: F401  (re-exported: sr_lib.cli.UserError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sr_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:      # command not built yet
                continue
            raise
        mod.add_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, FileNotFoundError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2
