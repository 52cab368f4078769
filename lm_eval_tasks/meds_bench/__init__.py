"""MedS-Bench for lm-evaluation-harness: task catalogue, data loading, prompts and metrics."""

from importlib import resources
from pathlib import Path

__version__ = "0.1.0"


def tasks_path() -> Path:
    """Directory to pass to ``lm_eval --include_path`` (the installed task YAMLs)."""
    return Path(str(resources.files(__name__)))


def sample_data_path() -> Path:
    """Directory of the bundled synthetic sample data, laid out like the hub repository."""
    return tasks_path() / "sample_data"
