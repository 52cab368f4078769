"""The lm-eval model shared by the OpenAI and Anthropic adapters: the top floor of the provider-neutral code.

A provider subclass only speaks its wire protocol (the hooks of :class:`.contract.Provider`). This
module turns lm-eval's requests into prepared requests and hands them to the dispatcher
(:mod:`.dispatch`), the batch transport (:mod:`.batch`) or the dry-run estimator (:mod:`.estimate`);
see the package docstring for the floors.

Contract of :meth:`APIChatLM.generate_until`:
- credentialed MedS-Bench tasks are refused before any request is sent, unless
  ``allow_credentialed=true``;
- a prompt that with its output limit exceeds the context window (``max_context_tokens``, default from
  the family row in ``models.json``) is cut on the left so that the query survives (``truncate=left``), or is not
  sent and recorded as failed with the reason (``truncate=fail``);
- each distinct request is answered once: from the cache, or by one API call (with retries);
- a batch answer is charged (at the batch rate) to the first run whose results carry it, whichever
  process submitted or collected it: one read from the cache before any results carried its cost
  counts as sent, not cached; the closing line says how much of the cost an earlier process spent;
- the request form follows the model's family row (:mod:`.families`): sampling parameters only where the
  family takes them (else "provider default sampling" is recorded, never temperature 0), thinking as the
  family takes it at ``reasoning_effort``, its allowance added to the task's own answer budget; a 400 that
  names a parameter removes it for the rest of the run (recorded), a decision of the one retry loop;
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
  the failure tally current when the instance was made (:mod:`.tally`) lets ``meds-bench eval`` exit
  non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from lm_eval.api.model import LM

from .args import ModelArgs
from .batch import run_batches
from .cache import ResponseCache, request_key, resolve_cache_dir
from .context import counter_for, fit_messages
from .contract import Provider
from .cost import Ledger, load_prices, price_for
from .dispatch import Dispatcher
from .errors import MissingCredentials
from .estimate import dry_run_outcomes, estimate, print_estimate
from .families import Family, ModelArgError, ThinkingPlan, family_for, thinking_plan
from .guard import check_credentialed, check_no_secrets, redact
from .lm_requests import (
    annotate,
    doc_id_of,
    generation_settings,
    parse_context,
    prompt_layout,
    task_of,
    trim_at_stops,
)
from .retry import RetryPolicy
from .tally import current_tally
from .values import Generation, Outcome, Prepared

log = logging.getLogger(__name__)

PROVIDER_DEFAULT_SAMPLING = "provider default sampling"


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


class APIChatLM(LM, Provider):
    """Base lm-eval model for chat APIs; see the module docstring for the contract."""

    def __init__(self, **model_args: Any) -> None:
        args = ModelArgs.parse(self.provider, **model_args)
        super().__init__()
        if not args.model:
            raise ModelArgError(
                f"--model meds-{self.provider} needs model=<id>, e.g. --model_args model={self.example_model} "
                "(docs/api-models.md lists the current model families)"
            )
        self.args = args
        self.model = args.model
        self.family: Family = family_for(self.provider, str(args.family or self.model))
        if self.family.retired:
            raise ModelArgError(
                f"{self.provider} model {self.model} was retired on {self.family.retired}: requests to it fail; "
                f"choose a current model, e.g. model={self.example_model} (docs/api-models.md lists the families)"
            )
        base_url = args.base_url or os.environ.get(self.base_url_env) or None
        check_no_secrets({"base_url": base_url})
        self.base_url = str(base_url).rstrip("/") if base_url else None
        self.dry_run = args.dry_run
        self.timeout = args.timeout
        self.batch_mode = args.batch
        self._api_key = os.environ.get(self.key_env, "")
        if not self.dry_run and self.needs_api_key() and not self._api_key:
            raise MissingCredentials(
                f"{self.key_env} is not set: export it in the environment (API keys are never read from "
                f"arguments or files), or pass dry_run=true to estimate the run without sending anything"
            )
        self.max_gen_toks = args.max_gen_toks
        self.truncate = args.truncate
        self.reasoning_effort = args.reasoning_effort
        self.reasoning_tokens = args.reasoning_tokens
        self.thinking_plan(self.max_gen_toks)  # an effort the model does not take is refused now
        self.max_context_tokens = args.max_context_tokens or self.family.context
        self.counter = counter_for(self.provider, self.model)
        table = load_prices(args.prices)
        self.price = price_for(self.model, table) or (price_for(self.family.name, table) if self.family.name else None)
        if args.max_cost_usd is not None and self.price is None:
            raise ModelArgError(
                f"max_cost_usd needs a price for model {self.model!r}: add it to a prices file (prices=PATH)"
            )
        self.ledger = Ledger(price=self.price, max_cost_usd=args.max_cost_usd)
        self.cache_dir = resolve_cache_dir(args.cache_dir)
        self.cache = ResponseCache(self.cache_dir)
        self.dispatcher = Dispatcher(
            self,
            self.model,
            cache=self.cache,
            ledger=self.ledger,
            price=self.price,
            policy=RetryPolicy(max_retries=args.max_retries, base=args.backoff_base, cap=args.backoff_max),
            base_url=self.base_url,
            timeout=args.timeout,
            num_concurrent=args.num_concurrent,
            progress=args.progress,
            secret=self._api_key,
            tally=current_tally(),  # see tally.evaluation: one tally per evaluation
        )
        self.dry_run_estimate: dict[str, Any] | None = None
        self._client: Any = None
        self._form_lock = threading.Lock()
        self._sampling_notes: set[str] = set()
        self._layouts: set[str] = set()  # how the prompts reached the model (lm_requests.prompt_layout)
        if self.price is None:
            log.warning("no price known for %s: costs are reported as 0 (add it with prices=PATH)", self.model)

    # --- services to the provider hooks and the dispatcher -------------------------------------

    def client(self) -> Any:
        """The SDK client, made once per instance."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def thinking_plan(self, answer_tokens: int) -> ThinkingPlan:
        """The thinking fields and allowance of a request whose answer may use ``answer_tokens`` tokens."""
        return thinking_plan(self.family, self.reasoning_effort, answer_tokens, self.reasoning_tokens)

    def output_limit(self, gen: Generation) -> int:
        """Output tokens a request may use: the task's answer budget plus the thinking allowance."""
        return gen.max_tokens + self.thinking_plan(gen.max_tokens).allowance

    def sampling_fields(self, gen: Generation, thinks: bool) -> dict[str, Any]:
        """The sampling parameters of a request, as the family (and, while thinking, the provider) takes
        them; what is not sent is recorded."""
        requested = {"temperature": gen.temperature} | ({"top_p": gen.top_p} if gen.top_p is not None else {})
        if self.family.sampling == "none" or (thinks and not self.samples_while_thinking):
            why = "the model takes no sampling parameters" if self.family.sampling == "none" else "thinking needs it"
            self.note(f"{PROVIDER_DEFAULT_SAMPLING} ({why}); not sent: {_describe(requested)}")
            return {}
        if self.family.sampling == "one" and "top_p" in requested:
            self.note(f"top_p={gen.top_p} not sent: the model takes temperature or top_p, not both")
            requested.pop("top_p")
        return requested

    def note(self, note: str) -> None:
        """Record how the request form departs from what the task asked (``config.meds_api.sampling``)."""
        with self._form_lock:
            self._sampling_notes.add(note)

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
                "allow_credentialed": self.args.allow_credentialed,
                "max_context_tokens": self.max_context_tokens,
                "truncate": self.truncate,
                "token_counter": self.counter.name,
                "reasoning_effort": self.reasoning_effort,
                "thinking": plan.form,
                "prompt_layout": sorted(self._layouts),
                "sampling": sorted(self._sampling_notes) or ["as requested by the task (greedy: temperature=0)"],
                "removed_parameters": self.dispatcher.removed.as_dict(),
                **self.extra_info(),
                "usage": self.ledger.report(),
                "dry_run_estimate": self.dry_run_estimate,
            }
        }
        self.cache.mark_reported(
            self.dispatcher.batch_keys
        )  # the results now carry their cost: no later run charges it
        return json.loads(redact(json.dumps(info), [self._api_key]))

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        tasks = [task_of(r) for r in requests]
        check_credentialed(set(tasks), self.args.allow_credentialed, f"{self.provider}:{self.model}")
        prepared = [self._prepare(request, task) for request, task in zip(requests, tasks, strict=True)]
        unique: dict[str, Prepared] = {}
        for item in prepared:
            unique.setdefault(item.key, item)  # identical requests are sent once
        for item in unique.values():
            if item.dropped_tokens:
                self.ledger.record_truncation(item.task, item.doc_id, item.prompt_tokens, item.dropped_tokens)
        outcomes = self._settle(unique, prepared, disable_tqdm)
        for request, item in zip(requests, prepared, strict=True):
            annotate(request, item, outcomes[item.key])
        return [trim_at_stops(outcomes[item.key].text, item.gen.stop) for item in prepared]

    def _prepare(self, request: Any, task: str) -> Prepared:
        """One lm-eval request as the provider's request body, fitted to the context window, with its key."""
        context, gen_kwargs = request.args[0], (request.args[1] if len(request.args) > 1 else {})
        gen = generation_settings(dict(gen_kwargs or {}), self.max_gen_toks)
        self._layouts.add(prompt_layout(context))
        fit = fit_messages(
            parse_context(context), self.counter, self.max_context_tokens, self.output_limit(gen), self.truncate
        )
        body = self.build_body(fit.messages, gen)
        key = request_key(self.provider, self.base_url, body)
        return Prepared(task, doc_id_of(request), key, body, gen, fit.prompt_tokens, fit.dropped_tokens, fit.error)

    def _settle(self, unique: dict[str, Prepared], prepared: list[Prepared], quiet: bool) -> dict[str, Outcome]:
        """The outcomes of a dry run, a batch run or a synchronous run."""
        if self.dry_run:
            self.dry_run_estimate = estimate(unique, self.cache, self.price, self.output_limit)
            print_estimate(f"{self.provider}:{self.model}", self.dry_run_estimate)
            return dry_run_outcomes(unique)
        for item in prepared:
            self.ledger.count_request(item.task)
        if self.batch_mode:
            return run_batches(self.dispatcher, self.batch_mode, self.cache_dir, unique, quiet)
        return self.dispatcher.settle(unique, quiet)


def sends_chat_messages(model_name: object) -> bool:
    """True when lm-eval's ``--model`` name is one of these chat-API adapters (they take the conversation that
    ``--apply_chat_template`` builds; without it lm-eval hands them the whole prompt as one user message)."""
    from lm_eval.api.registry import get_model

    if not model_name:
        return False
    try:
        model = get_model(str(model_name))
    except (KeyError, ValueError, ImportError):
        return False
    return isinstance(model, type) and issubclass(model, APIChatLM)
