"""lm-eval model classes for the OpenAI and Anthropic APIs (import name ``meds_bench_adapters``).

Importing this package registers ``meds-openai`` and ``meds-anthropic`` with lm-eval's model
registry. lm-eval 0.4.13 loads no plugin entry points, so ``meds-bench eval`` imports it before
running lm_eval; from Python, ``import meds_bench_adapters`` first.
"""

# lm-eval imports its own model table only while its registry is empty: fill it first so that
# registering ours does not hide the built-in models (hf, vllm, local-chat-completions, ...).
import lm_eval.models  # noqa: F401

from .anthropic_messages import AnthropicMessagesLM
from .base import PROCESS_TALLY, APIChatLM, failed_requests
from .batch import BatchModeError
from .errors import AdapterError, MissingCredentials, RunStopped
from .families import ModelArgError
from .guard import CredentialedDataError, SecretInArgsError
from .openai_chat import OpenAIChatLM

# What `meds-bench eval` prints as one line and exits on (before any request, or when a run must stop).
USER_ERRORS = (AdapterError, ModelArgError, SecretInArgsError)

__all__ = [
    "PROCESS_TALLY",
    "USER_ERRORS",
    "APIChatLM",
    "AdapterError",
    "AnthropicMessagesLM",
    "BatchModeError",
    "CredentialedDataError",
    "MissingCredentials",
    "ModelArgError",
    "OpenAIChatLM",
    "RunStopped",
    "SecretInArgsError",
    "failed_requests",
]
