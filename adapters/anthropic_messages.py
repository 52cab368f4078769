"""``meds-anthropic``: Claude through the official ``anthropic`` SDK, on Anthropic's API, Amazon Bedrock
(``platform=bedrock``) or Google Vertex AI (``platform=vertex``).

System messages go to the separate ``system`` field. The request form follows the model's family row
(:mod:`.families`): sampling parameters only where the family takes them, thinking as
``thinking.type: adaptive`` + ``output_config.effort`` (Claude 4.6 and later) or ``thinking.type:
enabled`` + ``budget_tokens`` (older). Thinking blocks come back before the text and are kept apart
from the answer. Credentials: ``ANTHROPIC_API_KEY`` on Anthropic's API; the platforms' own environment
(AWS credentials or ``AWS_BEARER_TOKEN_BEDROCK``; Google application-default credentials) elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lm_eval.api.registry import register_model

from .base import APIChatLM
from .families import ModelArgError
from .retry import MalformedResponse, exception_item_error, provider_message
from .values import Answer, BatchStatus, Generation, ItemFailed

RETRYABLE_ERRORS = frozenset({"api_error", "overloaded_error", "rate_limit_error", "timeout_error"})
PLATFORMS = {
    "anthropic": "ANTHROPIC_BASE_URL",
    "bedrock": "ANTHROPIC_BEDROCK_BASE_URL",
    "vertex": "ANTHROPIC_VERTEX_BASE_URL",
}
# "`temperature` is deprecated for this model." / "`temperature` and `top_p` cannot both be specified ..."
_BOTH = re.compile(r"`(\w+)` and `(\w+)` cannot both be specified")
_ONE = re.compile(r"`?([a-z_]+)(?:\.[\w.]+)?`? (?:is deprecated|is not supported|is not allowed|is unsupported)")


def rejected_field(message: str) -> str | None:
    """The top-level body field an Anthropic 400 message names as not accepted (the second of a pair
    that cannot both be given), or None."""
    both = _BOTH.search(message)
    if both:
        return both.group(2)
    one = _ONE.search(message)
    return one.group(1) if one else None


@register_model("meds-anthropic")
class AnthropicMessagesLM(APIChatLM):
    """Anthropic Messages: ``system`` separate, thinking blocks split off, text blocks joined in order."""

    provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    example_model = "claude-sonnet-5"
    batch_limits = (100_000, 256_000_000)  # requests and bytes per Message Batch
    samples_while_thinking = False  # with thinking on, Claude takes no temperature or top_p

    def __init__(
        self, *, platform: str = "anthropic", region: str | None = None, project_id: str | None = None, **kwargs: Any
    ) -> None:
        self.platform = str(platform).strip().lower()
        if self.platform not in PLATFORMS:
            raise ModelArgError(f"model argument platform={platform!r}: use one of {', '.join(PLATFORMS)}")
        self.base_url_env = PLATFORMS[self.platform]
        self.region = region or None
        self.project_id = project_id or None
        super().__init__(**kwargs)
        if self.batch_mode and self.platform != "anthropic":
            raise ModelArgError(
                f"batch=true: the anthropic SDK has no Message Batches client for platform={self.platform}; "
                "run without batch=true there, or use Anthropic's API"
            )

    def needs_api_key(self) -> bool:
        return self.platform == "anthropic"

    def make_client(self) -> Any:
        import anthropic

        common = {"base_url": self.base_url, "timeout": self.timeout, "max_retries": 0}
        if self.platform == "bedrock":
            return anthropic.AnthropicBedrock(aws_region=self.region, **common)
        if self.platform == "vertex":
            extra = {"region": self.region} if self.region else {}
            if self.project_id:
                extra["project_id"] = self.project_id
            return anthropic.AnthropicVertex(**extra, **common)
        return anthropic.Anthropic(api_key=self._api_key, **common)

    def extra_info(self) -> dict[str, Any]:
        return {"platform": self.platform, "region": self.region}

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        if not turns:
            turns = [{"role": "user", "content": ""}]
        plan = self.thinking_plan(gen.max_tokens)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": gen.max_tokens + plan.allowance,
            "messages": turns,
            **self.sampling_fields(gen, plan.thinks),
            **plan.fields,
        }
        if system:
            body["system"] = system
        # The API rejects empty or whitespace-only stop sequences: those are applied locally only.
        stops = [s for s in gen.stop if s and s.strip()]
        if stops:
            body["stop_sequences"] = stops
        if gen.schema:  # structured outputs, beside the effort that output_config may already hold
            schema_format = {"type": "json_schema", "schema": json.loads(gen.schema)}
            body["output_config"] = {**body.get("output_config", {}), "format": schema_format}
        return body

    def rejected_parameter(self, err: BaseException) -> str | None:
        return rejected_field(provider_message(err)) if getattr(err, "status_code", None) == 400 else None

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        # The SDK's generic POST (auth, version header, platform routing, timeouts, error types) with our own
        # parsing: it is cheaper per request and works whichever request fields an SDK release types.
        return self.parse_response(self.client().post("/v1/messages", body=body, cast_to=object), body)

    def parse_response(self, data: Any, body: dict[str, Any]) -> Answer:
        """The answer of a Messages response: text blocks joined, thinking blocks kept apart."""
        try:
            blocks, usage = data["content"], data["usage"]
            text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            thinking = "\n\n".join(
                b.get("thinking", "") if b.get("type") == "thinking" else "[redacted thinking]"
                for b in blocks
                if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking")
            )
            input_tokens, output_tokens = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
        except (KeyError, TypeError, AttributeError) as err:
            raise MalformedResponse(f"response has no content/usage: {str(data)[:200]}") from err
        limit = not text.strip() and data.get("stop_reason") == "max_tokens"
        # The API reports no thinking-token count: the thinking text is counted as the context fitting counts.
        reasoning = min(output_tokens, self.counter.count(thinking)) if thinking else 0
        return Answer(text, input_tokens, output_tokens, thinking, reasoning, output_limit=limit)

    # --- Message Batches (batch=true) ---------------------------------------------------------------

    def batch_line(self, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request of a Message Batch."""
        return {"custom_id": custom_id, "params": body}

    def batch_submit(self, lines: list[dict[str, Any]]) -> str:
        """Create a Message Batch of ``lines``; its id."""
        return self.client().messages.batches.create(requests=lines).id

    def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands (canceled items count as errored)."""
        batch = self.client().messages.batches.retrieve(batch_id)
        c = batch.request_counts
        return BatchStatus(
            batch.processing_status == "ended", c.succeeded, c.errored + c.canceled, c.expired, c.processing
        )

    def batch_results(
        self, batch_id: str, bodies: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, Answer | ItemFailed]]:
        """Each item of an ended batch from its results JSONL (``bodies``: the requests by custom_id)."""
        for entry in self.client().messages.batches.results(batch_id):
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
                yield row["custom_id"], ItemFailed("errored", f"{error.get('type')}: {error.get('message')}", retryable)
            else:  # expired (worth a follow-up) or canceled (someone stopped the batch): never run
                yield row["custom_id"], ItemFailed(str(kind), f"batch item {kind}", kind == "expired")

    def batch_cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch (finished items stay billed and in the results)."""
        self.client().messages.batches.cancel(batch_id)
