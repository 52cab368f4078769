"""``meds-openai``: OpenAI Chat Completions through the official ``openai`` SDK.

Works with OpenAI, Azure OpenAI's v1 endpoint and OpenAI-compatible servers (vLLM, SGLang, TGI,
llama.cpp, ...) through ``base_url``. The key is read from ``OPENAI_API_KEY``.

Two request forms, chosen by the model's family row (:mod:`.families`): the standard one
(``max_tokens``, ``temperature``, ``top_p``, ``stop``) and the reasoning-model one (o-series, gpt-5),
which takes ``max_completion_tokens`` (the task's answer budget plus the thinking allowance),
``reasoning_effort`` and no sampling settings or stop sequences (stops are applied locally). When the
server answers 400 naming a parameter of the other form as unsupported, the retry loop sends the
request again at once in the other form (:meth:`OpenAIChatLM.adapt_form`), which is kept for the rest
of the run. Cache keys are those of the form chosen by name.

Thinking: a message's ``reasoning_content`` / ``reasoning`` field, or a reply that opens with a
``<think>`` block (or ends its thinking with ``think_end_token``), is split off before stop sequences
apply. A reply that opens a think block the server's stop sequences cut short makes the run apply stop
sequences locally from then on (recorded), and that request is sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from lm_eval.api.registry import register_model

from .args import as_bool
from .base import APIChatLM
from .families import ModelArgError, ThinkingPlan, thinking_plan
from .retry import MalformedResponse, exception_item_error, http_item_error
from .thinking import split_inline_thinking
from .values import Answer, BatchStatus, Generation, ItemFailed

log = logging.getLogger(__name__)

BATCH_ENDPOINT = "/v1/chat/completions"
BATCH_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
MAX_STOP_SEQUENCES = 4  # the Chat Completions API accepts at most four
STANDARD_ONLY = frozenset({"max_tokens", "temperature", "top_p", "stop"})
REASONING_ONLY = frozenset({"max_completion_tokens"})
_NAMED_PARAM = re.compile(
    r"(?:[Uu]nsupported (?:parameter|value)|[Uu]nrecognized request argument(?: supplied)?)\W*'?(\w+)"
)


class StopsCutThinking(Exception):
    """A reply whose thinking the server's stop sequences cut: stops apply locally from now on, and the
    request is sent again without them (a decision of the retry loop, see :meth:`OpenAIChatLM.adapt_form`)."""


def rejected_parameter(err: BaseException) -> str | None:
    """The request parameter a 400 error names as unsupported (OpenAI's ``param`` field or its message)."""
    if getattr(err, "status_code", None) != 400:
        return None
    body = getattr(err, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # servers that nest it once more
        body = body["error"]
    param = body.get("param") if isinstance(body, dict) else None
    if isinstance(param, str) and param:
        return param
    message = body.get("message") if isinstance(body, dict) else None
    match = _NAMED_PARAM.search(str(message or err))
    return match.group(1) if match else None


def _template_kwargs(value: Any, enable_thinking: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ModelArgError(
                'model argument chat_template_kwargs: give a JSON object, e.g. {"enable_thinking": false} '
                "(in JSON --model_args), or use enable_thinking=true|false"
            )
    kwargs = dict(value or {})
    if enable_thinking not in (None, ""):
        kwargs["enable_thinking"] = as_bool(enable_thinking)
    return kwargs or None


@register_model("meds-openai")
class OpenAIChatLM(APIChatLM):
    """OpenAI Chat Completions: system and user messages are sent as they are."""

    provider = "openai"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    example_model = "gpt-5.1"
    batch_limits = (50_000, 200_000_000)  # requests and bytes per input file

    def __init__(
        self,
        *,
        think_end_token: str | None = None,
        chat_template_kwargs: Any = None,
        enable_thinking: Any = None,
        **kwargs: Any,
    ) -> None:
        self.think_end_token = think_end_token or None
        self.chat_template_kwargs = _template_kwargs(chat_template_kwargs, enable_thinking)
        # A model that thinks inline needs its stop sequences applied after the thinking is split off.
        self._stops_local = self.think_end_token is not None
        self._uploads: dict[str, str] = {}  # batch input files uploaded, by content hash, until a batch uses one
        self._switched_to: bool | None = None  # the form a 400 naming a parameter switched to (None: by name)
        super().__init__(**kwargs)

    @property
    def _named_reasoning(self) -> bool:
        """Whether the family row names the reasoning form (max_completion_tokens)."""
        return self.family.known and self.family.thinking == "reasoning"

    @property
    def _reasoning(self) -> bool:
        """Whether requests use the reasoning form: as named, until a 400 switched it for the run."""
        return self._named_reasoning if self._switched_to is None else self._switched_to

    def make_client(self) -> Any:
        import openai

        return openai.OpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def thinking_plan(self, answer_tokens: int) -> ThinkingPlan:
        """As the family row says, but by the form in use: the reasoning form always thinks, and a
        reasoning family whose server turned out to take only the standard form does not."""
        family, form = self.family, self._reasoning
        if form is True and family.thinking_default == "off":
            family = replace(family, thinking="reasoning", thinking_default="always")
        elif form is False and family.known and family.thinking == "reasoning":
            family = replace(family, thinking_default="off")
        return thinking_plan(family, self.reasoning_effort, answer_tokens, self.reasoning_tokens)

    def extra_info(self) -> dict[str, Any]:
        return {
            "request_form": "max_completion_tokens" if self._reasoning else "max_tokens",
            "reasoning_tokens": self.thinking_plan(self.max_gen_toks).allowance if self._reasoning else None,
            "think_end_token": self.think_end_token,
            "stop_sequences": "applied locally" if self._stops_local or self._reasoning else "sent to the server",
            "chat_template_kwargs": self.chat_template_kwargs,
        }

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        return self._body(messages, gen, self._named_reasoning, stops=self.think_end_token is None)

    def _body(self, messages: list[dict[str, str]], gen: Generation, reasoning: bool, stops: bool) -> dict[str, Any]:
        plan = self.thinking_plan(gen.max_tokens)
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if reasoning:
            body["max_completion_tokens"] = gen.max_tokens + plan.allowance
            if plan.thinks or plan.fields:
                self.note("provider default sampling (reasoning models take no sampling parameters)")
            body.update(plan.fields)
        else:
            body["max_tokens"] = gen.max_tokens + plan.allowance
            body.update(self.sampling_fields(gen, plan.thinks))
            body.update(plan.fields)
            sent = [s for s in gen.stop if s][:MAX_STOP_SEQUENCES] if stops else []  # the rest apply locally
            if sent:
                body["stop"] = sent
        if self.chat_template_kwargs:
            body["chat_template_kwargs"] = self.chat_template_kwargs
        if gen.schema:  # vLLM and SGLang honour it with guided decoding
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "strict": True, "schema": json.loads(gen.schema)},
            }
        return body

    def request_body(self, body: dict[str, Any], gen: Generation) -> dict[str, Any]:
        """``body`` in the form this run learnt: the other form after a switch, stops local after a cut."""
        if self._reasoning != self._named_reasoning or (self._stops_local and "stop" in body):
            return self._body(body["messages"], gen, self._reasoning, stops=not self._stops_local)
        return body

    def adapt_form(self, err: BaseException, body: dict[str, Any]) -> bool:
        """Switch to the other request form when a 400 names a parameter of the form ``body`` used; stops
        already apply locally after :class:`StopsCutThinking`. Either way: send again in the new form."""
        if isinstance(err, StopsCutThinking):
            return True
        reasoning = "max_completion_tokens" in body
        param = rejected_parameter(err)
        if param not in (REASONING_ONLY if reasoning else STANDARD_ONLY):
            return False  # not a form problem: the dispatcher's field rule or the retry policy decides
        self._switch_form(to_reasoning=not reasoning, param=param)
        return True

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        # The SDK's generic POST: its auth, base URL, timeouts and error types, without the typed-parameter
        # transform and response models, which cost more CPU than everything else per request.
        data = self.client().post("/chat/completions", body=body, cast_to=object)
        answer = self.parse_response(data, body)
        if not ("stop" in body and _cut_inside_thinking(data, self.think_end_token)):
            return answer
        with self._form_lock:
            first, self._stops_local = not self._stops_local, True
        if first:
            log.warning("%s thinks inline and the server's stop sequences cut the thinking: stops now apply "
                        "locally for the rest of the run", self.model)  # fmt: skip
        raise StopsCutThinking(f"{self.model}: the server's stop sequences cut the thinking")

    def rejected_parameter(self, err: BaseException) -> str | None:
        return rejected_parameter(err)

    def _switch_form(self, to_reasoning: bool, param: str) -> None:
        with self._form_lock:
            if self._reasoning == to_reasoning:
                return
            self._switched_to = to_reasoning
        form = "max_completion_tokens (+ thinking allowance)" if to_reasoning else "max_tokens"
        log.warning("%s rejects %r: requests now use %s for the rest of the run", self.model, param, form)

    def parse_response(self, data: Any, body: dict[str, Any]) -> Answer:
        """The answer of a chat completion, its thinking split off."""
        choice, content = _choice_and_text(data)
        message = choice["message"]
        split = split_inline_thinking(content, self.think_end_token)
        field = message.get("reasoning_content") or message.get("reasoning")
        thinking = "\n\n".join(t for t in (field if isinstance(field, str) else "", split.thinking) if t)
        finish = choice.get("finish_reason")
        usage = data.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        reasoning_tokens = int(details.get("reasoning_tokens") or 0) if isinstance(details, dict) else 0
        if isinstance(usage.get("prompt_tokens"), int):
            input_tokens, output_tokens = usage["prompt_tokens"], int(usage.get("completion_tokens") or 0)
        else:
            prompt = "".join(m.get("content", "") for m in body.get("messages", []) if isinstance(m, dict))
            input_tokens = self.counter.count(prompt)
            output_tokens = self.counter.count(content) if content else 0
        limit = not split.answer.strip() and finish == "length"
        return Answer(split.answer, input_tokens, output_tokens, thinking, reasoning_tokens, output_limit=limit)

    # --- Batch API (batch=true): one model per JSONL input file, uploaded with purpose "batch" ---------

    def batch_line(self, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One line of the batch input file."""
        return {"custom_id": custom_id, "method": "POST", "url": BATCH_ENDPOINT, "body": body}

    def batch_submit(self, lines: list[dict[str, Any]]) -> str:
        """Upload ``lines`` as a JSONL file and start a batch on it; its id. A retry after a failed create
        reuses the file already uploaded for the same lines."""
        client = self.client()
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._uploads:
            upload = client.files.create(file=("meds-bench-batch.jsonl", data, "application/jsonl"), purpose="batch")
            self._uploads[digest] = upload.id
        batch = client.batches.create(
            input_file_id=self._uploads[digest], endpoint=BATCH_ENDPOINT, completion_window="24h"
        )
        del self._uploads[digest]
        return batch.id

    def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands; its items count as expired once the whole batch has expired."""
        batch = self.client().batches.retrieve(batch_id)
        counts = batch.request_counts
        total, done, failed = (counts.total, counts.completed, counts.failed) if counts else (0, 0, 0)
        left = max(0, total - done - failed)
        if batch.status in BATCH_ENDED:
            return BatchStatus(
                True, done, failed + (0 if batch.status == "expired" else left), left * (batch.status == "expired"), 0
            )
        return BatchStatus(False, done, failed, 0, left)

    def batch_results(
        self, batch_id: str, bodies: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, Answer | ItemFailed]]:
        """Each item of an ended batch from its output and error files (``bodies``: the requests by custom_id)."""
        client = self.client()
        batch = client.batches.retrieve(batch_id)
        if batch.status == "failed":  # the input file was refused as a whole: sending it again cannot help
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            message = "; ".join(str(e.message) for e in errors) or "the batch failed validation"
            for key in bodies:
                yield key, ItemFailed("errored", f"batch {batch_id} failed: {message}", False)
            return
        seen = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in client.files.content(file_id).text.splitlines():
                if line.strip():
                    row = json.loads(line)
                    seen.add(row["custom_id"])
                    yield row["custom_id"], self._batch_item(row, bodies.get(row["custom_id"], {}))
        if batch.status == "cancelled":  # someone stopped it (`meds-bench batches cancel`): no follow-up
            for key in bodies.keys() - seen:
                yield key, ItemFailed("canceled", f"batch {batch_id} was cancelled", False)

    def _batch_item(self, row: dict[str, Any], body: dict[str, Any]) -> Answer | ItemFailed:
        error = row.get("error")
        if error:  # not run: expired or cancelled with its batch, or refused by the batch runner
            code = str(error.get("code") or "error")
            kind = {"batch_expired": "expired", "batch_cancelled": "canceled"}.get(code, "errored")
            return ItemFailed(kind, f"{code}: {error.get('message', '')}", kind != "canceled")
        response = row.get("response") or {}
        status = int(response.get("status_code") or 0)
        data = response.get("body") or {}
        if status != 200:
            detail = data.get("error") if isinstance(data, dict) else None
            return http_item_error(status, str(detail.get("message") if isinstance(detail, dict) else data))
        try:
            return self.parse_response(data, body)
        except Exception as err:  # noqa: BLE001 - classified like a synchronous response
            return exception_item_error(err)

    def batch_cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch (finished items stay billed and downloadable)."""
        self.client().batches.cancel(batch_id)


def _choice_and_text(data: Any) -> tuple[dict[str, Any], str]:
    """The first choice of a chat completion and its text content (joined when sent as parts)."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as err:
        raise MalformedResponse(f"response has no choices[0].message: {str(data)[:200]}") from err
    content = message.get("content")
    if isinstance(content, list):  # some compatible servers return content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return choice, content if isinstance(content, str) else ""


def _cut_inside_thinking(data: Any, think_end_token: str | None) -> bool:
    """Whether a reply opened a think block that ended for a reason other than the output limit
    (a server-side stop sequence matched inside the thinking)."""
    choice, content = _choice_and_text(data)
    return split_inline_thinking(content, think_end_token).unclosed and choice.get("finish_reason") != "length"
