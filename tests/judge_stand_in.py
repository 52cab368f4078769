"""Judges that answer the rubric's structured-output requests in fixed ways, for the loopback fake servers
(``FakeLLMServer(answer=...)``): the reply is the JSON object the request's schema asks for."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# Judge model names the stand-in knows, and the point each gives every criterion (any other model: 3).
FIXED_POINTS = {"judge-top": 5, "judge-bottom": 1}


def criteria(body: dict[str, Any]) -> list[str]:
    """The criteria a judge request asks for: from its schema, else from the keys listed in the prompt."""
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
    schema = schema or ((body.get("output_config") or {}).get("format") or {}).get("schema")
    if schema:
        return [key for key in schema["required"] if key != "justification"]
    prompt = json.dumps(body.get("messages"), ensure_ascii=False)
    keys = re.search(r'with the keys (.*?): \\"justification\\" is', prompt)
    assert keys, "not a judge request"
    return [k for k in re.findall(r'\\"(\w+)\\"', keys.group(1)) if k != "justification"]


def _tagged(body: dict[str, Any], tag: str) -> str:
    text = json.dumps(body.get("messages"), ensure_ascii=False)
    found = re.findall(rf"<{tag}>\\n(.*?)\\n</{tag}>", text, re.S)
    return found[-1] if found else ""


def overlap_point(body: dict[str, Any]) -> int:
    """A judge that reads: 5 when the answer is the reference, 1 when they share under half of their words."""
    answer, reference = set(_tagged(body, "answer").lower().split()), set(_tagged(body, "reference").lower().split())
    if answer == reference:
        return 5
    shared = len(answer & reference) / max(len(reference), 1)
    return 1 if shared < 0.5 else 4


def stand_in(prose: bool = False) -> Callable[[dict[str, Any]], str]:
    """The fake server's answer function: fixed points by model name (``judge-reader``: :func:`overlap_point`);
    ``judge-garbage`` answers no JSON; ``prose`` wraps the JSON in text, as a server ignoring the schema does."""

    def answer(body: dict[str, Any]) -> str:
        model = body["model"]
        if model == "judge-garbage":
            return "I would rate this answer quite highly overall."
        point = overlap_point(body) if model == "judge-reader" else FIXED_POINTS.get(model, 3)
        reply = json.dumps({"justification": "stand-in", **dict.fromkeys(criteria(body), point)})
        return f"Here is my grading:\n```json\n{reply}\n```" if prose else reply

    return answer
