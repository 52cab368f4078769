"""Batch mode of the API adapters (``batch=true``): the same requests at the providers' batch rates.

The shared layer; each provider speaks its own batch interface through the batch hooks of
:class:`.contract.Provider` (``batch_line``, ``batch_submit``, ``batch_status``, ``batch_results``,
``batch_cancel``), within its ``batch_limits``.

Built on the dispatcher's public methods (:mod:`.dispatch`), which settle, budget, cache, bill and
classify every request alike; this module only moves requests to the provider and back.

Contract of :func:`run_batches` (called by ``generate_until`` with the distinct requests of a run):
- refused and cached requests are settled as in a synchronous run; nothing else is sent one by one;
- a request that sits in a recorded batch of this cache directory that has not been collected is never
  submitted again: that batch is polled and collected (the resume after kill -9, Ctrl-C or a crash); its
  items' batch worst case is held against ``max_cost_usd`` at once (the money is committed), and their
  answers are recorded as spent by an earlier process;
- the rest is budgeted at its batch worst case (``max_cost_usd``) and submitted in batches cut to the
  provider's limits; each batch id and the request keys it carries are written to ``batches.json`` in
  the cache directory as soon as the provider returns the id, before any waiting;
- batches are polled with backoff (``batch_poll`` seconds, doubling to 60 s) under a progress bar;
  answers go to the response cache and the ledger at the batch rates;
- errored and expired items are never answers: those worth retrying go to a follow-up batch (at most
  ``max_retries`` rounds) or, with ``batch_fallback=sync``, through the synchronous path and its retries;
  the others (permanent errors, items of a cancelled batch), and whatever is left, are recorded as
  failed like a synchronous failure;
- answers of a collected batch that this run did not ask for are cached as not yet reported: the run
  that asks for them is charged their cost (see :meth:`.dispatch.Dispatcher.settle_unsent`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .args import BatchSettings
from .contract import Provider
from .dispatch import Dispatcher
from .errors import BatchModeError
from .retry import RequestFailed, call_with_retries
from .values import BatchStatus, ItemFailed, Outcome, Prepared

STATE_FILE = "batches.json"
MAX_POLL_S = 60.0


class BatchState:
    """The batches recorded in one cache directory (``batches.json``), rewritten atomically under a lock.

    Each record: ``id``, ``provider``, ``model``, ``endpoint``, ``keys`` (the cache keys, which are also
    the ``custom_id`` of each item), ``created`` (epoch seconds) and ``state``: ``submitted`` until its
    results are stored, then ``collected``; ``cancelled`` after ``meds-bench batches cancel``.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / STATE_FILE

    def records(self) -> list[dict[str, Any]]:
        """Every recorded batch, oldest first."""
        if not self.path.exists():
            return []
        try:
            return list(json.loads(self.path.read_text(encoding="utf-8"))["batches"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise BatchModeError(f"meds-bench: {self.path} is not a batch state file ({err}): move it away") from err

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / (STATE_FILE + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self.records()
            yield records
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({"batches": records}, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)

    def add(self, record: dict[str, Any]) -> None:
        with self._locked() as records:
            records.append(record)

    def set_state(self, batch_id: str, state: str) -> None:
        with self._locked() as records:
            for record in records:
                if record["id"] == batch_id:
                    record["state"] = state


def run_batches(
    dispatcher: Dispatcher, settings: BatchSettings, cache_dir: Path, unique: dict[str, Prepared], quiet: bool
) -> dict[str, Outcome]:
    """The outcome of each distinct request of a ``batch=true`` run; see the module docstring."""
    stop = threading.Event()
    outcomes: dict[str, Outcome] = {}
    todo: dict[str, Prepared] = {}
    for key, item in unique.items():
        settled = dispatcher.settle_unsent(item)  # refused or cached: nothing is sent
        if settled is not None:
            outcomes[key] = settled
        else:
            todo[key] = item
    runner = _Runner(dispatcher, settings, BatchState(cache_dir), outcomes, stop, quiet)
    try:
        if todo:
            dispatcher.provider.client()
            runner.run(todo)
    except KeyboardInterrupt:
        print(
            f"[{dispatcher.label}] interrupted: the submitted batches go on at the provider; rerun the same "
            f"command to collect them, or cancel them with `meds-bench batches cancel --cache {cache_dir}`",
            file=sys.stderr,
        )
        raise
    finally:
        dispatcher.summarise()
    return outcomes


class _Runner:
    """One ``batch=true`` call: submission, polling, collection and follow-ups."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: BatchSettings,
        state: BatchState,
        outcomes: dict[str, Outcome],
        stop: threading.Event,
        quiet: bool,
    ) -> None:
        self.dispatcher = dispatcher
        self.provider: Provider = dispatcher.provider
        self.settings = settings
        self.state = state
        self.outcomes = outcomes
        self.stop = stop
        self.quiet = quiet
        self.tag = f"[{dispatcher.label}]"
        self.endpoint = dispatcher.base_url or ""
        self.reserved: dict[str, float] = {}  # batch id -> budget reserved for its items
        self.resumed: set[str] = set()  # ids of the batches an earlier process submitted

    def run(self, todo: dict[str, Prepared]) -> None:
        d = self.dispatcher
        live = self._recorded(todo)
        pending, rounds = dict(todo), 0
        while pending:
            carried = {key for record in live for key in record["keys"]}
            live += self._submit({key: item for key, item in pending.items() if key not in carried})
            retry = self._wait(live, pending)
            live = []
            if not retry:
                return
            rounds += 1
            if self.settings.fallback == "sync":
                print(f"{self.tag} {len(retry)} batch item(s) unanswered: sending them one by one", file=sys.stderr)
                items = [item for item, _ in retry.values()]
                with ThreadPoolExecutor(max_workers=d.num_concurrent) as pool:
                    for item, outcome in zip(items, pool.map(lambda i: d.answer(i, self.stop), items), strict=True):
                        self.outcomes[item.key] = outcome
                return
            if rounds > d.policy.max_retries:
                for item, error in retry.values():
                    self._fail(item, f"batch item {error.kind} after {rounds} batches: {error.message}")
                return
            for item, _ in retry.values():
                d.ledger.record_retry(item.task)
            print(f"{self.tag} {len(retry)} batch item(s) errored or expired: follow-up batch", file=sys.stderr)
            pending = {key: item for key, (item, _) in retry.items()}

    def _recorded(self, todo: dict[str, Prepared]) -> list[dict[str, Any]]:
        """Uncollected batches of this provider, model and endpoint that carry requests of ``todo``."""
        d = self.dispatcher
        live = [
            record
            for record in self.state.records()
            if record["state"] == "submitted"
            and (record["provider"], record["model"], record["endpoint"])
            == (self.provider.provider, d.model, self.endpoint)
            and not todo.keys().isdisjoint(record["keys"])
        ]
        for record in live:
            committed = sum(d.worst_case_usd(todo[key], batch=True) for key in record["keys"] if key in todo)
            d.ledger.hold(committed)  # already at the provider: it counts against max_cost_usd
            self.reserved[record["id"]] = committed
            self.resumed.add(record["id"])
            print(
                f"{self.tag} resuming batch {record['id']} ({len(record['keys'])} requests, up to ${committed:.4f})",
                file=sys.stderr,
            )
        return live

    def _fail(self, item: Prepared, why: str | ItemFailed) -> None:
        self.outcomes[item.key] = self.dispatcher.record_failure(item, why)

    def _submit(self, items: dict[str, Prepared]) -> list[dict[str, Any]]:
        """Budget ``items`` at the batch rates, cut them to the provider's limits, submit and record them."""
        d, chunks, sizes = self.dispatcher, [], []
        max_requests, max_bytes = self.provider.batch_limits
        for key, item in items.items():
            worst = d.worst_case_usd(item, batch=True)
            refused = d.admit(item, worst, self.stop)
            if refused is not None:
                self.outcomes[key] = refused
                continue
            line = self.provider.batch_line(key, item.body)
            size = len(json.dumps(line, ensure_ascii=False).encode()) + 1
            if not chunks or len(chunks[-1][0]) >= max_requests or sizes[-1] + size > max_bytes:
                chunks.append(([], []))
                sizes.append(0)
            chunks[-1][0].append(line)
            chunks[-1][1].append((item, worst))
            sizes[-1] += size
        records = []
        for lines, carried in chunks:
            try:
                batch_id = self._poll(lambda lines=lines: self.provider.batch_submit(lines))
            except RequestFailed as err:
                if getattr(err.__cause__, "status_code", None) == 404:
                    raise BatchModeError(f"meds-bench: batch=true: {self._no_endpoint(err.__cause__)}") from err
                for item, worst in carried:
                    d.ledger.release(worst)
                    self._fail(item, f"batch not submitted: {err}")
                continue
            record = {
                "id": batch_id,
                "provider": self.provider.provider,
                "model": d.model,
                "endpoint": self.endpoint,
                "keys": [line_item.key for line_item, _ in carried],
                "created": time.time(),
                "state": "submitted",
            }
            self.state.add(record)  # before any waiting: a rerun resumes it instead of paying twice
            self.reserved[batch_id] = sum(worst for _, worst in carried)
            print(f"{self.tag} submitted batch {batch_id} ({len(lines)} requests)", file=sys.stderr)
            records.append(record)
        return records

    def _no_endpoint(self, err: BaseException) -> str:
        request = getattr(err, "request", None)
        route = str(request.url) if request is not None else "the batch route"
        return f"{route} answered 404: this server has no batch interface; run without batch=true"

    def _poll(self, fn: Callable[[], Any]) -> Any:
        """``fn`` under the retry policy (``self.stop`` is the budget's: it must not cut these retries short)."""
        return call_with_retries(fn, self.dispatcher.policy)

    def _wait(self, live: list[dict[str, Any]], pending: dict[str, Prepared]) -> dict[str, tuple[Prepared, ItemFailed]]:
        """Poll ``live`` until each has ended, collecting each as it ends; the items to retry."""
        retry: dict[str, tuple[Prepared, ItemFailed]] = {}
        if not live:
            return retry
        bar = self.dispatcher.progress_bar(sum(len(r["keys"]) for r in live), f"{self.tag[1:-1]} batch", self.quiet)
        ended: dict[str, BatchStatus] = {}
        delay, open_ = self.settings.poll_s, list(live)
        try:
            while open_:
                running: list[BatchStatus] = []
                for record in list(open_):
                    try:
                        status = self._poll(lambda record=record: self.provider.batch_status(record["id"]))
                    except RequestFailed as err:
                        open_.remove(record)
                        for key in record["keys"]:
                            if key in pending and key not in self.outcomes:
                                self._fail(pending[key], f"batch {record['id']} not polled ({err}): rerun to resume")
                        continue
                    if status.ended:
                        retry.update(self._collect(record, pending))
                        ended[record["id"]] = status
                        open_.remove(record)
                    else:
                        running.append(status)
                counts = [*ended.values(), *running]
                bar.n = sum(s.succeeded + s.errored + s.expired for s in counts)
                bar.set_postfix_str(
                    f"succeeded={sum(s.succeeded for s in counts)} errored={sum(s.errored for s in counts)} "
                    f"expired={sum(s.expired for s in counts)} processing={sum(s.processing for s in running)} "
                    f"${self.dispatcher.ledger.spent:.4f}",
                    refresh=True,
                )
                if open_:
                    time.sleep(delay)
                    delay = min(delay * 2, max(self.settings.poll_s, MAX_POLL_S))
        finally:
            bar.close()
        return retry

    def _collect(self, record: dict[str, Any], pending: dict[str, Prepared]) -> dict[str, tuple[Prepared, ItemFailed]]:
        """Store the answers of an ended batch; the items of this run it left unanswered and worth retrying."""
        d, retry, seen = self.dispatcher, {}, set()
        bodies = {key: pending[key].body for key in record["keys"] if key in pending}
        try:
            results = list(self._poll(lambda: list(self.provider.batch_results(record["id"], bodies))))
        except RequestFailed as err:
            results = [(key, ItemFailed("errored", f"results not read: {err}", True)) for key in bodies]
        for key, result in results:
            seen.add(key)
            item = pending.get(key)
            if item is None or key in self.outcomes:  # not asked for by this run: keep a good answer anyway
                if not isinstance(result, ItemFailed):
                    d.keep_unasked(key, result)
                continue
            if isinstance(result, ItemFailed):
                if result.retryable:
                    retry[key] = (item, result)
                else:
                    self._fail(item, result)
                continue
            answer = replace(result, batch=True, earlier=record["id"] in self.resumed)
            self.outcomes[key] = d.record_answer(item, answer)
        for key in bodies.keys() - seen:
            if key not in self.outcomes:
                retry[key] = (pending[key], ItemFailed("errored", "no result returned for this item", True))
        d.ledger.release(self.reserved.pop(record["id"], 0.0))
        self.state.set_state(record["id"], "collected")
        return retry
