"""Multi-process training is what the launcher asked for, or nothing (issue 26, item 5): the group check, the
record in training_metadata.json, and real 2-rank gloo runs on CPU (torchrun), killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sft_args import sample_args

pytest.importorskip("trl")

from medsins_sft.distributed import DistributedSetupError, check_process_group, distributed_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# a short run on one task; one optimizer step = 1024 token slots whatever the number of processes
SHORT = ("--tasks", "task29", "--per_device_train_batch_size", "2", "--tokens_per_step", "1024")
SHORT += ("--logging_steps", "1", "--max_length", "256", "--decontaminate", "false")
STEPS = ("--max_steps", "10", "--save_steps", "2", "--save_total_limit", "10")


# -- the check, on the values accelerate reports -----------------------------------------------------------
def test_launcher_processes_without_a_group_are_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
    with pytest.raises(DistributedSetupError, match=r"started 2 processes \(WORLD_SIZE=2\).*group of 1 \(NO\)"):
        check_process_group(1, "DistributedType.NO")
    check_process_group(2, "DistributedType.MULTI_CPU")  # a real group of 2 passes


def test_fsdp_config_that_accelerate_turns_into_plain_data_parallel_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(DistributedSetupError, match="asks for FSDP but accelerate formed MULTI_CPU"):
        check_process_group(2, "MULTI_CPU")
    check_process_group(2, "MULTI_GPU")  # accelerate upgrades this one to FSDP in the trainer's Accelerator
    check_process_group(2, "FSDP")


def test_one_process_run_directly_passes(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
    check_process_group(1, "NO")


def test_record_names_type_world_size_and_fsdp_version():
    fsdp = SimpleNamespace(
        distributed_type="DistributedType.FSDP",
        num_processes=8,
        state=SimpleNamespace(fsdp_plugin=SimpleNamespace(fsdp_version=2)),
    )
    ddp = SimpleNamespace(distributed_type="MULTI_CPU", num_processes=2, state=SimpleNamespace())
    assert distributed_record(fsdp) == {"distributed_type": "FSDP", "world_size": 8, "fsdp_version": 2}
    assert distributed_record(ddp) == {"distributed_type": "MULTI_CPU", "world_size": 2, "fsdp_version": None}


# -- real launches -------------------------------------------------------------------------------------------
def _torchrun(out: Path, model: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "medsins_sft.train", *sample_args(out, model, *SHORT, *extra),
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _losses(out: Path, step: int) -> list[float]:
    state = json.loads((out / f"checkpoint-{step}" / "trainer_state.json").read_text())
    return [e["loss"] for e in state["log_history"] if "loss" in e]


@pytest.mark.slow
def test_fsdp_config_on_cpu_is_refused_before_any_model_loads(tmp_path, tiny_model_dir):
    config = tmp_path / "fsdp_on_cpu.yaml"
    text = (ROOT / "medsins_sft/configs/fsdp.yaml").read_text()
    text = text.replace("num_processes: 8", "num_processes: 2").replace(
        "mixed_precision: bf16", 'mixed_precision: "no"'
    )
    config.write_text(text.replace("use_cpu: false", "use_cpu: true"))
    out = tmp_path / "out"
    port = str(_free_port())
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config),
        "--main_process_port",
        port,
    ]
    cmd += ["-m", "medsins_sft.train", *sample_args(out, tiny_model_dir, *SHORT, "--max_steps", "2")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(), cwd=ROOT)
    assert proc.returncode != 0
    refusals = [line for line in proc.stderr.splitlines() if line.startswith("medsins_sft: ")]
    assert refusals and all("asks for FSDP but accelerate formed MULTI_CPU" in line for line in refusals), proc.stderr[
        -3000:
    ]
    assert not list(out.glob("checkpoint-*")) and not (out / "final").exists()


@pytest.mark.slow
def test_two_rank_run_killed_resumes_and_matches_one_process_of_the_same_step(tmp_path, tiny_model_dir):
    """torchrun forms a real 2-rank gloo group (DDP; accelerate shards with FSDP only on GPUs). kill -9 of one rank
    once checkpoint-2 is written, the same command again resumes from the latest checkpoint; every step's loss equals
    a 1-process run whose optimizer step holds the same rows (2 per device x 2 accumulation steps). 10 steps stay
    inside the first epoch: at an epoch's end DDP repeats rows to even out the ranks' last batches (step 12 here
    differs by 0.5%), a single process does not."""
    ddp = tmp_path / "ddp"
    cmd = _torchrun(ddp, tiny_model_dir, *STEPS)
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=ROOT)
    try:
        deadline = time.monotonic() + 600
        while not (ddp / "checkpoint-2" / "trainer_state.json").is_file() and first.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint-2 within 600 s"
            time.sleep(0.2)
        ranks = subprocess.run(["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()
        assert len(ranks) == 2, f"expected 2 rank processes under torchrun, found {ranks}"
        os.kill(int(ranks[1]), signal.SIGKILL)
        log = first.communicate(timeout=300)[0]
    finally:
        first.kill()
    assert first.returncode != 0 and not (ddp / "final").exists(), log[-3000:]

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_env(), cwd=ROOT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming from" in again.stderr
    assert json.loads((ddp / "final" / "training_metadata.json").read_text())["distributed"] == {
        "distributed_type": "MULTI_CPU",
        "world_size": 2,
        "fsdp_version": None,
    }

    one = tmp_path / "one"
    single = [sys.executable, "-m", "medsins_sft.train", *sample_args(one, tiny_model_dir, *SHORT, *STEPS)]
    proc = subprocess.run(single, capture_output=True, text=True, timeout=600, env=_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((one / "final" / "training_metadata.json").read_text())["distributed"]["world_size"] == 1
    ddp_losses, one_losses = _losses(ddp, 10), _losses(one, 10)
    assert len(ddp_losses) == len(one_losses) == 10
    assert ddp_losses == pytest.approx(one_losses, rel=1e-3, abs=1e-4)
    _same_weights(ddp / "final", one / "final")
    assert _answers(ddp / "final", tmp_path / "eval_ddp") == _answers(one / "final", tmp_path / "eval_one")


def _same_weights(a: Path, b: Path) -> None:
    """The two final (full state dict) checkpoints hold the same tensors within float tolerance."""
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert (wa[name] - wb[name]).abs().max().item() <= 1e-4 + 1e-3 * wb[name].abs().max().item(), name


def _answers(checkpoint: Path, out: Path, model: str = "hf", env: dict[str, str] | None = None) -> dict:
    """The greedy answers of ``meds-bench eval --model hf`` (or ``vllm``) on two sample tasks x 3 documents."""
    from meds_bench import sample_data_path

    args = f"pretrained={checkpoint},dtype=float32" + (",max_model_len=2048" if model == "vllm" else "")
    cmd = [sys.executable, "-m", "meds_bench.cli", "eval", "--data-dir", str(sample_data_path()), "--model", model]
    cmd += ["--model_args", args, "--tasks", "task29,task52", "--limit", "3", "--gen_kwargs", "max_gen_toks=16"]
    cmd += [*(["--device", "cpu"] if model == "hf" else []), "--log_samples", "--output_path", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**_env(), **(env or {})}, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answers = {}
    for samples in out.rglob("samples_*.jsonl"):
        for line in samples.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            answers[(record["doc"]["task"], record["doc_id"])] = record["resps"][0][0]
    assert len(answers) == 6
    return answers
