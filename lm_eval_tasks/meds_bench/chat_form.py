"""Which chat layout a model's template can carry: system + user, one merged user turn, or none.

The paper's chat prompt puts the cases and the definition in a system message. Some templates
raise on a system role; lm-eval's hf backend then retries with every system message removed, and
the model would be scored on the bare query. Rendering a probe conversation once tells which
layout keeps every part of the prompt:

- ``system+user``: the system text survives the template;
- ``merged_user``: it does not (raised or dropped), but a user turn renders; the whole prompt
  goes in one user message, as the original did for Mistral;
- ``plain``: no chat template renders at all (e.g. a tokenizer without one); the plain-text
  prompt is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SYSTEM_USER = "system+user"
MERGED_USER = "merged_user"
PLAIN = "plain"

_SYSTEM_PROBE = "meds-bench-system-probe-5d1c"
_USER_PROBE = "meds-bench-user-probe-93ab"


def _renders(chat_template: Callable[..., Any], messages: list[dict[str, str]]) -> str | None:
    # Backends wrap template failures differently (jinja2 errors, ValueError when a tokenizer has
    # no template, backend-specific errors), so any exception means "this layout does not render".
    try:
        rendered = chat_template(messages, add_generation_prompt=True)
    except Exception:  # noqa: BLE001
        return None
    # API backends return a message list or a JSON wrapper instead of a string; the probes are
    # plain ASCII, so they survive str() of either.
    return str(rendered)


def detect_chat_form(chat_template: Callable[..., Any]) -> str:
    """The layout to render with ``chat_template`` (lm-eval's ``lm.apply_chat_template``)."""
    probe = [{"role": "system", "content": _SYSTEM_PROBE}, {"role": "user", "content": _USER_PROBE}]
    rendered = _renders(chat_template, probe)
    if rendered is not None and _SYSTEM_PROBE in rendered and _USER_PROBE in rendered:
        return SYSTEM_USER
    rendered = _renders(chat_template, [{"role": "user", "content": _USER_PROBE}])
    return MERGED_USER if rendered is not None and _USER_PROBE in rendered else PLAIN
