"""Persistent response cache shared by every API adapter.

One SQLite file in WAL mode. Each answer is committed on its own as soon as it arrives, so an
interrupted run (Ctrl-C, ``kill``) keeps every answer it received, and concurrent threads or
processes can read and write the same file. Only successful answers are stored: failures are
never cached, so a rerun resends exactly what failed.

A batch answer is stored flagged ``batch_unreported`` until a run's results carry its cost
(:meth:`ResponseCache.mark_reported`): the provider billed it, so a rerun after the collecting process
died charges it instead of reading it as a free cache hit.

The key is the SHA-256 of the canonical JSON of the provider, the endpoint and the complete
request body (model, messages, system prompt, token limit, temperature, stop sequences, ...):
anything that can change the answer changes the key. API keys are never part of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ENV = "MEDS_BENCH_API_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/meds_bench/api")

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    created REAL NOT NULL,
    thinking TEXT NOT NULL DEFAULT '',
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    batch_unreported INTEGER NOT NULL DEFAULT 0
)
"""
# Columns added after the first release: a cache file written before them gains them on open.
ADDED_COLUMNS = {
    "thinking": "TEXT NOT NULL DEFAULT ''",
    "reasoning_tokens": "INTEGER NOT NULL DEFAULT 0",
    "batch_unreported": "INTEGER NOT NULL DEFAULT 0",
}


def resolve_cache_dir(given: str | Path | None = None) -> Path:
    """The cache directory: ``given`` (model arg ``cache_dir``, ``--cache``), else ``$MEDS_BENCH_API_CACHE``,
    else ``~/.cache/meds_bench/api``; the one resolver for the adapters and ``meds-bench batches``."""
    return Path(given or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


def request_key(provider: str, endpoint: str | None, body: dict[str, Any]) -> str:
    """Cache key of one request: hash of provider, endpoint and the full request body."""
    canonical = json.dumps(
        {"provider": provider, "endpoint": (endpoint or "").rstrip("/"), "body": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer, its thinking, the tokens it cost when it was first received, and whether it is a
    batch answer whose cost no run has reported yet."""

    text: str
    input_tokens: int
    output_tokens: int
    thinking: str = ""
    reasoning_tokens: int = 0
    batch_unreported: bool = False


class ResponseCache:
    """Thread-safe, process-safe key -> answer store (``<directory>/responses.sqlite``)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory).expanduser() / "responses.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(SCHEMA)
        present = {row[1] for row in self._conn.execute("PRAGMA table_info(responses)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in present:
                self._conn.execute(f"ALTER TABLE responses ADD COLUMN {name} {kind}")

    def get(self, key: str) -> CachedAnswer | None:
        """The stored answer for ``key``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT text, input_tokens, output_tokens, thinking, reasoning_tokens, batch_unreported "
                "FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
        return CachedAnswer(*row[:5], bool(row[5])) if row else None

    def put(self, key: str, provider: str, model: str, answer: CachedAnswer) -> None:
        """Store one answer and commit it immediately."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, provider, model, text, input_tokens, output_tokens, created, "
                "thinking, reasoning_tokens, batch_unreported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    provider,
                    model,
                    answer.text,
                    answer.input_tokens,
                    answer.output_tokens,
                    time.time(),
                    answer.thinking,
                    answer.reasoning_tokens,
                    int(answer.batch_unreported),
                ),  # fmt: skip
            )

    def mark_reported(self, keys: Iterable[str]) -> None:
        """Clear ``batch_unreported`` of ``keys``: a run's results now carry their cost."""
        with self._lock:
            self._conn.executemany("UPDATE responses SET batch_unreported = 0 WHERE key = ?", [(k,) for k in keys])

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
