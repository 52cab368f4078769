"""Separating a reply's thinking from its answer, before stop sequences and filters see it.

Providers return thinking in three ways: Claude's ``thinking`` content blocks, an OpenAI-compatible
message's ``reasoning`` / ``reasoning_content`` field (vLLM, SGLang with a reasoning parser), and
text that opens with ``<think>`` and closes with ``</think>`` (a server without a reasoning parser,
DeepSeek-R1-style models). The first two are split by the provider modules; this module splits the
third. As lm-eval's ``think_end_token`` does, the answer is what follows the last end token.
"""

from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Split:
    """``answer`` is what gets scored; ``thinking`` is kept with the sample; ``unclosed`` means the reply
    began a think block that never ended (the allowance ran out, or a stop sequence cut inside it)."""

    answer: str
    thinking: str
    unclosed: bool = False


def split_inline_thinking(text: str, think_end_token: str | None = None) -> Split:
    """Split a leading think block off ``text``.

    With ``think_end_token`` (the model's own end marker), everything up to its last occurrence is
    thinking, whether or not the reply opened the block itself (many templates open it in the prompt).
    Without it, only a reply that begins with ``<think>`` is split, at the last ``</think>``.
    """
    end = think_end_token or THINK_CLOSE
    opened = text.lstrip().startswith(THINK_OPEN)
    if think_end_token is None and not opened:
        return Split(text, "")
    at = text.rfind(end)
    if at == -1:
        return Split("", _inner(text), unclosed=True) if opened else Split(text, "")
    return Split(text[at + len(end) :].lstrip(), _inner(text[:at]))


def _inner(thinking: str) -> str:
    thinking = thinking.strip()
    return thinking[len(THINK_OPEN) :].lstrip() if thinking.startswith(THINK_OPEN) else thinking
