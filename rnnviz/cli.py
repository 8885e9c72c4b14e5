"""The `rnnviz` console script: parses arguments, dispatches to `rnnviz.commands.*`.

Every user error (`RnnvizError`, a missing file, ...) becomes one line on stderr and exit code 2;
only bugs keep a traceback. Subcommand modules import TensorFlow lazily so `rnnviz list` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rnnviz.errors import RnnvizError

# Each module defines `register(subparsers)`, which adds its subcommands with `func=handler`.
COMMAND_MODULES = (
    "rnnviz.commands.models",  # list, build
    "rnnviz.commands.report",  # report, compare, export
    "rnnviz.commands.train",  # train, runs
    "rnnviz.commands.serve",  # serve
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description="See what TensorFlow's static_rnn and dynamic_rnn build, and what each costs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RnnvizError as exc:
        print(f"rnnviz {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnviz {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnviz report X | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
