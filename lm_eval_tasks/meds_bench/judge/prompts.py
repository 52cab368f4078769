"""A judge's request: the messages built from a rubric and one answer, and the JSON schema of the reply."""

from __future__ import annotations

import json
from typing import Any

from meds_bench.judge.rubrics import SCALE, Rubric


def _criteria_text(rubric: Rubric) -> str:
    lines = []
    for criterion in rubric.criteria:
        anchors = "; ".join(f"{point} = {meaning}" for point, meaning in sorted(criterion.anchors.items()))
        lines.append(f'- "{criterion.name}": {criterion.question} ({anchors})')
    return "\n".join(lines)


def _keys_text(rubric: Rubric) -> str:
    return ", ".join(f'"{key}"' for key in rubric.keys)


def judge_messages(rubric: Rubric, query: str, reference: str, answer: str) -> list[dict[str, str]]:
    """System (role, task, rubric) and user (input, reference, answer, reply format) messages."""
    system = rubric.templates["system"].format(task=rubric.task, criteria=_criteria_text(rubric))
    user = rubric.templates["user"].format(
        query=query.strip(),
        reference_role=rubric.reference_role,
        reference=reference.strip(),
        answer=answer.strip(),
        keys=_keys_text(rubric),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def retry_messages(messages: list[dict[str, str]], reply: str, rubric: Rubric) -> list[dict[str, str]]:
    """The conversation asking once more for a reply that could not be read."""
    again = rubric.templates["unreadable"].format(keys=_keys_text(rubric))
    return [*messages, {"role": "assistant", "content": reply or "(empty)"}, {"role": "user", "content": again}]


def reply_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON schema of a reply: a justification and an integer on the scale per criterion (an ``enum``, which
    OpenAI's strict mode, Anthropic's structured outputs and vLLM's guided decoding all take)."""
    points = list(range(SCALE[0], SCALE[1] + 1))
    properties: dict[str, Any] = {"justification": {"type": "string"}}
    properties.update({c.name: {"type": "integer", "enum": points} for c in rubric.criteria})
    return {"type": "object", "properties": properties, "required": list(rubric.keys), "additionalProperties": False}


def as_context(messages: list[dict[str, str]]) -> str:
    """The messages in the form the adapters read a chat context (``--apply_chat_template``'s JSON list)."""
    return json.dumps(messages, ensure_ascii=False)
