"""The process group a training run asked for, against the one accelerate formed.

A launcher that starts N processes (``torchrun``, ``accelerate launch``) sets ``WORLD_SIZE=N`` in each. When
accelerate forms no group from that (on a machine without GPUs it does so only for ``use_cpu: true``), every
process trains a full copy alone and all of them write the same ``output_dir``. And accelerate upgrades a group to
FSDP only on GPU-type devices: an FSDP config run on CPU silently becomes plain data parallel (``MULTI_CPU``).
Both are refused before any model loads; what was formed is recorded in ``training_metadata.json``.
"""

from __future__ import annotations

import os
from typing import Any

# accelerate's AcceleratorState turns only these group types into FSDP (not MULTI_CPU, not NO)
_FSDP_CAPABLE = {"MULTI_GPU", "MULTI_NPU", "MULTI_XPU", "MULTI_MLU", "MULTI_MUSA", "MULTI_HPU", "MULTI_SDAA"}
CPU_RECIPE = "torchrun --nproc_per_node N -m medsins_sft.train ... --use_cpu true (data parallel over gloo)"


class DistributedSetupError(RuntimeError):
    """The launcher's processes did not become the process group the run asked for."""


def launcher_world_size() -> int:
    """Processes the launcher started (``WORLD_SIZE``; 1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def fsdp_requested() -> bool:
    """True when ``accelerate launch`` was given an FSDP config."""
    return os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true"


def _type_name(distributed_type: Any) -> str:
    return str(getattr(distributed_type, "value", distributed_type)).split(".")[-1]


def check_process_group(num_processes: int, distributed_type: Any) -> None:
    """Raise DistributedSetupError unless the formed group (``num_processes``, accelerate's ``distributed_type``)
    is the one the launcher and its config asked for."""
    asked = launcher_world_size()
    formed = _type_name(distributed_type)
    if asked > 1 and num_processes != asked:
        raise DistributedSetupError(
            f"the launcher started {asked} processes (WORLD_SIZE={asked}) but accelerate formed a group of "
            f"{num_processes} ({formed}): each process would train a full copy alone into the same output_dir. "
            f"On GPUs use an accelerate config with distributed_type MULTI_GPU or FSDP; on CPU: {CPU_RECIPE}"
        )
    if fsdp_requested() and formed not in _FSDP_CAPABLE | {"FSDP"}:
        raise DistributedSetupError(
            f"the accelerate config asks for FSDP but accelerate formed {formed}: it shards with FSDP only on GPU-type "
            f"devices, so this run would not be sharded. On CPU drop the FSDP config and run: {CPU_RECIPE}"
        )


def check_launch(args: Any) -> None:
    """Form the process group the way the trainer will (``TrainingArguments.device``) and check it."""
    if args.device is not None:  # the cached property that creates accelerate's PartialState
        state = args.distributed_state
        check_process_group(args.world_size, state.distributed_type if state is not None else "NO")


def distributed_record(accelerator: Any) -> dict[str, Any]:
    """What the trainer's accelerator formed, for ``training_metadata.json``."""
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    return {
        "distributed_type": _type_name(accelerator.distributed_type),
        "world_size": accelerator.num_processes,
        "fsdp_version": getattr(plugin, "fsdp_version", None) if plugin is not None else None,
    }
