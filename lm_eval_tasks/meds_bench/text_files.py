"""Reading the text files users hand to ``score``, ``compare`` and ``report``: UTF-8 or one clear line.

Also the one JSON-lines reader (lm-eval samples files, prediction files, task files, MedNLI).
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class NotUtf8Error(ValueError):
    """A file that is not UTF-8 text (a binary, a Latin-1 CSV); the message names it and what to do."""


class NotJsonLineError(ValueError):
    """A line of a JSON-lines file that is not JSON; the message is ``FILE:LINE: not valid JSON (why)``."""


def read_utf8(path: Path) -> str:
    """The text of ``path``, decoded as UTF-8 (a leading byte-order mark, as spreadsheets write, dropped).

    Raises:
        NotUtf8Error: the file is not UTF-8; the message names the file, the line and the first bad byte.
        OSError: the file cannot be read.
    """
    return decode_utf8(path.read_bytes().removeprefix(codecs.BOM_UTF8), path)


def decode_utf8(data: bytes, path: Path, first_line: int = 1) -> str:
    """``data`` (the text of ``path`` from line ``first_line`` on) decoded as UTF-8.

    Raises:
        NotUtf8Error: as :func:`read_utf8`, naming the line of the first bad byte.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + data.count(b"\n", 0, err.start)
        raise NotUtf8Error(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); pass the text file meant, "
            "saved as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE`, or a spreadsheet's 'CSV UTF-8')"
        ) from None


def json_lines(lines: Iterable[str], path: Path | str) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of ``lines`` (the text of the JSON-lines file ``path``) parsed, with its line number.

    Raises:
        NotJsonLineError: a line is not JSON; the message names ``path``, the line and why.
    """
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, json_line(line, path, number)


def json_line(line: str, path: Path | str, number: int) -> Any:
    """Line ``number`` of the JSON-lines file ``path``, parsed.

    Raises:
        NotJsonLineError: the line is not JSON; the message names ``path``, the line and why.
    """
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise NotJsonLineError(f"{path}:{number}: not valid JSON ({err.msg}, column {err.colno})") from None


def read_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """:func:`json_lines` of the UTF-8 file ``path``, read now (universal newlines, as Python's ``open``).

    Raises:
        NotUtf8Error: the file is not UTF-8 (raised by this call).
        NotJsonLineError: a line is not JSON (raised while iterating).
        OSError: the file cannot be read.
    """
    return json_lines(io.StringIO(read_utf8(path), newline=None), path)
