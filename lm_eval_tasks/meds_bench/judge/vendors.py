"""Who made a model, to refuse a judge grading its own vendor's answers (self-preference).

A vendor is the API provider for a model the provider's own families table knows (``models.json``: GPT and
o-series -> openai, Claude -> anthropic), whichever way it is reached; otherwise the organisation of a hub id
(``meta-llama/Llama-3.3-70B-Instruct`` -> ``meta-llama``), else the model name itself.
"""

from __future__ import annotations

from meds_bench_adapters.families import family_for

API_PROVIDERS = ("openai", "anthropic")


def vendor(model: str) -> str:
    """The vendor of a model id (see the module docstring)."""
    name = model.strip().lower()
    short = name.rpartition("/")[2]
    for provider in API_PROVIDERS:
        if family_for(provider, short).known:
            return provider
    org = name.rpartition("/")[0]
    return org.rpartition("/")[2] if org else name
