"""Offline GPU loading: transformers' hub kernels are switched off when the hub is offline (meds_bench.hub_kernels)."""

from __future__ import annotations

import os

import pytest
from huggingface_hub import constants
from transformers.integrations.hub_kernels import _kernels_enabled

from meds_bench.hub_kernels import SWITCH, hub_kernels_off_when_offline


@pytest.fixture
def no_switch(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)
    return monkeypatch


def test_offline_switches_transformers_hub_kernels_off(no_switch):
    no_switch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert _kernels_enabled()  # transformers' default
    assert hub_kernels_off_when_offline() is True
    assert os.environ[SWITCH] == "NO" and not _kernels_enabled()


def test_online_or_user_choice_is_left_alone(no_switch):
    no_switch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert hub_kernels_off_when_offline() is False and SWITCH not in os.environ
    no_switch.setattr(constants, "HF_HUB_OFFLINE", True)
    no_switch.setenv(SWITCH, "YES")
    assert hub_kernels_off_when_offline() is False and os.environ[SWITCH] == "YES"


def test_meds_bench_eval_switches_them_off_before_lm_eval_runs(no_switch, sample_dir, tmp_path):
    from meds_bench.cli import main

    no_switch.setattr(constants, "HF_HUB_OFFLINE", True)
    args = ["eval", "--data-dir", str(sample_dir), "--model", "dummy", "--tasks", "task123", "--limit", "1"]
    assert main([*args, "--output_path", str(tmp_path)]) == 0
    assert os.environ[SWITCH] == "NO"
