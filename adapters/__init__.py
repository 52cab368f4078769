"""lm-eval model classes for the OpenAI and Anthropic APIs (import name ``meds_bench_adapters``)."""
