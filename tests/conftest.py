"""Shared fixtures. Every test runs offline: the hub is never contacted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.pop("MEDS_BENCH_DATA_DIR", None)

from meds_bench import sample_data_path  # noqa: E402
from meds_bench.tiny_model import build_tiny_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init Llama model with a tokenizer trained on the sample data (built once)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session", autouse=True)
def _token_cache_in_a_temporary_directory(tmp_path_factory: pytest.TempPathFactory):
    """``meds-bench score`` keeps the golds' tokenizations in a cache directory: never the user's own here."""
    os.environ["MEDS_BENCH_TOKEN_CACHE"] = str(tmp_path_factory.mktemp("token-cache"))


@pytest.fixture()
def sample_dir() -> Path:
    return sample_data_path()


@pytest.fixture()
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample data, for tests that break or replace files."""
    return Path(shutil.copytree(sample_data_path(), tmp_path / "data"))
