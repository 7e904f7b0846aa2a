"""The ``teem`` command (also ``python -m teem``).

    teem --version
    teem --help
    teem COMMAND [ARGS...]        # see COMMANDS below

Sub-commands live in their own modules and are imported only when run, so
``teem --help`` stays fast.  To add one, add an entry to :data:`COMMANDS`; its
module must define ``main(argv: list[str], prog: str) -> int`` that parses
``argv`` (the words after the command name) with its own ``argparse`` parser
built with ``prog=prog``, and returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from teem._version import __version__

__all__ = ["COMMANDS", "main"]

# command name -> (module defining main(argv, prog), one-line help shown by `teem --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "scheduler": ("teem.distributed.cli.scheduler", "start a teem scheduler"),
    "worker": ("teem.distributed.cli.worker", "start workers and connect them to a scheduler"),
    "ssh": ("teem.deploy.ssh_cli", "start a scheduler and workers on hosts over SSH"),
    "top": ("teem.distributed.cli.top", "watch a running cluster from the terminal"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: ``--version``, ``--help`` and the list of commands."""
    parser = argparse.ArgumentParser(
        prog="teem",
        description="teem: parallel Python from a laptop to an HPC cluster, speaking Dask's API.",
    )
    parser.add_argument("--version", action="version", version=f"teem {__version__}")
    if COMMANDS:
        commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                         title="commands")
        for name, (_, help_text) in COMMANDS.items():
            # Only for --help and for rejecting unknown names: a known command's
            # arguments are parsed by its own module (see main()).
            commands.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``teem`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (``--help`` and ``--version`` exit through ``SystemExit``
        as argparse does; with no arguments the help is printed and 0 returned).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        module_name, _ = COMMANDS[argv[0]]
        module = importlib.import_module(module_name)
        return module.main(argv[1:], prog=f"teem {argv[0]}")
    parser = build_parser()
    parser.parse_args(argv)  # --help, --version, or an error for anything else
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
