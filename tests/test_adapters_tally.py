"""Who owns the unanswered-request tally: each evaluation its own, nothing for a caller to reset."""

from __future__ import annotations

import pytest
from adapters_fake_server import make_instances

import meds_bench_adapters as adapters
from meds_bench_adapters.tally import PROCESS_TALLY, current_tally


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unit-openai-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _run_unsendable(tmp_path, n: int, task: str = "meds_bench_mcqa_medqa_en") -> None:
    """``n`` requests too long for the context window with truncate=fail: recorded as failed, none sent."""
    lm = adapters.OpenAIChatLM(
        model="gpt-4o", cache_dir=str(tmp_path), max_context_tokens=40, truncate="fail", progress=False
    )
    assert lm.generate_until(make_instances(task, n, query="x" * 400 + " {i}")) == [""] * n


def test_two_evaluations_in_one_process_keep_their_own_counts(tmp_path) -> None:
    process_before = PROCESS_TALLY.snapshot()
    with adapters.evaluation() as first:
        _run_unsendable(tmp_path / "a", 2)
        assert adapters.failed_requests() == {"failed": 2, "output_limit": 0, "skipped_budget": 0}
    with adapters.evaluation() as second:
        _run_unsendable(tmp_path / "b", 3, task="meds_bench_mcqa_medqa_zh")
    assert first.per_task() == {"meds_bench_mcqa_medqa_en": 2}
    assert second.per_task() == {"meds_bench_mcqa_medqa_zh": 3}
    assert current_tally() is PROCESS_TALLY and PROCESS_TALLY.snapshot() == process_before


def test_adapters_made_outside_an_evaluation_count_for_the_process(tmp_path) -> None:
    before = adapters.failed_requests()["failed"]
    _run_unsendable(tmp_path, 2)
    assert adapters.failed_requests()["failed"] - before == 2
