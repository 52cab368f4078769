"""lm-eval model classes for the OpenAI and Anthropic APIs (import name ``meds_bench_adapters``).

Importing this package registers ``meds-openai`` and ``meds-anthropic`` with lm-eval's model
registry. lm-eval 0.4.13 loads no plugin entry points, so ``meds-bench eval`` imports it before
running lm_eval; from Python, ``import meds_bench_adapters`` first. The folder ``adapters/`` is
installed under the import name ``meds_bench_adapters`` (``PACKAGE_DIR`` in ``setup.py``), so that it
never collides with AdapterHub's ``adapters`` package.

The modules stand in floors; each imports only from floors below it (``tests/test_adapters_layers.py``
checks it), values at the bottom:

====  =================================  ==============================================================
floor modules                            job
====  =================================  ==============================================================
8     ``__init__``                       registers the two lm-eval models; the public names
7     ``openai_chat``,                   one provider's wire protocol each: request body, send,
      ``anthropic_messages``             response parsing, batch interface (the hooks of ``contract``)
6     ``base``                           the lm-eval class: lm-eval requests in, prepared requests to
                                         the dispatcher / batch transport / dry run, results info out
5     ``batch``                          batch transport: submit, poll, collect, follow-up batches,
                                         ``batches.json``; settles every item through the dispatcher
4     ``dispatch``                       one path per request: cache read-through, budget, retries,
                                         dropping a rejected field, billing, failure classification,
                                         the thread pool, the progress bar and the closing line
4     ``estimate``, ``lm_requests``      the dry-run estimate; lm-eval request <-> values
3     ``args``, ``contract``             the model arguments (one dataclass); the provider contract
                                         (an abstract base listing every hook, batch hooks included)
2     ``context``, ``cost``              context fitting and token counters; prices, ledger, budget
1     ``families``, ``thinking``,        family rows of ``models.json``; inline thinking; the one
      ``retry``, ``tally``, ``cache``,   retry loop and SDK-error classification; the unanswered
      ``guard``, ``probe``               tally; the response cache and its directory; the data
                                         guard; the reachability probe
0     ``values``, ``errors``             request/answer values with one status enum; user errors
====  =================================  ==============================================================
"""

# lm-eval imports its own model table only while its registry is empty: fill it first so that
# registering ours does not hide the built-in models (hf, vllm, local-chat-completions, ...).
import lm_eval.models  # noqa: F401

from .anthropic_messages import AnthropicMessagesLM
from .base import APIChatLM, sends_chat_messages
from .errors import AdapterError, BatchModeError, MissingCredentials, RunStopped
from .families import ModelArgError
from .guard import CredentialedDataError, SecretInArgsError
from .openai_chat import OpenAIChatLM
from .tally import PROCESS_TALLY, evaluation, failed_requests

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
    "evaluation",
    "failed_requests",
    "sends_chat_messages",
]
