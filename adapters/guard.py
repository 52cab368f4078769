"""Data-governance checks run before any request leaves the machine.

- PhysioNet-credentialed (MIMIC-derived) MedS-Bench tasks are refused for external API models
  unless the user opts in with ``allow_credentialed=true`` (see README, "Credentialed data and
  external APIs"). Tasks outside the MedS-Bench catalogue pass.
- API keys come from the environment only: a key-like model argument or a URL carrying
  credentials is refused, so that nothing secret is echoed into results, samples or logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from .errors import AdapterError

README_SECTION = 'README, section "Credentialed data and external APIs"'

_SECRET_ARG = re.compile(
    r"^(api[_-]?key|key|.*secret.*|.*password.*|auth.*|(access|bearer|session)?[_-]?token|organization_key)$",
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(r"(key|secret|token|sig|password|auth)", re.IGNORECASE)


class CredentialedDataError(AdapterError):
    """Credentialed tasks were sent to an external API model without the opt-in."""


class SecretInArgsError(ValueError):
    """An API key or other credential was passed where it would be recorded."""


def credentialed_tasks(task_names: Iterable[str]) -> list[str]:
    """The PhysioNet-credentialed MedS-Bench tasks among ``task_names`` (sorted, unique)."""
    from meds_bench.catalog import get_task

    found = set()
    for name in task_names:
        try:
            if get_task(name).credentialed:
                found.add(name)
        except KeyError:
            continue
    return sorted(found)


def check_credentialed(task_names: Iterable[str], allow: bool, model_name: str) -> None:
    """Raise :class:`CredentialedDataError` naming the tasks, unless ``allow`` or none is credentialed."""
    refused = credentialed_tasks(task_names)
    if refused and not allow:
        raise CredentialedDataError(
            f"refusing to send PhysioNet-credentialed (MIMIC-derived) tasks to external API model {model_name}: "
            f"{', '.join(refused)}. PhysioNet's data use agreement forbids sharing them with services that "
            f"retain data; pass allow_credentialed=true only under the zero-retention conditions in {README_SECTION}."
        )


def url_has_credentials(url: str | None) -> bool:
    """True when a URL embeds a user/password or a key-like query parameter."""
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.username or parts.password) or any(
        _SECRET_QUERY.search(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True)
    )


def check_no_secrets(model_args: dict[str, object]) -> None:
    """Refuse key-like model arguments and credential-bearing URLs (keys belong in the environment)."""
    for name, value in model_args.items():
        if _SECRET_ARG.match(name):
            raise SecretInArgsError(
                f"model argument {name!r} looks like a credential: set OPENAI_API_KEY / ANTHROPIC_API_KEY in the "
                "environment instead, so that it is never written to results, samples or logs"
            )
        if isinstance(value, str) and "://" in value and url_has_credentials(value):
            raise SecretInArgsError(
                f"model argument {name!r} is a URL carrying credentials; put the key in the environment instead"
            )


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-trivial secret replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return text
