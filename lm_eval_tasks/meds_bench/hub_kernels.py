"""Offline model loading on GPUs: transformers' hub kernels off when the hub is offline.

transformers 5.2x kernelizes every model in ``from_pretrained`` by default, fetching kernels (e.g.
``kernels-community/rotary``) from the Hugging Face hub. On a CUDA machine with ``HF_HUB_OFFLINE=1`` and no
cached kernel, loading then fails ("Version 2 of 'kernels-community/rotary' is not available in the local
cache and Hugging Face Hub is in offline mode"; seen on an H200 on 2026-12-04, BENCHMARKS.md section 5).
An offline run cannot fetch them anyway, so ``meds-bench eval`` and ``medsins_sft.train`` switch them off
through transformers' own switch, ``USE_HUB_KERNELS=NO``, unless the user set that variable. Plain
``lm_eval`` users set it themselves (README, "Offline GPU machines").
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)
SWITCH = "USE_HUB_KERNELS"


def hub_kernels_off_when_offline() -> bool:
    """Set ``USE_HUB_KERNELS=NO`` when the hub is offline and the variable is unset; True when it was set."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE or SWITCH in os.environ:
        return False
    os.environ[SWITCH] = "NO"
    logger.info("hub offline: transformers' hub kernels switched off (%s=NO)", SWITCH)
    return True
