"""Reading a judge's reply leniently: strict JSON first, then the first JSON object found in the text (fenced or
inline, after any thinking), with keys matched case-insensitively and scores given as numbers or digit strings
("4", "4/5"). Hand-written: no library reads a JSON object embedded in prose."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from meds_bench.judge.rubrics import SCALE, Rubric

_SCORE = re.compile(r"^\s*(\d+(?:\.0+)?)\s*(?:/\s*\d+)?\s*$")


@dataclass(frozen=True)
class Verdict:
    """A readable reply: a score on the scale per criterion and the justification."""

    scores: dict[str, int]
    justification: str

    @property
    def score(self) -> float:
        """The mean of the criteria on 0-100: ``(s - low) / (high - low) * 100``."""
        low, high = SCALE
        return round(sum((s - low) / (high - low) * 100 for s in self.scores.values()) / len(self.scores), 4)


def _objects(text: str) -> list[Any]:
    """Every JSON object that ``text`` is or contains, the whole text first."""
    found: list[Any] = []
    with contextlib.suppress(json.JSONDecodeError, ValueError):
        found.append(json.loads(text))
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        found.append(value)
    return [value for value in found if isinstance(value, dict)]


def _point(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        number = int(value)
    elif isinstance(value, str) and (match := _SCORE.match(value)):
        number = int(float(match.group(1)))
    else:
        return None
    return number if SCALE[0] <= number <= SCALE[1] else None


def read_verdict(text: str, rubric: Rubric) -> Verdict | None:
    """The verdict in a reply, or None when no JSON object in it scores every criterion on the scale."""
    for obj in _objects(text or ""):
        lowered = {str(k).strip().lower(): v for k, v in obj.items()}
        scores = {c.name: _point(lowered.get(c.name.lower())) for c in rubric.criteria}
        if all(value is not None for value in scores.values()):
            justification = lowered.get("justification")
            return Verdict(
                {k: int(v) for k, v in scores.items() if v is not None},
                justification if isinstance(justification, str) else "",
            )
    return None
