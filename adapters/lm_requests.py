"""lm-eval's requests in and out: chat messages and generation settings from a request, the answer text
back with the task's stop sequences, and the ``meds_api`` record each sample carries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .args import as_bool
from .values import Generation, Outcome, Prepared


def task_of(request: Any) -> str:
    """The task name of an lm-eval request (``unknown`` when lm-eval gave none)."""
    metadata = getattr(request, "metadata", None) or ()
    return str(metadata[0]) if metadata and metadata[0] is not None else "unknown"


def doc_id_of(request: Any) -> Any:
    """The document id of an lm-eval request, or None."""
    metadata = getattr(request, "metadata", None) or ()
    return metadata[1] if len(metadata) > 1 else None


PLAIN_LAYOUT = "one user message (plain prompt)"
CHAT_LAYOUT = "chat messages (--apply_chat_template)"


def chat_messages(context: Any) -> list[dict[str, str]] | None:
    """The messages of a ``--apply_chat_template`` context: the JSON list that
    :meth:`APIChatLM.apply_chat_template` produced (system = cases + definition, user = query); None for a plain
    text context."""
    text = getattr(context, "prompt", context)  # lm-eval's JsonChatStr
    if not (isinstance(text, str) and text.startswith("[")):
        return None
    try:
        messages = json.loads(text)
    except json.JSONDecodeError:
        return None
    if (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("content"), str) and "role" in m for m in messages)
    ):
        return [{"role": str(m["role"]), "content": m["content"]} for m in messages]
    return None


def parse_context(context: Any) -> list[dict[str, str]]:
    """Chat messages of an lm-eval context: its :func:`chat_messages`, else the plain text as one user message."""
    messages = chat_messages(context)
    if messages is not None:
        return messages
    return [{"role": "user", "content": str(getattr(context, "prompt", context))}]


def prompt_layout(context: Any) -> str:
    """How a context reaches the model: :data:`CHAT_LAYOUT` or :data:`PLAIN_LAYOUT` (recorded per run)."""
    return CHAT_LAYOUT if chat_messages(context) is not None else PLAIN_LAYOUT


def generation_settings(gen_kwargs: dict[str, Any], default_max_tokens: int) -> Generation:
    """Greedy unless ``do_sample`` is true; the task's ``max_gen_toks`` and ``until`` are honoured; a
    ``json_schema`` (a JSON schema object) asks for structured output."""
    until = gen_kwargs.get("until") or ()
    if isinstance(until, str):
        until = (until,)
    do_sample = as_bool(gen_kwargs.get("do_sample", False))
    temperature = float(gen_kwargs.get("temperature", 1.0)) if do_sample else 0.0
    top_p = gen_kwargs.get("top_p") if do_sample else None
    max_tokens = int(gen_kwargs.get("max_gen_toks") or gen_kwargs.get("max_tokens") or default_max_tokens)
    schema = gen_kwargs.get("json_schema")
    return Generation(
        max_tokens,
        temperature,
        float(top_p) if top_p is not None else None,
        tuple(until),
        json.dumps(schema, sort_keys=True) if schema else None,
    )


def trim_at_stops(text: str, stops: Sequence[str]) -> str:
    """Cut ``text`` at the earliest stop sequence (servers may ignore or not be sent some of them)."""
    cut = len(text)
    for stop in stops:
        if stop:
            at = text.find(stop)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def annotate(request: Any, item: Prepared, outcome: Outcome) -> None:
    """Add ``meds_api`` (status, error, thinking, cut tokens) to the request's gen_kwargs, which lm-eval logs
    per sample."""
    info: dict[str, Any] = {"status": str(outcome.status)}
    if outcome.error:
        info["error"] = outcome.error
    if outcome.thinking:
        info["thinking"] = outcome.thinking
    if item.dropped_tokens:
        info["truncated"] = {"prompt_tokens": item.prompt_tokens, "dropped_tokens": item.dropped_tokens}
    context, *rest = request.args
    gen_kwargs = dict(rest[0]) if rest and isinstance(rest[0], dict) else {}
    request.arguments = (context, {**gen_kwargs, "meds_api": info}, *rest[1:])
