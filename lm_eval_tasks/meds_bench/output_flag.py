"""Where a ``meds-bench`` subcommand writes: ``--output PATH`` on every subcommand, older spellings as aliases.

One spelling, the one users guess first (``meds-bench report RUN --output DIR``). lm-eval's ``--output_path``
is accepted too, so a flag copied from an ``lm_eval`` command line works; ``meds-bench eval`` hands its
flags to lm-eval, whose parser takes ``--output`` as the prefix of ``--output_path``. The spellings of
earlier releases (``--out``, ``--dir``, ``--json``, a positional ``OUT_DIR``) keep working, listed after
``--output`` in the help. The value always lands in ``args.output``.
"""

from __future__ import annotations

import argparse
import sys

OUTPUT_FLAG = "--output"
LM_EVAL_SPELLING = "--output_path"


class _OneOutput(argparse.Action):
    """Stores the path in ``output``; two different paths (say ``OUT_DIR`` and ``--output``) are a usage error."""

    def __call__(self, parser, namespace, values, option_string=None):
        earlier = getattr(namespace, "output", None)
        if earlier not in (None, self.default, values):
            parser.error(f"two output paths given ({earlier}, {values}): give {OUTPUT_FLAG} once")
        namespace.output = values


def add_output_option(
    parser: argparse.ArgumentParser,
    *,
    help: str,
    metavar: str = "PATH",
    old_flags: tuple[str, ...] = (),
    old_positional: bool = False,
    default: str | None = None,
    required: bool = False,
) -> None:
    """Add ``--output`` (also ``--output_path`` and ``old_flags``) to ``parser``; the value goes to ``args.output``.

    ``old_positional`` also accepts the path as an optional positional after the others (the older form
    ``COMMAND IN OUT_DIR``). ``required`` with ``old_positional`` cannot be checked by argparse: the handler
    calls :func:`required_output`.
    """
    parser.add_argument(
        OUTPUT_FLAG,
        LM_EVAL_SPELLING,
        *old_flags,
        dest="output",
        metavar=metavar,
        default=default,
        required=required and not old_positional,
        action=_OneOutput,
        help=help,
    )
    if old_positional:
        parser.add_argument(
            "output_positional",
            nargs="?",
            metavar=metavar,
            default=argparse.SUPPRESS,
            action=_OneOutput,
            help=f"same as {OUTPUT_FLAG} {metavar} (the older spelling)",
        )


def required_output(args: argparse.Namespace, command: str, metavar: str) -> str:
    """``args.output``; when no output was given, one line naming the flag on stderr and exit status 2."""
    if args.output is None:
        print(f"meds-bench {command}: say where to write: {OUTPUT_FLAG} {metavar}", file=sys.stderr)
        raise SystemExit(2)
    return args.output
