"""The lm-eval model shared by the OpenAI and Anthropic adapters.

A provider subclass only speaks its wire protocol (:meth:`APIChatLM.build_body`,
:meth:`APIChatLM.send`, :meth:`APIChatLM.make_client`). Everything else lives here and in the
sibling modules: the data-governance guard, the response cache, retries, usage and cost,
the budget, dry runs, concurrency and the progress bar.

Contract of :meth:`APIChatLM.generate_until`:
- credentialed MedS-Bench tasks are refused before any request is sent, unless
  ``allow_credentialed=true``;
- a prompt that with its output limit exceeds the context window (``max_context_tokens``, default from
  ``context_windows.json``) is cut on the left so that the query survives (``truncate=left``), or is not
  sent and recorded as failed with the reason (``truncate=fail``);
- each distinct request is answered once: from the cache, or by one API call (with retries);
- a request that still fails returns ``""`` (scored 0 and counted by the metrics), is recorded
  as failed and is not cached, so a rerun sends only the failures; the run goes on;
- when ``max_cost_usd`` is reached no new request is sent; the rest return ``""``, recorded as
  skipped;
- each request's gen_kwargs in the samples file gain a ``meds_api`` entry: its status, the error of a
  failed request and how much of a cut prompt was dropped;
- a closing summary line is printed, usage goes to the results JSON through
  :meth:`get_model_info`, and :func:`failed_requests` lets ``meds-bench eval`` exit non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lm_eval.api.model import LM
from tqdm import tqdm

from .batch import batch_settings, run_batches
from .cache import CachedAnswer, ResponseCache, request_key
from .context import TRUNCATE_MODES, context_window, counter_for, fit_messages
from .cost import Ledger, estimate_tokens, load_prices, price_for
from .guard import check_credentialed, check_no_secrets, redact
from .retry import RequestFailed, RetryPolicy, Stopped, call_with_retries

log = logging.getLogger(__name__)

CACHE_ENV = "MEDS_BENCH_API_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/meds_bench/api")
DEFAULT_MAX_GEN_TOKS = 256
DRY_RUN_COUNTS = ("requests", "cached", "not_sendable", "truncated", "input_tokens", "max_output_tokens")

# Failed / budget-skipped requests of every adapter instance in this process (read by `meds-bench eval`).
_PROCESS_FAILURES = {"failed": 0, "skipped_budget": 0}
_PROCESS_LOCK = threading.Lock()


def failed_requests() -> dict[str, int]:
    """Counts of requests that got no answer in this process, across all adapter instances."""
    with _PROCESS_LOCK:
        return dict(_PROCESS_FAILURES)


@dataclass(frozen=True)
class Generation:
    """Provider-neutral generation settings of one request."""

    max_tokens: int
    temperature: float
    top_p: float | None
    stop: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """One lm-eval request turned into a provider request body and its cache key."""

    task: str
    doc_id: Any
    key: str
    body: dict[str, Any]
    gen: Generation
    prompt_tokens: int = 0
    dropped_tokens: int = 0
    error: str | None = None  # why it is not sent


@dataclass(frozen=True)
class Outcome:
    """What became of one distinct request: raw text, status (as in ``per_request``) and error."""

    text: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class Answer:
    """Text and token usage of one API response."""

    text: str
    input_tokens: int
    output_tokens: int
    batch: bool = False  # received through a batch interface (priced at the batch rates)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ValueError(f"model argument {name}={value!r}: give a positive whole number of tokens")
    return number


def parse_context(context: Any) -> list[dict[str, str]]:
    """Chat messages of an lm-eval context.

    With ``--apply_chat_template`` the context is the JSON list of messages that
    :meth:`APIChatLM.apply_chat_template` produced (system = cases + definition, user = query);
    otherwise it is plain text, sent as one user message.
    """
    text = getattr(context, "prompt", context)  # lm-eval's JsonChatStr
    if isinstance(text, str) and text.startswith("["):
        try:
            messages = json.loads(text)
        except json.JSONDecodeError:
            messages = None
        if (
            isinstance(messages, list)
            and messages
            and all(isinstance(m, dict) and isinstance(m.get("content"), str) and "role" in m for m in messages)
        ):
            return [{"role": str(m["role"]), "content": m["content"]} for m in messages]
    return [{"role": "user", "content": str(text)}]


def generation_settings(gen_kwargs: dict[str, Any], default_max_tokens: int) -> Generation:
    """Greedy unless ``do_sample`` is true; the task's ``max_gen_toks`` and ``until`` are honoured."""
    until = gen_kwargs.get("until") or ()
    if isinstance(until, str):
        until = (until,)
    do_sample = _as_bool(gen_kwargs.get("do_sample", False))
    temperature = float(gen_kwargs.get("temperature", 1.0)) if do_sample else 0.0
    top_p = gen_kwargs.get("top_p") if do_sample else None
    max_tokens = int(gen_kwargs.get("max_gen_toks") or gen_kwargs.get("max_tokens") or default_max_tokens)
    return Generation(max_tokens, temperature, float(top_p) if top_p is not None else None, tuple(until))


def trim_at_stops(text: str, stops: Sequence[str]) -> str:
    """Cut ``text`` at the earliest stop sequence (servers may ignore or not be sent some of them)."""
    cut = len(text)
    for stop in stops:
        if stop:
            at = text.find(stop)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


class APIChatLM(LM):
    """Base lm-eval model for chat APIs; see the module docstring for the contract."""

    provider: ClassVar[str]
    key_env: ClassVar[str]
    base_url_env: ClassVar[str]
    default_model: ClassVar[str]

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        num_concurrent: int = 4,
        max_retries: int = 8,
        timeout: float = 120.0,
        cache_dir: str | None = None,
        max_cost_usd: float | None = None,
        dry_run: bool = False,
        allow_credentialed: bool = False,
        max_gen_toks: int = DEFAULT_MAX_GEN_TOKS,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        prices: str | None = None,
        progress: bool = True,
        max_context_tokens: int | None = None,
        truncate: str = "left",
        **extra: Any,
    ) -> None:
        check_no_secrets({"model": model, "base_url": base_url, **extra})
        for ignored in ("batch_size", "max_batch_size", "device"):  # passed by lm-eval's CLI; concurrency is ours
            extra.pop(ignored, None)
        self.batch_mode = batch_settings(extra, _as_bool(dry_run))  # pops batch=, batch_fallback=, batch_poll=
        if extra:
            raise TypeError(f"unknown model argument(s) for {self.provider}: {', '.join(sorted(extra))}")
        super().__init__()
        self.model = str(model or self.default_model)
        base_url = base_url or os.environ.get(self.base_url_env) or None
        check_no_secrets({"base_url": base_url})
        self.base_url = str(base_url).rstrip("/") if base_url else None
        self.num_concurrent = max(1, int(num_concurrent))
        self.timeout = float(timeout)
        self.dry_run = _as_bool(dry_run)
        self.allow_credentialed = _as_bool(allow_credentialed)
        self.max_gen_toks = int(max_gen_toks)
        self.progress = _as_bool(progress)
        self.truncate = str(truncate).strip().lower()
        if self.truncate not in TRUNCATE_MODES:
            raise ValueError(f"model argument truncate={truncate!r}: use truncate=left or truncate=fail")
        self.max_context_tokens = (
            _positive_int("max_context_tokens", max_context_tokens)
            if max_context_tokens not in (None, "")
            else context_window(self.model)
        )
        self.counter = counter_for(self.provider, self.model) if self.max_context_tokens else None
        self.policy = RetryPolicy(max_retries=int(max_retries), base=float(backoff_base), cap=float(backoff_max))
        self.price = price_for(self.model, load_prices(prices))
        budget = float(max_cost_usd) if max_cost_usd not in (None, "") else None
        if budget is not None and self.price is None:
            raise ValueError(
                f"max_cost_usd needs a price for model {self.model!r}: add it to a prices file (prices=PATH)"
            )
        self.ledger = Ledger(price=self.price, max_cost_usd=budget)
        self.cache_dir = Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()
        self.cache = ResponseCache(self.cache_dir)
        self.dry_run_estimate: dict[str, Any] | None = None
        self._api_key = os.environ.get(self.key_env, "")
        self._client: Any = None
        if not self.dry_run and not self._api_key:
            raise OSError(f"{self.key_env} is not set: API keys are read from the environment only")
        if self.price is None:
            log.warning("no price known for %s: costs are reported as 0 (add it with prices=PATH)", self.model)

    # --- provider hooks ---------------------------------------------------------------------

    def make_client(self) -> Any:
        """The SDK client, with its own retries switched off (ours apply)."""
        raise NotImplementedError

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        """The exact request body sent to the provider (also the cache key material)."""
        raise NotImplementedError

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        """One API call for ``body`` (built from ``gen``); SDK exceptions propagate to the retry layer."""
        raise NotImplementedError

    def output_limit(self, gen: Generation) -> int:
        """Output tokens a request may use: its share of the context window and of the budget."""
        return gen.max_tokens

    def extra_info(self) -> dict[str, Any]:
        """Provider facts added to ``config.meds_api`` in the results."""
        return {}

    # --- lm-eval interface ------------------------------------------------------------------

    @property
    def tokenizer_name(self) -> str:
        return f"{self.provider}:{self.model}"

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """Keep the messages as JSON; :func:`parse_context` turns them back into API messages."""
        return json.dumps(chat_history, ensure_ascii=False)

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        raise NotImplementedError(
            f"{self.provider} chat models return no log-probabilities of given text: "
            "use generate_until tasks (all MedS-Bench tasks are)"
        )

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError(f"{self.provider} chat models cannot score loglikelihood_rolling tasks")

    def get_model_info(self) -> dict[str, Any]:
        """Merged by lm-eval into ``results["config"]``: provider, model and usage (no secrets)."""
        info = {
            "meds_api": {
                "provider": self.provider,
                "model": self.model,
                "base_url": self.base_url,
                "cache": str(self.cache.path),
                "dry_run": self.dry_run,
                "allow_credentialed": self.allow_credentialed,
                "max_context_tokens": self.max_context_tokens,
                "truncate": self.truncate,
                "token_counter": self.counter.name if self.counter else None,
                **self.extra_info(),
                "usage": self.ledger.report(),
                "dry_run_estimate": self.dry_run_estimate,
            }
        }
        return json.loads(redact(json.dumps(info), [self._api_key]))

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        tasks = [self._task_of(r) for r in requests]
        check_credentialed(set(tasks), self.allow_credentialed, f"{self.provider}:{self.model}")
        prepared = []
        for request, task in zip(requests, tasks, strict=True):
            context, gen_kwargs = request.args[0], (request.args[1] if len(request.args) > 1 else {})
            gen = generation_settings(dict(gen_kwargs or {}), self.max_gen_toks)
            fit = fit_messages(
                parse_context(context), self.counter, self.max_context_tokens, self.output_limit(gen), self.truncate
            )
            body = self.build_body(fit.messages, gen)
            doc_id = request.metadata[1] if len(getattr(request, "metadata", None) or ()) > 1 else None
            key = request_key(self.provider, self.base_url, body)
            prepared.append(Prepared(task, doc_id, key, body, gen, fit.prompt_tokens, fit.dropped_tokens, fit.error))
        unique: dict[str, Prepared] = {}
        for item in prepared:
            unique.setdefault(item.key, item)  # identical requests are sent once
        for item in unique.values():
            if item.dropped_tokens:
                self.ledger.record_truncation(item.task, item.doc_id, item.prompt_tokens, item.dropped_tokens)
        if self.dry_run:
            outcomes = self._dry_run(unique)
        else:
            for item in prepared:
                self.ledger.count_request(item.task)
            outcomes = run_batches(self, unique, disable_tqdm) if self.batch_mode else self._run(unique, disable_tqdm)
        for request, item in zip(requests, prepared, strict=True):
            _annotate(request, item, outcomes[item.key])
        return [trim_at_stops(outcomes[item.key].text, item.gen.stop) for item in prepared]

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _task_of(request: Any) -> str:
        metadata = getattr(request, "metadata", None) or ()
        return str(metadata[0]) if metadata and metadata[0] is not None else "unknown"

    def _input_estimate(self, body: dict[str, Any]) -> int:
        texts = [m.get("content", "") for m in body.get("messages", [])]
        texts.append(body.get("system", "") or "")
        return sum(estimate_tokens(t) + 4 for t in texts if isinstance(t, str) and t)

    def _worst_case_usd(self, body: dict[str, Any], gen: Generation) -> float:
        return self.price.cost(self._input_estimate(body), self.output_limit(gen)) if self.price else 0.0

    def _dry_run(self, unique: dict[str, Prepared]) -> dict[str, Outcome]:
        per_task: dict[str, dict[str, float]] = {}
        for item in unique.values():
            row = per_task.setdefault(item.task, dict.fromkeys(DRY_RUN_COUNTS, 0))
            row["truncated"] += bool(item.dropped_tokens)
            if item.error is not None:
                row["not_sendable"] += 1
                continue
            if self.cache.get(item.key) is not None:
                row["cached"] += 1
                continue
            row["requests"] += 1
            row["input_tokens"] += self._input_estimate(item.body)
            row["max_output_tokens"] += self.output_limit(item.gen)
        for row in per_task.values():
            for column, batch in (("max_cost_usd", False), ("max_cost_batch_usd", True)):
                tokens = int(row["input_tokens"]), int(row["max_output_tokens"])
                row[column] = round(self.price.cost(*tokens, batch=batch), 6) if self.price else 0
        total = {
            k: sum(r[k] for r in per_task.values()) for k in (*DRY_RUN_COUNTS, "max_cost_usd", "max_cost_batch_usd")
        }
        self.dry_run_estimate = {"total": total, "per_task": per_task, "priced": self.price is not None}
        print(
            f"[{self.provider}:{self.model}] dry run, nothing sent: {total['requests']} requests to send "
            f"({total['cached']} already cached, {total['truncated']} prompts cut to fit the context window, "
            f"{total['not_sendable']} too long to send), ~{total['input_tokens']} input tokens, "
            f"<= {total['max_output_tokens']} output tokens, <= ${total['max_cost_usd']:.4f} "
            f"(<= ${total['max_cost_batch_usd']:.4f} with batch=true)",
            file=sys.stderr,
        )
        return {key: Outcome("", "dry_run", item.error) for key, item in unique.items()}

    def _client_once(self) -> Any:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def _answer(self, item: Prepared, stop: threading.Event) -> Outcome:
        """The outcome of one distinct request; status ``cached``, ``done``, ``failed`` or ``skipped_budget``."""
        task, key, body = item.task, item.key, item.body
        if item.error is not None:
            self.ledger.record_failure(task, item.doc_id, item.error)
            log.warning("%s request not sent (%s): %s", self.provider, task, item.error)
            return Outcome("", "failed", item.error)
        cached = self.cache.get(key)
        if cached is not None:
            self.ledger.record_answer(task, item.doc_id, cached.input_tokens, cached.output_tokens, cached=True)
            return Outcome(cached.text, "cached")
        if stop.is_set():
            self.ledger.record_failure(task, item.doc_id, "not sent: budget reached", budget=True)
            return Outcome("", "skipped_budget", "not sent: budget reached")
        worst = self._worst_case_usd(body, item.gen)
        if not self.ledger.reserve(worst):
            stop.set()
            self.ledger.record_failure(task, item.doc_id, "not sent: max_cost_usd reached", budget=True)
            return Outcome("", "skipped_budget", "not sent: max_cost_usd reached")
        try:
            answer = call_with_retries(
                lambda: self.send(body, item.gen),
                self.policy,
                stop,
                on_retry=lambda _msg: self.ledger.record_retry(task),
            )
        except (RequestFailed, Stopped) as err:
            message = redact(str(err), [self._api_key])
            self.ledger.record_failure(task, item.doc_id, message)
            log.warning("%s request failed (%s): %s", self.provider, task, message)
            return Outcome("", "failed", message)
        finally:
            self.ledger.release(worst)
        return self._record_answer(item, answer)

    def _record_answer(self, item: Prepared, answer: Answer) -> Outcome:
        """Store an answer just received (synchronously or from a batch) in the cache and the ledger."""
        self.cache.put(
            item.key, self.provider, self.model, CachedAnswer(answer.text, answer.input_tokens, answer.output_tokens)
        )
        self.ledger.record_answer(
            item.task, item.doc_id, answer.input_tokens, answer.output_tokens, cached=False, batch=answer.batch
        )
        return Outcome(answer.text, "done")

    def _run(self, unique: dict[str, Prepared], disable_tqdm: bool) -> dict[str, Outcome]:
        if any(item.error is None and self.cache.get(key) is None for key, item in unique.items()):
            self._client_once()  # built once, before the workers start
        outcomes: dict[str, Outcome] = {}
        counts = {"done": 0, "failed": 0, "cached": 0, "skipped_budget": 0}
        stop = threading.Event()
        bar = tqdm(
            total=len(unique),
            desc=f"{self.provider}:{self.model}",
            disable=disable_tqdm or not self.progress,
            file=sys.stderr,
        )
        pool = ThreadPoolExecutor(max_workers=self.num_concurrent, thread_name_prefix=f"meds-{self.provider}")
        try:
            futures: dict[Future[Outcome], str] = {
                pool.submit(self._answer, item, stop): key for key, item in unique.items()
            }
            for future in as_completed(futures):
                outcome = outcomes[futures[future]] = future.result()
                counts[outcome.status] += 1
                bar.update(1)
                bar.set_postfix_str(
                    f"done={counts['done']} failed={counts['failed']} cached={counts['cached']} "
                    f"skipped={counts['skipped_budget']} ${self.ledger.spent:.4f}",
                    refresh=False,
                )
        except BaseException:
            stop.set()  # waiting retries give up; queued requests are not sent
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            bar.close()
            self._summarise()
        pool.shutdown(wait=True)
        return outcomes

    def _summarise(self) -> None:
        total = self.ledger.total()
        with _PROCESS_LOCK:
            _PROCESS_FAILURES["failed"] += total.failed - getattr(self, "_reported_failed", 0)
            _PROCESS_FAILURES["skipped_budget"] += total.skipped_budget - getattr(self, "_reported_skipped", 0)
        self._reported_failed, self._reported_skipped = total.failed, total.skipped_budget
        line = (
            f"[{self.provider}:{self.model}] done={total.sent} cached={total.cached} failed={total.failed} "
            f"skipped_budget={total.skipped_budget} truncated={total.truncated} retries={total.retries} "
            f"input_tokens={total.input_tokens} "
            f"output_tokens={total.output_tokens} cost=${total.cost_usd:.4f}"
        )
        if self.price is not None:
            tokens = total.input_tokens, total.output_tokens
            line += f" ({total.batched} via batch; these tokens at {self.price.side_by_side(*tokens)})"
        else:
            line += " (no price known for this model)"
        if total.failed or total.skipped_budget:
            line += f"; {total.failed + total.skipped_budget} unanswered: rerun the same command to send only those"
        print(line, file=sys.stderr)


def _annotate(request: Any, item: Prepared, outcome: Outcome) -> None:
    """Add ``meds_api`` (status, error, cut tokens) to the request's gen_kwargs, which lm-eval logs per sample."""
    info: dict[str, Any] = {"status": outcome.status}
    if outcome.error:
        info["error"] = outcome.error
    if item.dropped_tokens:
        info["truncated"] = {"prompt_tokens": item.prompt_tokens, "dropped_tokens": item.dropped_tokens}
    context, *rest = request.args
    gen_kwargs = dict(rest[0]) if rest and isinstance(rest[0], dict) else {}
    request.arguments = (context, {**gen_kwargs, "meds_api": info}, *rest[1:])
