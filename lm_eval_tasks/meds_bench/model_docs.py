"""The model-family section of ``docs/api-models.md``, rendered from the adapters' records.

The rows come from ``models.json`` and the thinking allowances from ``meds_bench_adapters.families``,
so the docs cannot drift from what the adapters send: ``python -m meds_bench._generate_configs``
rewrites the section between its marker comments and ``--check`` fails when the committed page differs.
The adapters are imported only here, when the section is rendered (they need the ``api`` extra).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAME = "model-families"

_SAMPLING = {  # (provider, sampling) -> the sampling fields a request carries
    ("openai", "all"): "`temperature`, `top_p`, `stop` (`max_tokens`)",
    ("openai", "none"): "none (`max_completion_tokens`, stops applied locally)",
    ("anthropic", "all"): "`temperature`, `top_p`",
    ("anthropic", "one"): "one of `temperature` / `top_p`",
    ("anthropic", "none"): "none (the API answers 400)",
}
_CONTROL = {  # (thinking, thinking_default) -> how thinking is switched and steered
    (None, "off"): "none",
    ("reasoning", "on"): "`reasoning_effort`, on by default",
    ("reasoning", "always"): "`reasoning_effort`, always on",
    ("budget", "off"): "`thinking.type: enabled` + `budget_tokens`",
    ("adaptive", "off"): "`adaptive` + `output_config.effort`",
    ("adaptive", "on"): "adaptive, on by default (`none` sends `disabled`)",
    ("adaptive", "always"): "adaptive, always on",
}


def _records() -> tuple[dict[str, Any], dict[str, Any]]:
    """(models.json as a dict, the thinking constants of ``families``)."""
    from meds_bench_adapters import families

    text = resources.files("meds_bench_adapters").joinpath("models.json").read_text(encoding="utf-8")
    constants = {
        "efforts": families.EFFORTS,
        "tokens": families.THINKING_TOKENS,
        "default": families.DEFAULT_EFFORT_ALLOWANCE,
        "minimum": families.MIN_BUDGET_TOKENS,
    }
    return json.loads(text), constants


def _price(row: dict[str, Any], key: str) -> str:
    return f"{row[key]:g}" if key in row else "—"


def _row(name: str, row: dict[str, Any]) -> str:
    thinking = row.get("thinking")
    efforts = row.get("efforts") or ([] if thinking else ["none"])
    cells = [
        f"`{name}`" + (" (paper)" if row.get("paper") else ""),
        row["provider"],
        f"{_price(row, 'input')} / {_price(row, 'output')}",
        f"{_price(row, 'batch_input')} / {_price(row, 'batch_output')}",
        f"{row['context']:,}" if "context" in row else "—",
        f"{row['max_output']:,}" if "max_output" in row else "—",
        _SAMPLING[row["provider"], row.get("sampling", "all")],
        _CONTROL[thinking, row.get("thinking_default", "off")],
        " ".join(f"`{e}`" for e in efforts) + (" only" if not thinking else ""),
        row.get("retired", ""),
    ]
    return "| " + " | ".join(cells) + " |"


def render_model_families() -> str:
    """The generated text between the section's markers (without them)."""
    data, constants = _records()
    families = data["families"]
    paper = ", ".join(f"`{name}`" for name, row in families.items() if row.get("paper"))
    tokens = constants["tokens"]
    lines = [
        f"Rows of `meds_bench_adapters/models.json`, checked against the providers' pages on {data['checked']}."
        f" Prices in USD per million input / output tokens. The paper's own API models are marked (paper): {paper}.",
        "",
        "| family (id prefix) | provider | list $/M in / out | batch $/M in / out | context | largest output"
        " | sampling sent | thinking control | `reasoning_effort` | retired |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(name, row) for name, row in families.items()),
        "",
        f"`reasoning_effort` takes {', '.join(f'`{e}`' for e in constants['efforts'])}. Output tokens set aside"
        " for thinking at each effort (the `budget_tokens` of the `enabled` form; `reasoning_tokens=N` replaces"
        f" them; at least {constants['minimum']:,} for `budget_tokens`; a model that thinks by default, with no"
        f" effort given, gets the `{constants['default']}` allowance):",
        "",
        "| " + " | ".join(f"`{effort}`" for effort in tokens) + " |",
        "|" + "---|" * len(tokens),
        "| " + " | ".join(f"{n:,}" for n in tokens.values()) + " |",
    ]
    return "\n".join(lines) + "\n"


def begin_marker(name: str) -> str:
    return f"<!-- generated: {name} (python -m meds_bench._generate_configs; edit the records, not this) -->"


def end_marker(name: str) -> str:
    return f"<!-- end generated: {name} -->"


def splice(text: str, name: str, body: str) -> str:
    """``text`` with the part between the begin and end markers of ``name`` replaced by ``body``.

    Raises ValueError when the markers are missing or out of order.
    """
    begin, end = begin_marker(name), end_marker(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"no '{begin}' ... '{end}' pair to write the generated {name} section between")
    return text[: start + len(begin)] + "\n" + body + text[stop:]
