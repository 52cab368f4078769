"""``meds-bench batches [list|cancel] [--cache DIR]``: the API batches recorded in a response-cache directory.

``list`` prints each recorded batch (id, provider, model, requests, when, recorded state) and, where the
provider's key is set, the provider's own count of its items; ``cancel`` asks the provider to stop the
batches still running (all of them, or the ids given) and records them as cancelled, so that a rerun
submits their unanswered requests afresh instead of waiting for them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def _cache_dir(arg: str | None) -> Path:
    from meds_bench_adapters.cache import resolve_cache_dir

    return resolve_cache_dir(arg)


def _adapter(record: dict[str, Any], cache: Path) -> Any:
    """The adapter that submitted ``record`` (raises OSError when its API key is not set)."""
    import meds_bench_adapters as adapters

    cls = {"openai": adapters.OpenAIChatLM, "anthropic": adapters.AnthropicMessagesLM}[record["provider"]]
    return cls(model=record["model"], base_url=record["endpoint"] or None, cache_dir=str(cache), progress=False)


def _live(record: dict[str, Any], cache: Path) -> str:
    try:
        status = _adapter(record, cache).batch_status(record["id"])
    except OSError as err:
        return f"(live status: {err})"
    except Exception as err:  # noqa: BLE001 - one line per batch, whatever the SDK raised
        return f"(live status unavailable: {type(err).__name__}: {str(err)[:120]})"
    ended = "ended" if status.ended else "running"
    return (
        f"{ended}: succeeded={status.succeeded} errored={status.errored} expired={status.expired} "
        f"processing={status.processing}"
    )


def _cmd_batches(args: argparse.Namespace) -> int:
    from meds_bench_adapters.batch import BatchState

    cache = _cache_dir(args.cache)
    state = BatchState(cache)
    records = state.records()
    if args.action == "list":
        if not records:
            print(f"no batches recorded in {cache}")
        for record in records:
            created = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(record["created"]))
            live = _live(record, cache) if record["state"] == "submitted" else ""
            print(
                f"{record['id']}  {record['provider']}:{record['model']}  {len(record['keys'])} requests  "
                f"{created}  {record['state']}  {live}".rstrip()
            )
        return 0
    wanted = set(args.ids)
    unknown = wanted - {r["id"] for r in records}
    if unknown:
        print(f"meds-bench: no batch {', '.join(sorted(unknown))} recorded in {cache}: see `meds-bench batches list`")
        return 2
    targets = [r for r in records if r["state"] == "submitted" and (not wanted or r["id"] in wanted)]
    for record in targets:
        try:
            _adapter(record, cache).batch_cancel(record["id"])
        except Exception as err:  # noqa: BLE001 - reported, the others are still cancelled
            print(f"meds-bench: batch {record['id']} not cancelled: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
        state.set_state(record["id"], "cancelled")
        print(f"cancelled {record['id']} ({record['provider']}:{record['model']}, {len(record['keys'])} requests)")
    if not targets:
        print(f"no running batch to cancel in {cache}")
    return 0


def add_batches_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``batches`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser("batches", help="list or cancel the API batches of a response cache (batch=true runs)")
    p.add_argument("action", nargs="?", choices=("list", "cancel"), default="list")
    p.add_argument("ids", nargs="*", metavar="BATCH_ID", help="cancel only these (default: every running batch)")
    p.add_argument("--cache", help="the cache_dir of the runs (default: $MEDS_BENCH_API_CACHE, else ~/.cache/...)")
    p.set_defaults(func=_cmd_batches)
