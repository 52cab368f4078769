"""The provider contract: every hook a provider class implements, batch hooks included.

:class:`Provider` is what the dispatcher (:mod:`.dispatch`) and the batch transport (:mod:`.batch`)
call; they import this module, never a provider or the lm-eval class. A provider class
(``OpenAIChatLM``, ``AnthropicMessagesLM``) implements the abstract hooks and sets the class
attributes; the lm-eval class (:class:`.base.APIChatLM`) implements the services marked so below.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any, ClassVar

from .values import Answer, BatchStatus, Generation, ItemFailed


class Provider(abc.ABC):
    """One provider's wire protocol, as the provider-neutral floors see it."""

    provider: ClassVar[str]  # "openai" / "anthropic": family rows, cache keys, messages
    key_env: ClassVar[str]  # the environment variable holding the API key
    base_url_env: ClassVar[str]  # the environment variable of the endpoint
    example_model: ClassVar[str]  # named in messages about a missing or retired model
    batch_limits: ClassVar[tuple[int, int]]  # requests and bytes per batch
    # Whether the provider takes sampling parameters while the model thinks (Claude does not).
    samples_while_thinking: ClassVar[bool] = True

    # --- synchronous requests -----------------------------------------------------------------

    @abc.abstractmethod
    def make_client(self) -> Any:
        """The SDK client, with its own retries switched off (ours apply)."""

    def needs_api_key(self) -> bool:
        """Whether ``key_env`` must be set (False for platforms with their own credentials)."""
        return True

    @abc.abstractmethod
    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        """The exact request body sent to the provider (also the cache key material)."""

    @abc.abstractmethod
    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        """One API call for ``body`` (built from ``gen``); SDK exceptions propagate to the retry loop."""

    def request_body(self, body: dict[str, Any], gen: Generation) -> dict[str, Any]:
        """``body`` (as :meth:`build_body` made it, the cache key material) in the request form this run has
        learnt so far; called before every attempt."""
        return body

    def adapt_form(self, err: BaseException, body: dict[str, Any]) -> bool:
        """Change this run's request form after ``err`` answered ``body``; whether it did (then the retry
        loop sends the request again at once, built by :meth:`request_body`)."""
        return False

    def rejected_parameter(self, err: BaseException) -> str | None:
        """The body field a provider's 400 answer names as not accepted by the model, or None."""
        return None

    def extra_info(self) -> dict[str, Any]:
        """Provider facts added to ``config.meds_api`` in the results."""
        return {}

    # --- batch interface (batch=true) --------------------------------------------------------------

    @abc.abstractmethod
    def batch_line(self, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One item of a batch carrying ``body`` under ``custom_id`` (the request's cache key)."""

    @abc.abstractmethod
    def batch_submit(self, lines: list[dict[str, Any]]) -> str:
        """Submit one batch of ``lines`` (within ``batch_limits``); its id."""

    @abc.abstractmethod
    def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands."""

    @abc.abstractmethod
    def batch_results(
        self, batch_id: str, bodies: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, Answer | ItemFailed]]:
        """Each item of an ended batch, by custom_id: its answer, or why it has none
        (``bodies``: the requests of this run by custom_id)."""

    @abc.abstractmethod
    def batch_cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch."""

    # --- services of the lm-eval class ---------------------------------------------------------

    @abc.abstractmethod
    def client(self) -> Any:
        """The SDK client of this instance, made once (lm-eval class)."""

    @abc.abstractmethod
    def output_limit(self, gen: Generation) -> int:
        """Output tokens a request may use: the answer budget plus the thinking allowance (lm-eval class)."""
