"""``meds-openai``: OpenAI Chat Completions through the official ``openai`` SDK.

Works with OpenAI (GPT-4 family), Azure OpenAI's v1 endpoint and OpenAI-compatible servers
(vLLM, TGI, llama.cpp, ...) through ``base_url``. The key is read from ``OPENAI_API_KEY``.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.registry import register_model

from .base import Answer, APIChatLM, Generation
from .cost import estimate_tokens
from .retry import MalformedResponse

MAX_STOP_SEQUENCES = 4  # the Chat Completions API accepts at most four


@register_model("meds-openai")
class OpenAIChatLM(APIChatLM):
    """OpenAI Chat Completions: system and user messages are sent as they are."""

    provider = "openai"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_model = "gpt-4o"

    def make_client(self) -> Any:
        import openai

        return openai.OpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": gen.max_tokens,
            "temperature": gen.temperature,
        }
        if gen.top_p is not None:
            body["top_p"] = gen.top_p
        stops = [s for s in gen.stop if s][:MAX_STOP_SEQUENCES]  # the rest are applied locally
        if stops:
            body["stop"] = stops
        return body

    def send(self, body: dict[str, Any]) -> Answer:
        # The SDK's generic POST: its auth, base URL, timeouts and error types, without the typed-parameter
        # transform and response models, which cost more CPU than everything else per request.
        data = self._client_once().post("/chat/completions", body=body, cast_to=object)
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as err:
            raise MalformedResponse(f"response has no choices[0].message: {str(data)[:200]}") from err
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        text = content if isinstance(content, str) else ""
        usage = data.get("usage") or {}
        if isinstance(usage.get("prompt_tokens"), int):
            return Answer(text, usage["prompt_tokens"], int(usage.get("completion_tokens") or 0))
        return Answer(text, self._input_estimate(body), estimate_tokens(text) if text else 0)
