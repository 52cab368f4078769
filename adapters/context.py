"""Fitting a chat prompt into the model's context window by cutting it on the left (SPEC A3).

The prompt plus the request's output limit must fit the window. When it does not, ``truncate="left"``
drops tokens from the start of the first message onward (the earliest few-shot cases go first, then
the definition), so that the query at the end always survives, as the paper describes, and a leading
assistant turn left behind goes too; ``"fail"`` sends nothing and records why.

Token counts (the same ones price the budget's worst case): OpenAI models use ``tiktoken`` when it is
installed and knows the model (its encoding files must be downloadable or cached). Otherwise, and
always for Anthropic, whose tokenizer is not public, :class:`EstimateCounter` counts on the high side,
so that a cut prompt fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .families import family_for

TRUNCATE_MODES = ("left", "fail")
# Chat-format tokens around each message and around the request; a little above what OpenAI documents.
MESSAGE_OVERHEAD = 4
REQUEST_OVERHEAD = 8


class TokenCounter(Protocol):
    """Counts tokens and cuts text to its last ``n`` tokens."""

    name: str

    def count(self, text: str) -> int: ...

    def keep_last(self, text: str, n: int) -> str: ...


class EstimateCounter:
    """High estimate without a tokenizer: an ASCII letter or space is a third of a token, any other
    character below U+2E80 (digit, punctuation, accented, Cyrillic or Greek letter, ...) one token,
    and a CJK character or anything above U+2E80 two tokens.

    Hand-written because no tokenizer of Claude (or of an unknown compatible server) is available.
    """

    name = "estimate"

    @staticmethod
    def _thirds(ch: str) -> int:
        if ch.isascii():
            return 1 if ch.isalpha() or ch.isspace() else 3
        return 3 if ord(ch) < 0x2E80 else 6

    def count(self, text: str) -> int:
        return -(-sum(map(self._thirds, text)) // 3)

    def keep_last(self, text: str, n: int) -> str:
        budget, start = 3 * n, len(text)
        while start > 0 and self._thirds(text[start - 1]) <= budget:
            budget -= self._thirds(text[start - 1])
            start -= 1
        return text[start:]


class TiktokenCounter:
    """Exact OpenAI token counts with a ``tiktoken`` encoding."""

    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding
        self.name = f"tiktoken:{encoding.name}"

    def _encode(self, text: str) -> list[int]:
        return self._encoding.encode(text, disallowed_special=())

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def keep_last(self, text: str, n: int) -> str:
        tokens = self._encode(text)
        if len(tokens) <= n:
            return text
        # A cut inside a multi-byte character decodes to U+FFFD: drop that partial character.
        return self._encoding.decode(tokens[-n:]).lstrip("\ufffd") if n > 0 else ""


def counter_for(provider: str, model: str) -> TokenCounter:
    """``tiktoken`` for an OpenAI model it knows, else :class:`EstimateCounter`."""
    if provider == "openai":
        try:
            import tiktoken

            return TiktokenCounter(tiktoken.encoding_for_model(model))
        except Exception:  # noqa: BLE001 - not installed, unknown model, or encoding file not downloadable
            pass
    return EstimateCounter()


def context_window(provider: str, model: str) -> int | None:
    """The context window of ``model``'s family row in ``models.json``, or None if unknown."""
    return family_for(provider, model).context


@dataclass(frozen=True)
class Fit:
    """The messages to send; ``error`` says why nothing may be sent (then ``messages`` are the original)."""

    messages: list[dict[str, str]]
    prompt_tokens: int
    dropped_tokens: int = 0
    error: str | None = None


def fit_messages(
    messages: list[dict[str, str]], counter: TokenCounter, window: int | None, max_output: int, truncate: str
) -> Fit:
    """Fit ``messages`` plus ``max_output`` output tokens into ``window`` tokens (no cut without a window).

    ``prompt_tokens`` is the prompt's count by ``counter``: the figure the budget's worst case uses too.
    """
    counts = [counter.count(m["content"]) for m in messages]
    total = sum(counts) + REQUEST_OVERHEAD + MESSAGE_OVERHEAD * len(messages)
    if window is None:
        return Fit(messages, total)
    excess = total - (window - max_output)
    if excess <= 0:
        return Fit(messages, total)
    why = f"prompt of {total} tokens ({counter.name}) + {max_output} output tokens > max_context_tokens={window}"
    if truncate == "fail":
        return Fit(messages, total, error=f"{why}; not sent (truncate=fail): pass truncate=left to cut it")
    if excess >= sum(counts):
        no_room = "no room is left for the query: raise max_context_tokens or lower max_gen_toks"
        return Fit(messages, total, error=f"{why}; {no_room}")
    kept: list[dict[str, str]] = []
    left = excess
    for message, count in zip(messages, counts, strict=True):
        if not left:
            kept.append(message)
        elif left >= count:  # the whole message goes; never the last one, as excess < sum(counts)
            left -= count
        else:
            kept.append({**message, "content": counter.keep_last(message["content"], count - left)})
            left = 0
    while len(kept) > 1 and kept[0]["role"] == "assistant":  # a conversation must not open with the model's turn
        kept.pop(0)
    return Fit(kept, total, dropped_tokens=excess)
