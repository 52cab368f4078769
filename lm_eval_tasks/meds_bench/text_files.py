"""Reading the text files users hand to ``score``, ``compare`` and ``report``: UTF-8 or one clear line."""

from __future__ import annotations

import codecs
from pathlib import Path


class NotUtf8Error(ValueError):
    """A file that is not UTF-8 text (a binary, a Latin-1 CSV); the message names it and what to do."""


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
