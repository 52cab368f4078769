"""Command line and YAML -> :class:`MedSInsSFTConfig`, with every mistake reported as one line.

Accepts ``--config FILE`` and ``--config=FILE``. Before TRL's parser runs, the YAML file and the flag names
are checked against the config's fields (a misspelt name gets the closest valid one as a hint); after it, the
config's own value checks run. Any problem ends the program with ``SystemExit("medsins_sft: ...")``, i.e. one
line on stderr and exit status 1, before any data or model is loaded and before anything is written.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medsins_sft.config import MedSInsSFTConfig

PREFIX = "medsins_sft"
EXTRA_YAML_KEYS = {"env"}  # TrlParser sets environment variables from this mapping
EXTRA_FLAGS = {"config", "help", "h"}


def _fail(message: str) -> SystemExit:
    return SystemExit(f"{PREFIX}: {message}")


def field_names() -> dict[str, type | str]:
    """Names accepted in the YAML file and as ``--flags``, with their declared types."""
    return {f.name: f.type for f in dataclasses.fields(MedSInsSFTConfig) if f.init}


def unknown_names(names: Iterable[str], known: Iterable[str], prefix: str = "") -> list[str]:
    """``'lerning_rate' (did you mean 'learning_rate'?)`` for every name not in ``known``, in input order."""
    known = sorted(set(known))
    out = []
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        out.append(f"'{prefix}{name}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else ""))
    return out


def split_config_flag(args: Sequence[str]) -> tuple[list[str], Path | None]:
    """``[... '--config=F' ...]`` or ``[... '--config', 'F' ...]`` -> (the other args, F)."""
    rest: list[str] = []
    path = None
    it = iter(args)
    for arg in it:
        if arg.startswith("--config="):
            path = Path(arg.split("=", 1)[1])
        elif arg == "--config":
            value = next(it, None)
            if value is None:
                raise _fail("--config needs a YAML file (see medsins_sft/configs/)")
            path = Path(value)
        else:
            rest.append(arg)
    return rest, path


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``; missing file, bad YAML or unknown fields are one-line errors."""
    import yaml

    if not path.is_file():
        raise _fail(f"config file {path} not found (see medsins_sft/configs/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise _fail(f"{path}: not valid YAML{where} ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(f"{path}: expected a mapping of field: value, got a {type(data).__name__}")
    unknown = unknown_names([str(k) for k in data], [*field_names(), *EXTRA_YAML_KEYS])
    if unknown:
        raise _fail(f"{path}: unknown field {', '.join(unknown)}; valid fields: python -m medsins_sft.train --help")
    return data


def _flag_names(args: Sequence[str]) -> list[str]:
    return [a[2:].split("=", 1)[0].replace("-", "_") for a in args if a.startswith("--")]


def check_flags(args: Sequence[str]) -> None:
    """Unknown ``--flags`` (bool fields also have ``--no_<name>``) are one-line errors with a hint."""
    fields = field_names()
    known = {*fields, *EXTRA_FLAGS, *(f"no_{n}" for n, t in fields.items() if "bool" in str(t))}
    unknown = unknown_names(_flag_names(args), known, prefix="--")
    if unknown:
        raise _fail(f"unknown option {', '.join(unknown)}; valid options: python -m medsins_sft.train --help")


def parse_config(argv: Sequence[str] | None = None) -> MedSInsSFTConfig:
    """``--config FILE.yaml`` plus CLI overrides (TRL's parser), fully validated."""
    from trl import TrlParser

    args, path = split_config_flag(list(argv) if argv is not None else sys.argv[1:])
    if path is not None:
        read_yaml(path)
    check_flags(args)
    parser = TrlParser((MedSInsSFTConfig,))

    def argparse_error(message: str) -> None:  # argparse would print the whole usage before the message
        raise _fail(f"{message} (see python -m medsins_sft.train --help)")

    parser.error = argparse_error  # type: ignore[method-assign]
    source = str(path) if path is not None else "command line"
    try:
        (config,) = parser.parse_args_and_config([*args, *(["--config", str(path)] if path else [])])
    except ValueError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _fail(f"invalid config ({source}): {first}") from None
    return config
