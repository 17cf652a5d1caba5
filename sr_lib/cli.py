"""Command line: ``python -m sr_lib <command> ...``.

Each command lives in the module that does the work and contributes its own
sub-parser through ``add_cli(subparsers)``; this file only wires them up.
``COMMANDS`` names, for every command, that module and the one line ``--help``
shows, so ``python -m sr_lib --help`` imports none of them (no torch: it answers
at once); ``python -m sr_lib <command> ...`` imports only the command's module.
Errors a user can cause (bad path, bad scale, unknown dataset, an unusable file, a
disk that is full or read-only) are reported as one line on stderr, ``error: ...``, with
exit code 2; so are usage errors (argparse's usage block is replaced by one line that
names ``--help``). Warnings are one line each, ``warning: ...``. Anything else is a bug:
one line ``error: internal error ...`` and exit code 1, or the traceback with ``SR_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from sr_lib.errors import UserError  # noqa: F401  (re-exported: sr_lib.cli.UserError)

DESCRIPTION = """sr_lib: arbitrary-scale image super-resolution (LIIF, MetaSR, LTE, IPE-LIIF, CiaoSR,
EQSR and their baselines), and the papers' tables regenerated on this machine."""

# command -> (module whose add_cli builds its sub-parser, the line --help shows); in help order.
# tests/test_cli.py checks these lines against what the modules register.
COMMANDS = {
    "demo": ("sr_lib.repro.demo", "super-resolve an image with the shipped cpu weights"),
    "evaluate": ("sr_lib.engine.evaluate", "PSNR/SSIM of a method on a dataset under a paper's protocol"),
    "train": ("sr_lib.engine.train", "train a method (or reuse its cached run)"),
    "data": ("sr_lib.data.download", "list or download datasets and official checkpoints"),
    "run-notebooks": ("sr_lib.repro.runner", "run the notebook series headless (papermill) and write the report"),
    "sync-notebooks": ("sr_lib.repro.runner", "rewrite notebooks/*.ipynb (no outputs) from their py:percent sources"),
    "report": ("sr_lib.repro.runner", "rebuild results/<profile>/REPORT.md and REPORT.html from the results"),
    "train-plan": ("sr_lib.repro.plan", "list or train the table notebooks' training runs"),
}

EPILOG = """examples:
  python -m sr_lib demo photo.png --scale 3.3
  python -m sr_lib data list
  python -m sr_lib evaluate --method bicubic --dataset Set5 --scale 2 --protocol liif
  python -m sr_lib train --method liif --backbone edsr-baseline --profile smoke
  python -m sr_lib run-notebooks --profile cpu --only 00 10

'python -m sr_lib <command> --help' describes one command."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Description and examples as written; command names and their help on one line."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=24, width=100)
        self._action_max_length = 20      # argparse measures the command names without their indent


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors as one ``error:`` line (exit code 2)."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {_one_line(message)} (see {self.prog} --help)\n")


def _one_line(msg) -> str:
    return "; ".join(part.strip() for part in str(msg).strip().splitlines() if part.strip())


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {_one_line(message)}\n"


def _command_modules(load) -> list[str]:
    if load == "all":
        return list(dict.fromkeys(module for module, _ in COMMANDS.values()))
    return [load] if load else []


def build_parser(load: str | None = None) -> argparse.ArgumentParser:
    """The parser. ``load=None``: every command of ``COMMANDS`` as a stub (its help line only,
    nothing imported), enough for ``--help`` and usage errors; ``load=<module>``: that module's
    real sub-parsers; ``load="all"``: every command module's."""
    parser = OneLineParser(prog="python -m sr_lib", description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    if load is None:
        for name, (_, line) in COMMANDS.items():
            sub.add_parser(name, help=line)
        return parser
    for name in _command_modules(load):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:      # command not built yet
                continue
            raise
        mod.add_cli(sub)
    return parser


def _command(argv) -> str | None:
    """The command word of ``argv`` (its first word that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    cmd = _command(argv)
    parser = build_parser(COMMANDS[cmd][0]) if cmd in COMMANDS else build_parser()
    args = parser.parse_args(argv)
    debug = bool(os.environ.get("SR_DEBUG"))
    shown = warnings.formatwarning
    if not debug:
        warnings.formatwarning = _warning_line
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:         # the reader went away (``... | head``): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())       # no second error when Python flushes stdout at exit
        return 0
    except (UserError, OSError, ValueError, KeyError) as e:
        if debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {_one_line(msg) or type(e).__name__}", file=sys.stderr)
        return 2
    except MemoryError:
        if debug:
            raise
        print("error: not enough memory for this request (try a smaller image, scale or --limit)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:          # a bug: one line, the traceback with SR_DEBUG=1
        if debug:
            raise
        if type(e).__name__ == "OutOfMemoryError":      # torch.OutOfMemoryError (GPU)
            print(f"error: out of device memory: {_one_line(e)[:300]}", file=sys.stderr)
            return 2
        print(f"error: internal error ({type(e).__name__}: {_one_line(e)[:300]}); "
              "rerun with SR_DEBUG=1 for the traceback", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = shown
