"""``meds-anthropic``: Anthropic Messages through the official ``anthropic`` SDK (Claude 3.5 family).

System messages go to the separate ``system`` field; the key is read from ``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.registry import register_model

from .base import Answer, APIChatLM, Generation
from .retry import MalformedResponse


@register_model("meds-anthropic")
class AnthropicMessagesLM(APIChatLM):
    """Anthropic Messages: ``system`` separate, text blocks of the reply joined in order."""

    provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_model = "claude-3-5-sonnet-20241022"

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
        data = self._client_once().post("/v1/messages", body=body, cast_to=object)
        try:
            blocks, usage = data["content"], data["usage"]
            text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
            return Answer(text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
        except (KeyError, TypeError, AttributeError) as err:
            raise MalformedResponse(f"response has no content/usage: {str(data)[:200]}") from err
