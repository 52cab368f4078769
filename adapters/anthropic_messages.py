"""``meds-anthropic``: Anthropic Messages through the official ``anthropic`` SDK (Claude 3.5 family).

System messages go to the separate ``system`` field; the key is read from ``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lm_eval.api.registry import register_model

from .base import Answer, APIChatLM, Generation
from .batch import BatchStatus, ItemError, exception_item_error
from .retry import MalformedResponse

RETRYABLE_ERRORS = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})


@register_model("meds-anthropic")
class AnthropicMessagesLM(APIChatLM):
    """Anthropic Messages: ``system`` separate, text blocks of the reply joined in order."""

    provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_model = "claude-3-5-sonnet-20241022"
    batch_limits = (100_000, 256_000_000)  # requests and bytes per Message Batch

    def make_client(self) -> Any:
        import anthropic

        return anthropic.Anthropic(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        if not turns:
            turns = [{"role": "user", "content": ""}]
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": gen.max_tokens,
            "messages": turns,
            "temperature": gen.temperature,
        }
        if system:
            body["system"] = system
        if gen.top_p is not None:
            body["top_p"] = gen.top_p
        # The API rejects empty or whitespace-only stop sequences: those are applied locally only.
        stops = [s for s in gen.stop if s and s.strip()]
        if stops:
            body["stop_sequences"] = stops
        return body

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        # The SDK's generic POST (auth, version header, timeouts, error types) with our own parsing: it
        # is cheaper per request and works whichever sampling fields an SDK release types.
        return self.parse_response(self._client_once().post("/v1/messages", body=body, cast_to=object), body)

    def parse_response(self, data: dict, body: dict) -> Answer:
        """The answer in a Messages response ``data`` to ``body``: its text blocks joined, its usage.

        Raises:
            MalformedResponse: no ``content`` / ``usage`` (transient).
        """
        try:
            blocks, usage = data["content"], data["usage"]
            text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            return Answer(text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
        except (KeyError, TypeError, AttributeError) as err:
            raise MalformedResponse(f"response has no content/usage: {str(data)[:200]}") from err

    # --- Message Batches (batch=true) ---------------------------------------------------------------

    def batch_line(self, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request of a Message Batch."""
        return {"custom_id": custom_id, "params": body}

    def batch_submit(self, lines: list[dict[str, Any]]) -> str:
        """Create a Message Batch of ``lines``; its id."""
        return self._client_once().messages.batches.create(requests=lines).id

    def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands (canceled items count as errored)."""
        batch = self._client_once().messages.batches.retrieve(batch_id)
        c = batch.request_counts
        return BatchStatus(
            batch.processing_status == "ended", c.succeeded, c.errored + c.canceled, c.expired, c.processing
        )

    def batch_results(
        self, batch_id: str, bodies: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, Answer | ItemError]]:
        """Each item of an ended batch from its results JSONL (``bodies``: the requests by custom_id)."""
        for entry in self._client_once().messages.batches.results(batch_id):
            row = entry.model_dump(mode="json")
            result = row.get("result") or {}
            kind = result.get("type")
            if kind == "succeeded":
                try:
                    yield (
                        row["custom_id"],
                        self.parse_response(result.get("message") or {}, bodies.get(row["custom_id"], {})),
                    )
                except Exception as err:  # noqa: BLE001 - classified like a synchronous response
                    yield row["custom_id"], exception_item_error(err)
            elif kind == "errored":
                error = (result.get("error") or {}).get("error") or {}
                retryable = error.get("type") in RETRYABLE_ERRORS
                yield row["custom_id"], ItemError("errored", f"{error.get('type')}: {error.get('message')}", retryable)
            else:  # expired (worth a follow-up) or canceled (someone stopped the batch): never run
                yield row["custom_id"], ItemError(str(kind), f"batch item {kind}", kind == "expired")

    def batch_cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch (finished items stay billed and in the results)."""
        self._client_once().messages.batches.cancel(batch_id)
