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
- a batch answer is charged (at the batch rate) to the first run whose results carry it, whichever
  process submitted or collected it: one read from the cache before any results carried its cost
  counts as sent, not cached; the closing line says how much of the cost an earlier process spent;
- the request form follows the model's family row (:mod:`.families`): sampling parameters only where the
  family takes them (else "provider default sampling" is recorded, never temperature 0), thinking as the
  family takes it at ``reasoning_effort``, its allowance added to the task's own answer budget; a 400 that
  names a parameter removes it for the rest of the run (recorded);
- thinking (Claude thinking blocks, ``reasoning`` fields, a leading ``<think>`` block) is split off the
  answer before stop sequences apply, saved with the sample, and never scored; a reply whose thinking
  used the whole allowance is recorded as unanswered (reason: output limit);
- a request that fails permanently (unknown or retired model, refused key, a 400 no fallback fixes)
  stops the run with :class:`RunStopped`; answers received so far stay cached;
- a request that still fails after retries returns ``""`` (scored 0 and counted by the metrics), is recorded
  as failed and is not cached, so a rerun sends only the failures; the run goes on;
- when ``max_cost_usd`` is reached no new request is sent; the rest return ``""``, recorded as
  skipped;
- each request's gen_kwargs in the samples file gain a ``meds_api`` entry: its status, the error of a
  failed request and how much of a cut prompt was dropped;
- a closing summary line is printed, usage goes to the results JSON through
  :meth:`get_model_info` (which marks the batch answers it charges as reported in the cache), and
  :data:`PROCESS_TALLY` lets ``meds-bench eval`` exit non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from lm_eval.api.model import LM
from tqdm import tqdm

from meds_bench.api_status import UNANSWERED  # the statuses of a request without answer text

from .batch import batch_settings, run_batches
from .cache import CachedAnswer, ResponseCache, request_key
from .context import TRUNCATE_MODES, counter_for, fit_messages
from .cost import Ledger, load_prices, price_for
from .errors import MissingCredentials, RunStopped
from .families import Family, ModelArgError, ThinkingPlan, family_for, parse_effort, thinking_plan
from .guard import check_credentialed, check_no_secrets, redact
from .retry import RequestFailed, RetryPolicy, Stopped, call_with_retries

log = logging.getLogger(__name__)

CACHE_ENV = "MEDS_BENCH_API_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/meds_bench/api")
DEFAULT_MAX_GEN_TOKS = 256
DRY_RUN_COUNTS = ("requests", "cached", "not_sendable", "truncated", "input_tokens", "max_output_tokens")
PROVIDER_DEFAULT_SAMPLING = "provider default sampling"
# Statuses of a request that fails for every request of the run alike: retrying or rerunning cannot help.
PERMANENT_STATUS = frozenset({400, 401, 403, 404})


class FailureTally:
    """Requests that got no answer, per task and status, summed over every adapter instance of this process
    (read by ``meds-bench eval`` to name them and exit non-zero); :meth:`reset` clears it for a new run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()  # (task, status) -> requests

    def add(self, task: str, **counts: int) -> None:
        with self._lock:
            self._counts.update({(task, status): n for status, n in counts.items()})

    def snapshot(self) -> dict[str, int]:
        """Requests per status (``failed``, ``output_limit``, ``skipped_budget``), all tasks together."""
        with self._lock:
            return {name: sum(n for (_, s), n in self._counts.items() if s == name) for name in UNANSWERED}

    def per_task(self) -> dict[str, int]:
        """Unanswered requests per task (tasks with none left out), in task-name order."""
        with self._lock:
            totals: Counter[str] = Counter()
            for (task, _), n in self._counts.items():
                totals[task] += n
            return {task: n for task, n in sorted(totals.items()) if n}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


PROCESS_TALLY = FailureTally()


def failed_requests() -> dict[str, int]:
    """Counts of requests that got no answer in this process, across all adapter instances."""
    return PROCESS_TALLY.snapshot()


@dataclass(frozen=True)
class Generation:
    """Provider-neutral generation settings of one request; ``max_tokens`` is the task's answer budget."""

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
    thinking: str = ""


@dataclass(frozen=True)
class Answer:
    """One API response: the answer text (thinking split off), the thinking, and token usage.

    ``output_limit`` marks a reply without answer text because the output allowance was used up.
    """

    text: str
    input_tokens: int
    output_tokens: int
    thinking: str = ""
    reasoning_tokens: int = 0
    output_limit: bool = False
    batch: bool = False  # received through a batch interface (priced at the batch rates)
    earlier: bool = False  # of a batch an earlier process submitted


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
    example_model: ClassVar[str]

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
        reasoning_effort: str | None = None,
        reasoning_tokens: int | None = None,
        family: str | None = None,
        **extra: Any,
    ) -> None:
        check_no_secrets({"model": model, "base_url": base_url, **extra})
        for ignored in ("batch_size", "max_batch_size", "device"):  # passed by lm-eval's CLI; concurrency is ours
            extra.pop(ignored, None)
        self.batch_mode = batch_settings(extra, _as_bool(dry_run))  # pops batch=, batch_fallback=, batch_poll=
        if extra:
            raise TypeError(f"unknown model argument(s) for {self.provider}: {', '.join(sorted(extra))}")
        super().__init__()
        if not model:
            raise ModelArgError(
                f"--model meds-{self.provider} needs model=<id>, e.g. --model_args model={self.example_model} "
                "(README lists the current model families)"
            )
        self.model = str(model)
        self.family: Family = family_for(self.provider, str(family or self.model))
        if self.family.retired:
            raise ModelArgError(
                f"{self.provider} model {self.model} was retired on {self.family.retired}: requests to it fail; "
                f"choose a current model, e.g. model={self.example_model} (README lists the current families)"
            )
        base_url = base_url or os.environ.get(self.base_url_env) or None
        check_no_secrets({"base_url": base_url})
        self.base_url = str(base_url).rstrip("/") if base_url else None
        self.num_concurrent = max(1, int(num_concurrent))
        self.timeout = float(timeout)
        self.dry_run = _as_bool(dry_run)
        self._api_key = os.environ.get(self.key_env, "")
        if not self.dry_run and self.needs_api_key() and not self._api_key:
            raise MissingCredentials(
                f"{self.key_env} is not set: export it in the environment (API keys are never read from "
                f"arguments or files), or pass dry_run=true to estimate the run without sending anything"
            )
        self.allow_credentialed = _as_bool(allow_credentialed)
        self.max_gen_toks = int(max_gen_toks)
        self.progress = _as_bool(progress)
        self.truncate = str(truncate).strip().lower()
        if self.truncate not in TRUNCATE_MODES:
            raise ModelArgError(f"model argument truncate={truncate!r}: use truncate=left or truncate=fail")
        self.reasoning_effort = parse_effort(reasoning_effort)
        self.reasoning_tokens = (
            _positive_int("reasoning_tokens", reasoning_tokens) if reasoning_tokens not in (None, "") else None
        )
        self.thinking_plan(self.max_gen_toks)  # an effort the model does not take is refused now
        self.max_context_tokens = (
            _positive_int("max_context_tokens", max_context_tokens)
            if max_context_tokens not in (None, "")
            else self.family.context
        )
        self.counter = counter_for(self.provider, self.model)
        self.policy = RetryPolicy(max_retries=int(max_retries), base=float(backoff_base), cap=float(backoff_max))
        table = load_prices(prices)
        self.price = price_for(self.model, table) or (price_for(self.family.name, table) if self.family.name else None)
        budget = float(max_cost_usd) if max_cost_usd not in (None, "") else None
        if budget is not None and self.price is None:
            raise ModelArgError(
                f"max_cost_usd needs a price for model {self.model!r}: add it to a prices file (prices=PATH)"
            )
        self.ledger = Ledger(price=self.price, max_cost_usd=budget)
        self.cache_dir = Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()
        self.cache = ResponseCache(self.cache_dir)
        self.dry_run_estimate: dict[str, Any] | None = None
        self._client: Any = None
        self._reported: dict[str, dict[str, int]] = {}  # per task: the counts already added to PROCESS_TALLY
        self._fatal: str | None = None  # why the run must stop
        self._form_lock = threading.Lock()
        self._removed: dict[str, str] = {}  # body field -> the provider's message that removed it
        self._sampling_notes: set[str] = set()
        self._batch_keys: set[str] = set()  # batch answers this ledger charged: reported with the results
        if self.price is None:
            log.warning("no price known for %s: costs are reported as 0 (add it with prices=PATH)", self.model)

    # --- provider hooks ---------------------------------------------------------------------

    def make_client(self) -> Any:
        """The SDK client, with its own retries switched off (ours apply)."""
        raise NotImplementedError

    def needs_api_key(self) -> bool:
        """Whether ``key_env`` must be set (False for platforms with their own credentials)."""
        return True

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        """The exact request body sent to the provider (also the cache key material)."""
        raise NotImplementedError

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        """One API call for ``body`` (built from ``gen``); SDK exceptions propagate to the retry layer."""
        raise NotImplementedError

    def rejected_parameter(self, err: BaseException) -> str | None:
        """The body field a provider's 400 answer names as not accepted by the model, or None."""
        return None

    def extra_info(self) -> dict[str, Any]:
        """Provider facts added to ``config.meds_api`` in the results."""
        return {}

    # --- request forms ----------------------------------------------------------------------

    def thinking_plan(self, answer_tokens: int) -> ThinkingPlan:
        """The thinking fields and allowance of a request whose answer may use ``answer_tokens`` tokens."""
        return thinking_plan(self.family, self.reasoning_effort, answer_tokens, self.reasoning_tokens)

    def output_limit(self, gen: Generation) -> int:
        """Output tokens a request may use: the task's answer budget plus the thinking allowance."""
        return gen.max_tokens + self.thinking_plan(gen.max_tokens).allowance

    def sampling_fields(self, gen: Generation, thinks: bool) -> dict[str, Any]:
        """The sampling parameters of a request, as the family takes them; what is not sent is recorded."""
        requested = {"temperature": gen.temperature} | ({"top_p": gen.top_p} if gen.top_p is not None else {})
        if self.family.sampling == "none" or (thinks and self.provider == "anthropic"):
            why = "the model takes no sampling parameters" if self.family.sampling == "none" else "thinking needs it"
            self._note(f"{PROVIDER_DEFAULT_SAMPLING} ({why}); not sent: {_describe(requested)}")
            return {}
        if self.family.sampling == "one" and "top_p" in requested:
            self._note(f"top_p={gen.top_p} not sent: the model takes temperature or top_p, not both")
            requested.pop("top_p")
        return requested

    def without_removed(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` less the fields a 400 answer removed earlier in this run."""
        return {k: v for k, v in body.items() if k not in self._removed} if self._removed else body

    def _note(self, note: str) -> None:
        with self._form_lock:
            self._sampling_notes.add(note)

    def _send_with_fallback(self, body: dict[str, Any], gen: Generation) -> Answer:
        """:meth:`send`, and once more without a field that a 400 answer names as not accepted."""
        body = self.without_removed(body)
        try:
            return self.send(body, gen)
        except Exception as err:
            param = self.rejected_parameter(err)
            if param is None or param not in body or param in ("model", "messages", "max_tokens"):
                raise
            with self._form_lock:
                first = param not in self._removed
                self._removed[param] = provider_message(err)[:300]
            if first:
                log.warning("%s rejects %r: it is no longer sent in this run", self.model, param)
        return self.send(self.without_removed(body), gen)

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
        """Merged by lm-eval into ``results["config"]``: provider, model, request form and usage (no secrets)."""
        plan = self.thinking_plan(self.max_gen_toks)
        info = {
            "meds_api": {
                "provider": self.provider,
                "model": self.model,
                "family": self.family.name,
                "base_url": self.base_url,
                "cache": str(self.cache.path),
                "dry_run": self.dry_run,
                "allow_credentialed": self.allow_credentialed,
                "max_context_tokens": self.max_context_tokens,
                "truncate": self.truncate,
                "token_counter": self.counter.name,
                "reasoning_effort": self.reasoning_effort,
                "thinking": plan.form,
                "sampling": sorted(self._sampling_notes) or ["as requested by the task (greedy: temperature=0)"],
                "removed_parameters": dict(self._removed),
                **self.extra_info(),
                "usage": self.ledger.report(),
                "dry_run_estimate": self.dry_run_estimate,
            }
        }
        self.cache.mark_reported(self._batch_keys)  # the results now carry their cost: no later run charges it
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

    def _worst_case_usd(self, item: Prepared) -> float:
        return self.price.cost(item.prompt_tokens, self.output_limit(item.gen)) if self.price else 0.0

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
            row["input_tokens"] += item.prompt_tokens
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

    def _check_reachable(self) -> None:
        """Refuse to start when nothing accepts connections at the endpoint (no request is sent)."""
        if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
            return  # the SDK connects through the proxy, not directly
        url = str(getattr(self._client_once(), "base_url", "") or self.base_url or "")
        parts = urlsplit(url)
        if not parts.hostname:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=min(self.timeout, 10.0)).close()
        except OSError as err:
            raise RunStopped(
                f"{self.provider}:{self.model}: nothing answers at {url} ({err.strerror or err}); "
                "start the server or correct base_url. No request was sent"
            ) from None

    def _stop_reason(self, err: RequestFailed) -> str | None:
        """Why ``err`` must stop the run (None when only this request is affected)."""
        if err.status not in PERMANENT_STATUS:
            return None
        message = redact(err.message, [self._api_key])
        if err.status == 400 and any(word in message.lower() for word in ("context", "too long")):
            return None  # this prompt only
        name = f"{self.provider} model {self.model}"
        if err.status == 404:
            return f"{name} was not found: it is retired or unknown to the provider ({message}); choose a current model"
        if err.status in (401, 403):
            return f"{name}: the provider refused the credentials ({message}); check {self.key_env} and its access"
        return f"{name} rejects the request form ({message}); see README's model-family table"

    def _record_answer(self, item: Prepared, answer: Answer) -> Outcome:
        """Store a received answer (cache and ledger) and return its outcome; a reply without answer
        text because the output allowance was used up is recorded as unanswered and not cached."""
        if answer.output_limit:
            message = (
                f"no answer text: the output limit of {self.output_limit(item.gen)} tokens was used up by thinking; "
                "raise reasoning_tokens or lower reasoning_effort"
            )
            self.ledger.record_output_limit(
                item.task, item.doc_id, message, answer.input_tokens, answer.output_tokens, answer.reasoning_tokens,
                batch=answer.batch, earlier=answer.earlier,
            )  # fmt: skip
            return Outcome("", "output_limit", message, answer.thinking)
        cached = CachedAnswer(answer.text, answer.input_tokens, answer.output_tokens, answer.thinking,
                              answer.reasoning_tokens, batch_unreported=answer.batch)  # fmt: skip
        self.cache.put(item.key, self.provider, self.model, cached)
        self.ledger.record_answer(
            item.task, item.doc_id, answer.input_tokens, answer.output_tokens, False, answer.reasoning_tokens,
            batch=answer.batch, earlier=answer.earlier,
        )  # fmt: skip
        if answer.batch:
            self._batch_keys.add(item.key)
        return Outcome(answer.text, "done", thinking=answer.thinking)

    def _answer(self, item: Prepared, stop: threading.Event) -> Outcome:
        """The outcome of one distinct request: status ``cached``, ``done``, ``output_limit``, ``failed`` or
        ``skipped_budget``."""
        task, key, body = item.task, item.key, item.body
        if item.error is not None:
            self.ledger.record_failure(task, item.doc_id, item.error)
            log.warning("%s request not sent (%s): %s", self.provider, task, item.error)
            return Outcome("", "failed", item.error)
        cached = self.cache.get(key)
        if cached is not None and cached.batch_unreported:  # collected by a process whose results never came
            self.ledger.record_answer(
                task, item.doc_id, cached.input_tokens, cached.output_tokens, False, cached.reasoning_tokens,
                batch=True, earlier=True,
            )  # fmt: skip
            self._batch_keys.add(key)
            return Outcome(cached.text, "done", thinking=cached.thinking)
        if cached is not None:
            self.ledger.record_answer(task, item.doc_id, cached.input_tokens, cached.output_tokens, cached=True)
            return Outcome(cached.text, "cached", thinking=cached.thinking)
        if stop.is_set():
            why = "not sent: the run stopped" if self._fatal else "not sent: budget reached"
            self.ledger.record_failure(task, item.doc_id, why, budget=not self._fatal)
            return Outcome("", "failed" if self._fatal else "skipped_budget", why)
        worst = self._worst_case_usd(item)
        if not self.ledger.reserve(worst):
            stop.set()
            self.ledger.record_failure(task, item.doc_id, "not sent: max_cost_usd reached", budget=True)
            return Outcome("", "skipped_budget", "not sent: max_cost_usd reached")
        try:
            answer = call_with_retries(
                lambda: self._send_with_fallback(body, item.gen),
                self.policy,
                stop,
                on_retry=lambda _msg: self.ledger.record_retry(task),
            )
        except (RequestFailed, Stopped) as err:
            message = redact(str(err), [self._api_key])
            reason = self._stop_reason(err) if isinstance(err, RequestFailed) else None
            if reason is not None and self._fatal is None:
                self._fatal = reason
                stop.set()
            self.ledger.record_failure(task, item.doc_id, message)
            log.warning("%s request failed (%s): %s", self.provider, task, message)
            return Outcome("", "failed", message)
        finally:
            self.ledger.release(worst)
        return self._record_answer(item, answer)

    def _run(self, unique: dict[str, Prepared], disable_tqdm: bool) -> dict[str, Outcome]:
        if any(item.error is None and self.cache.get(key) is None for key, item in unique.items()):
            self._check_reachable()  # builds the client once, before the workers start
        outcomes: dict[str, Outcome] = {}
        counts = Counter({"done": 0, "failed": 0, "cached": 0, "skipped_budget": 0, "output_limit": 0})
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
            self._summarise()
        pool.shutdown(wait=True)
        if self._fatal is not None:
            raise RunStopped(f"{self._fatal}. Answers received so far are cached in {self.cache.path}")
        return outcomes

    def _summarise(self) -> None:
        total = self.ledger.total()
        for task, usage in self.ledger.tasks.items():
            now = {name: getattr(usage, name) for name in UNANSWERED}
            before = self._reported.get(task, dict.fromkeys(UNANSWERED, 0))
            PROCESS_TALLY.add(task, **{name: now[name] - before[name] for name in UNANSWERED})
            self._reported[task] = now
        line = (
            f"[{self.provider}:{self.model}] done={total.sent} cached={total.cached} failed={total.failed} "
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
        if unanswered and self._fatal is None:
            line += f"; {unanswered} unanswered: rerun the same command to send only those"
        if total.output_limit:
            line += f"; {total.output_limit} replies had no answer text (thinking used the output allowance)"
        print(line, file=sys.stderr)


def provider_message(err: BaseException) -> str:
    """The provider's own error message of an SDK exception (``error.message`` of its body), else its text."""
    body = getattr(err, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message) if message else str(getattr(err, "message", None) or err)


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _annotate(request: Any, item: Prepared, outcome: Outcome) -> None:
    """Add ``meds_api`` (status, error, thinking, cut tokens) to the request's gen_kwargs, which lm-eval logs
    per sample."""
    info: dict[str, Any] = {"status": outcome.status}
    if outcome.error:
        info["error"] = outcome.error
    if outcome.thinking:
        info["thinking"] = outcome.thinking
    if item.dropped_tokens:
        info["truncated"] = {"prompt_tokens": item.prompt_tokens, "dropped_tokens": item.dropped_tokens}
    context, *rest = request.args
    gen_kwargs = dict(rest[0]) if rest and isinstance(rest[0], dict) else {}
    request.arguments = (context, {**gen_kwargs, "meds_api": info}, *rest[1:])
