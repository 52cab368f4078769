"""Command-line arguments of a short training run on the shipped sample config (shared by the SFT tests)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_YAML = ROOT / "medsins_sft" / "configs" / "sample.yaml"


def sample_args(out: Path, model: Path | str, *extra: str) -> list[str]:
    """sample.yaml with ``model``, ``out`` as output dir, no loggers, the sample definitions, then ``extra``."""
    return [
        "--config",
        str(SAMPLE_YAML),
        "--model_name_or_path",
        str(model),
        "--output_dir",
        str(out),
        "--report_to",
        "none",
        "--definitions_file",
        str(ROOT / "medsins_sft/sample_data/definitions.json"),
        *extra,
    ]
