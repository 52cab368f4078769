"""Model families: what each provider model takes in a request, read from ``models.json``.

One row per family (longest-prefix match on the model id) holds its prices (read by :mod:`.cost`, the
one home of prices and batch rates), context window, largest output, which sampling parameters it
accepts, its thinking control and the reasoning efforts it takes. :func:`thinking_plan` turns a
``reasoning_effort`` into the request fields of that family and the output allowance the thinking
needs on top of the task's own answer budget.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
# Output tokens set aside for thinking at each effort (the budget_tokens of the budget form).
THINKING_TOKENS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768, "max": 65536}
DEFAULT_EFFORT_ALLOWANCE = "medium"  # allowance for a model that thinks by default, no effort given
MIN_BUDGET_TOKENS = 1024  # Anthropic's smallest budget_tokens
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")

_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|global|jp|au)\.)?anthropic\.(.+?)(?:-v\d+(?::\d+)?)?$")


class ModelArgError(ValueError):
    """A model argument the model cannot take (told in one line, before any request is sent)."""


@dataclass(frozen=True)
class Family:
    """The request form of one model family; ``name`` is None for a model the table does not list."""

    name: str | None
    provider: str
    sampling: str = "all"  # all | one | none
    thinking: str | None = None  # adaptive | budget | reasoning | None
    thinking_default: str = "off"  # off | on | always
    efforts: tuple[str, ...] = ()
    context: int | None = None
    max_output: int | None = None
    retired: str | None = None

    @property
    def known(self) -> bool:
        return self.name is not None


def normalize_model_id(model: str) -> str:
    """The id the table is keyed by: without a ``provider/`` prefix, Bedrock's ``us.anthropic.`` and
    ``-v1:0`` parts, and with Vertex's ``@date`` as ``-date``."""
    model = model.rsplit("/", 1)[-1].strip()
    bedrock = _BEDROCK.match(model)
    if bedrock:
        model = bedrock.group(1)
    return model.replace("@", "-")


@lru_cache(maxsize=1)
def table() -> dict[str, dict[str, Any]]:
    """The bundled family rows (``models.json``), keyed by model-id prefix."""
    text = resources.files(__package__).joinpath("models.json").read_text(encoding="utf-8")
    return json.loads(text)["families"]


def longest_prefix(model: str, names: Any) -> str | None:
    """The entry of ``names`` equal to ``model``, else the longest one ``model`` starts with; None if none."""
    matches = [name for name in names if model.startswith(name)]
    return max(matches, key=len) if matches else None


def family_for(provider: str, model: str) -> Family:
    """The family row of ``model`` for ``provider``; an unlisted model gets an unknown family whose
    request form is learnt from the provider's 400 answers."""
    rows = {k: v for k, v in table().items() if v.get("provider") == provider}
    name = longest_prefix(normalize_model_id(model), rows)
    if name is None:
        return Family(None, provider, thinking="reasoning" if provider == "openai" else "adaptive")
    row = rows[name]
    return Family(
        name=name,
        provider=provider,
        sampling=row.get("sampling", "all"),
        thinking=row.get("thinking"),
        thinking_default=row.get("thinking_default", "off"),
        efforts=tuple(row.get("efforts", ())),
        context=row.get("context"),
        max_output=row.get("max_output"),
        retired=row.get("retired"),
    )


def parse_effort(value: Any) -> str | None:
    """``reasoning_effort`` as given (None when absent); an unknown value is refused."""
    if value in (None, ""):
        return None
    effort = str(value).strip().lower()
    if effort not in EFFORTS:
        raise ModelArgError(f"model argument reasoning_effort={value!r}: use one of {', '.join(EFFORTS)}")
    return effort


@dataclass(frozen=True)
class ThinkingPlan:
    """What a request carries for thinking: extra body fields, the output tokens added for thinking,
    whether thinking may happen (then Claude takes no sampling parameters) and a label for the results."""

    fields: dict[str, Any]
    allowance: int
    thinks: bool
    form: str


def thinking_plan(family: Family, effort: str | None, answer_tokens: int, reasoning_tokens: int | None) -> ThinkingPlan:
    """The thinking request of ``family`` at ``effort`` for a task answer of ``answer_tokens`` tokens.

    ``reasoning_tokens`` (model argument) replaces the effort's thinking allowance. Raises
    :class:`ModelArgError` when the family does not take the effort.
    """
    model = family.name or f"this {family.provider} model"
    if family.thinking is None:
        if effort not in (None, "none"):
            raise ModelArgError(f"reasoning_effort={effort}: {model} takes no reasoning effort (none, or leave it out)")
        return ThinkingPlan({}, 0, False, "none")
    if effort is not None and family.known and effort not in family.efforts:
        raise ModelArgError(f"reasoning_effort={effort}: {model} takes {', '.join(family.efforts)}")
    if effort == "none":
        if not family.known or family.thinking_default == "off":
            return ThinkingPlan({}, 0, False, "none")
        if family.thinking == "reasoning":
            return ThinkingPlan({"reasoning_effort": "none"}, 0, False, "reasoning_effort=none")
        return ThinkingPlan({"thinking": {"type": "disabled"}}, 0, False, "disabled")
    if effort is None and family.thinking_default == "off":
        return ThinkingPlan({}, 0, False, "none")
    allowance = THINKING_TOKENS[effort or DEFAULT_EFFORT_ALLOWANCE] if reasoning_tokens is None else reasoning_tokens
    if family.max_output is not None:
        allowance = max(0, min(allowance, family.max_output - answer_tokens))
    if family.thinking == "reasoning":
        fields = {"reasoning_effort": effort} if effort else {}
        return ThinkingPlan(fields, allowance, True, f"reasoning_effort={effort or 'provider default'}")
    if family.thinking == "budget":
        if allowance < MIN_BUDGET_TOKENS:
            raise ModelArgError(
                f"reasoning_effort={effort}: {model} needs budget_tokens >= {MIN_BUDGET_TOKENS} below max_tokens, "
                f"but {allowance} were given or fit beside the answer: give reasoning_tokens >= {MIN_BUDGET_TOKENS}"
            )
        return ThinkingPlan({"thinking": {"type": "enabled", "budget_tokens": allowance}}, allowance, True,
                            f"enabled budget_tokens={allowance}")  # fmt: skip
    if effort is None:  # adaptive thinking on by default: nothing to send, room to reserve
        return ThinkingPlan({}, allowance, True, "adaptive (provider default effort)")
    fields = {"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}
    return ThinkingPlan(fields, allowance, True, f"adaptive effort={effort}")
