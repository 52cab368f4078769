"""The dispatcher: settles each distinct request of a run once, and keeps the books.

One path for every request, sent synchronously or through a batch:
- :meth:`Dispatcher.settle_unsent` answers what needs no sending (refused, cached);
- :meth:`Dispatcher.admit` reserves a request's worst case against ``max_cost_usd`` (or says why not);
- :meth:`Dispatcher.adapt` decides, inside the one retry loop (:func:`.retry.call_with_retries`), whether a
  failed attempt changed the request form (the provider's form rule, or a rejected field dropped);
- :meth:`Dispatcher.record_answer` caches and bills an answer; :meth:`Dispatcher.record_failure`
  classifies and records any failure (a request error, a stopped retry, a batch item's error);
- :meth:`Dispatcher.settle` runs the synchronous path: a thread pool, the retry loop, a progress bar;
- :meth:`Dispatcher.summarise` prints the closing line and adds the unanswered to the failure tally.

The batch transport (:mod:`.batch`) is built on these public methods.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from tqdm import tqdm

from meds_bench.api_status import UNANSWERED

from .cache import CachedAnswer, ResponseCache
from .contract import Provider
from .cost import Ledger, Price
from .errors import RunStopped
from .guard import redact
from .probe import check_reachable
from .retry import RequestFailed, RetryPolicy, Stopped, call_with_retries, provider_message
from .tally import FailureTally
from .values import Answer, ItemFailed, Outcome, Prepared, Status

log = logging.getLogger(__name__)

# Statuses of a request that fails for every request of the run alike: retrying or rerunning cannot help.
PERMANENT_STATUS = frozenset({400, 401, 403, 404})
# Fields a 400 answer may never remove: without them there is no request.
KEPT_FIELDS = frozenset({"model", "messages", "max_tokens"})


def asks_structure(field: str, body: dict[str, Any]) -> bool:
    """Whether ``field`` of ``body`` carries the requested reply schema (OpenAI's ``response_format``, Anthropic's
    ``output_config.format``): a 400 naming it stops the run (the caller chose structured output), never drops it."""
    value = body.get(field)
    return field == "response_format" or (isinstance(value, dict) and "format" in value)


NOT_SENT_BUDGET = "not sent: max_cost_usd reached"


class RemovedFields:
    """Body fields a provider's 400 answer removed for the rest of the run, with the provider's message."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fields: dict[str, str] = {}

    def strip(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` less the removed fields."""
        return {k: v for k, v in body.items() if k not in self._fields} if self._fields else body

    def add(self, field: str, message: str) -> bool:
        """Remove ``field`` from now on; whether it was the first time."""
        with self._lock:
            first = field not in self._fields
            self._fields[field] = message[:300]
        return first

    def as_dict(self) -> dict[str, str]:
        with self._lock:
            return dict(self._fields)


class Dispatcher:
    """The requests of one adapter instance: sending, budget, cache read-through, billing and summary."""

    def __init__(
        self,
        provider: Provider,
        model: str,
        *,
        cache: ResponseCache,
        ledger: Ledger,
        price: Price | None,
        policy: RetryPolicy,
        base_url: str | None,
        timeout: float,
        num_concurrent: int,
        progress: bool,
        secret: str,
        tally: FailureTally,
    ) -> None:
        self.provider = provider
        self.model = model
        self.label = f"{provider.provider}:{model}"
        self.cache = cache
        self.ledger = ledger
        self.price = price
        self.policy = policy
        self.base_url = base_url
        self.timeout = timeout
        self.num_concurrent = num_concurrent
        self.progress = progress
        self.removed = RemovedFields()
        self.batch_keys: set[str] = set()  # batch answers this ledger charged: reported with the results
        self.fatal: str | None = None  # why the run must stop
        self._secret = secret
        self._tally = tally
        self._reported: dict[str, dict[str, int]] = {}  # per task: the counts already added to the tally

    # --- one request ------------------------------------------------------------------------------

    def worst_case_usd(self, item: Prepared, batch: bool = False) -> float:
        """What ``item`` may cost: its counted prompt and its full output limit."""
        limit = self.provider.output_limit(item.gen)
        return self.price.cost(item.prompt_tokens, limit, batch=batch) if self.price else 0.0

    def settle_unsent(self, item: Prepared) -> Outcome | None:
        """The outcome of a request that needs no sending (refused, or in the cache), else None."""
        if item.error is not None:
            self.ledger.record_failure(item.task, item.doc_id, item.error)
            log.warning("%s request not sent (%s): %s", self.provider.provider, item.task, item.error)
            return Outcome("", Status.FAILED, item.error)
        cached = self.cache.get(item.key)
        if cached is None:
            return None
        if cached.batch_unreported:  # collected by a process whose results never came
            self.ledger.record_answer(
                item.task, item.doc_id, cached.input_tokens, cached.output_tokens, False, cached.reasoning_tokens,
                batch=True, earlier=True,
            )  # fmt: skip
            self.batch_keys.add(item.key)
            return Outcome(cached.text, Status.DONE, thinking=cached.thinking)
        self.ledger.record_answer(item.task, item.doc_id, cached.input_tokens, cached.output_tokens, cached=True)
        return Outcome(cached.text, Status.CACHED, thinking=cached.thinking)

    def admit(self, item: Prepared, worst: float, stop: threading.Event) -> Outcome | None:
        """Reserve ``worst`` dollars for ``item``; the outcome of a request that may not be sent, else None."""
        if stop.is_set():
            why = "not sent: the run stopped" if self.fatal else "not sent: budget reached"
            self.ledger.record_failure(item.task, item.doc_id, why, budget=not self.fatal)
            return Outcome("", Status.FAILED if self.fatal else Status.SKIPPED_BUDGET, why)
        if not self.ledger.reserve(worst):
            stop.set()
            self.ledger.record_failure(item.task, item.doc_id, NOT_SENT_BUDGET, budget=True)
            return Outcome("", Status.SKIPPED_BUDGET, NOT_SENT_BUDGET)
        return None

    def adapt(self, err: BaseException, body: dict[str, Any]) -> bool:
        """Whether the request form changed for the run after ``err`` answered ``body``, so that the
        request is worth sending again at once: the provider's own form rule (:meth:`Provider.adapt_form`),
        else a field a 400 answer names as not accepted, dropped for the rest of the run."""
        if self.provider.adapt_form(err, body):
            return True
        field = self.provider.rejected_parameter(err)
        if field is None or field not in body or field in KEPT_FIELDS or asks_structure(field, body):
            return False
        if self.removed.add(field, provider_message(err)):
            log.warning("%s rejects %r: it is no longer sent in this run", self.model, field)
        return True

    def answer(self, item: Prepared, stop: threading.Event) -> Outcome:
        """The outcome of one distinct request sent synchronously (with retries): status ``cached``,
        ``done``, ``output_limit``, ``failed`` or ``skipped_budget``."""
        settled = self.settle_unsent(item)
        if settled is not None:
            return settled
        worst = self.worst_case_usd(item)
        refused = self.admit(item, worst, stop)
        if refused is not None:
            return refused
        try:
            answer = call_with_retries(
                _Attempt(self, item), self.policy, stop, on_retry=lambda _msg: self.ledger.record_retry(item.task)
            )
        except (RequestFailed, Stopped) as err:
            return self.record_failure(item, err, stop)
        finally:
            self.ledger.release(worst)
        return self.record_answer(item, answer)

    def record_answer(self, item: Prepared, answer: Answer) -> Outcome:
        """Store a received answer (cache and ledger) and return its outcome; a reply without answer
        text because the output allowance was used up is recorded as unanswered and not cached."""
        if answer.output_limit:
            message = (
                f"no answer text: the output limit of {self.provider.output_limit(item.gen)} tokens was used up "
                "by thinking; raise reasoning_tokens or lower reasoning_effort"
            )
            self.ledger.record_output_limit(
                item.task, item.doc_id, message, answer.input_tokens, answer.output_tokens, answer.reasoning_tokens,
                batch=answer.batch, earlier=answer.earlier,
            )  # fmt: skip
            return Outcome("", Status.OUTPUT_LIMIT, message, answer.thinking)
        cached = CachedAnswer(answer.text, answer.input_tokens, answer.output_tokens, answer.thinking,
                              answer.reasoning_tokens, batch_unreported=answer.batch)  # fmt: skip
        self.cache.put(item.key, self.provider.provider, self.model, cached)
        self.ledger.record_answer(
            item.task, item.doc_id, answer.input_tokens, answer.output_tokens, False, answer.reasoning_tokens,
            batch=answer.batch, earlier=answer.earlier,
        )  # fmt: skip
        if answer.batch:
            self.batch_keys.add(item.key)
        return Outcome(answer.text, Status.DONE, thinking=answer.thinking)

    def keep_unasked(self, key: str, answer: Answer) -> None:
        """Cache an answer of a collected batch that this run did not ask for, as not yet reported:
        whichever run asks for it is charged its cost."""
        if answer.output_limit or self.cache.get(key) is not None:
            return
        cached = CachedAnswer(answer.text, answer.input_tokens, answer.output_tokens, answer.thinking,
                              answer.reasoning_tokens, batch_unreported=True)  # fmt: skip
        self.cache.put(key, self.provider.provider, self.model, cached)

    def record_failure(
        self, item: Prepared, err: RequestFailed | Stopped | ItemFailed | str, stop: threading.Event | None = None
    ) -> Outcome:
        """Record that ``item`` got no answer and why; a failure no rerun can fix (see
        :meth:`stop_reason`) stops the run through ``stop``."""
        if isinstance(err, ItemFailed):
            message = f"batch item {err.kind}: {err.message}"
        else:
            message = redact(str(err), [self._secret])
        if isinstance(err, RequestFailed) and stop is not None:
            reason = self.stop_reason(err)
            if reason is not None and self.fatal is None:
                self.fatal = reason
                stop.set()
        self.ledger.record_failure(item.task, item.doc_id, message)
        if isinstance(err, RequestFailed | Stopped):
            log.warning("%s request failed (%s): %s", self.provider.provider, item.task, message)
        return Outcome("", Status.FAILED, message)

    def stop_reason(self, err: RequestFailed) -> str | None:
        """Why ``err`` must stop the run (None when only this request is affected)."""
        if err.status not in PERMANENT_STATUS:
            return None
        message = redact(err.message, [self._secret])
        if err.status == 400 and any(word in message.lower() for word in ("context", "too long")):
            return None  # this prompt only
        name = f"{self.provider.provider} model {self.model}"
        if err.status == 404:
            return f"{name} was not found: it is retired or unknown to the provider ({message}); choose a current model"
        if err.status in (401, 403):
            return (
                f"{name}: the provider refused the credentials ({message}); check {self.provider.key_env} and its "
                "access"
            )
        return f"{name} rejects the request form ({message}); see the model-family table in docs/api-models.md"

    # --- a run ------------------------------------------------------------------------------------

    def check_reachable(self) -> None:
        """Build the client once and refuse to start when nothing answers at its endpoint (see :mod:`.probe`)."""
        url = str(getattr(self.provider.client(), "base_url", "") or self.base_url or "")
        check_reachable(url, self.timeout, self.label)

    def settle(self, unique: dict[str, Prepared], quiet: bool) -> dict[str, Outcome]:
        """The outcome of each distinct request, sent synchronously by ``num_concurrent`` workers.

        Raises:
            RunStopped: nothing answers at the endpoint, or a request failed in a way no rerun can fix
                (the answers received so far are cached).
        """
        if any(item.error is None and self.cache.get(key) is None for key, item in unique.items()):
            self.check_reachable()  # builds the client once, before the workers start
        outcomes: dict[str, Outcome] = {}
        counts = Counter(dict.fromkeys(Status, 0))
        stop = threading.Event()
        bar = self.progress_bar(len(unique), self.label, quiet)
        pool = ThreadPoolExecutor(max_workers=self.num_concurrent, thread_name_prefix=f"meds-{self.provider.provider}")
        try:
            futures: dict[Future[Outcome], str] = {
                pool.submit(self.answer, item, stop): key for key, item in unique.items()
            }
            for future in as_completed(futures):
                outcome = outcomes[futures[future]] = future.result()
                counts[outcome.status] += 1
                bar.update(1)
                bar.set_postfix_str(
                    f"done={counts['done']} failed={counts['failed']} cached={counts['cached']} "
                    f"no_answer_text={counts['output_limit']} skipped={counts['skipped_budget']} "
                    f"${self.ledger.spent:.4f}",
                    refresh=False,
                )
        except BaseException:
            stop.set()  # waiting retries give up; queued requests are not sent
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            bar.close()
            self.summarise()
        pool.shutdown(wait=True)
        if self.fatal is not None:
            raise RunStopped(f"{self.fatal}. Answers received so far are cached in {self.cache.path}")
        return outcomes

    def progress_bar(self, total: int, desc: str, quiet: bool) -> Any:
        """A progress bar on stderr, off with ``progress=false`` or lm-eval's ``disable_tqdm``."""
        return tqdm(total=total, desc=desc, disable=quiet or not self.progress, file=sys.stderr)

    def summarise(self) -> None:
        """Add this run's unanswered requests to the failure tally and print the closing line."""
        total = self.ledger.total()
        for task, usage in self.ledger.tasks.items():
            now = {name: getattr(usage, name) for name in UNANSWERED}
            before = self._reported.get(task, dict.fromkeys(UNANSWERED, 0))
            self._tally.add(task, **{name: now[name] - before[name] for name in UNANSWERED})
            self._reported[task] = now
        line = (
            f"[{self.label}] done={total.sent} cached={total.cached} failed={total.failed} "
            f"no_answer_text={total.output_limit} skipped_budget={total.skipped_budget} truncated={total.truncated} "
            f"retries={total.retries} input_tokens={total.input_tokens} output_tokens={total.output_tokens} "
            f"reasoning_tokens={total.reasoning_tokens} cost=${total.cost_usd:.4f}"
        )
        if self.price is not None:
            tokens = total.input_tokens, total.output_tokens
            spent_earlier = total.earlier_cost_usd
            earlier = f", ${spent_earlier:.4f} of it spent by an earlier process" if spent_earlier else ""
            line += f" ({total.batched} via batch{earlier}; these tokens at {self.price.side_by_side(*tokens)})"
        else:
            line += " (no price known for this model)"
        unanswered = total.failed + total.skipped_budget
        if unanswered and self.fatal is None:
            line += f"; {unanswered} unanswered: rerun the same command to send only those"
        if total.output_limit:
            line += f"; {total.output_limit} replies had no answer text (thinking used the output allowance)"
        print(line, file=sys.stderr)


class _Attempt:
    """One request as the retry loop sends it: each call sends it in the run's current form; :meth:`adapt`
    is the loop's question whether a failure changed that form (see :class:`.retry.Adaptable`)."""

    def __init__(self, dispatcher: Dispatcher, item: Prepared) -> None:
        self.dispatcher, self.item = dispatcher, item
        self.sent: dict[str, Any] = {}

    def __call__(self) -> Answer:
        provider, item = self.dispatcher.provider, self.item
        self.sent = self.dispatcher.removed.strip(provider.request_body(item.body, item.gen))
        return provider.send(self.sent, item.gen)

    def adapt(self, err: BaseException) -> bool:
        return self.dispatcher.adapt(err, self.sent)
