"""``meds-bench judge`` against loopback stand-in judges (issue 27): the jury's numbers computed by hand, the
structured-output request forms, unreadable replies, the controls, self-judging, dry run, budget and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapters_fake_server import FakeLLMServer
from judge_stand_in import stand_in

from meds_bench.cli import main
from meds_bench.judge.parse import read_verdict
from meds_bench.judge.prompts import reply_schema
from meds_bench.judge.rubrics import JUDGED_TASKS, rubric

RATIONALE = "meds_bench_rationale_en"
SUMMARY = "meds_bench_summarization_meqsum"
REFERENCES = [
    "Inferior myocardial infarction shown by ST elevation in leads II III and aVF",
    "Croup caused by parainfluenza virus with a barking cough",
    "Intramuscular epinephrine is the first line treatment of anaphylaxis",
    "Metformin is the first drug for type two diabetes",
    "Iron deficiency anaemia from chronic blood loss",
]


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-judge-test-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-judge-test-0123456789")
    monkeypatch.setenv("MEDS_BENCH_API_CACHE", str(tmp_path / "cache"))


def write_run(folder: Path, answers: dict[str, list[str]], api_model: str | None = None, cost: float = 0.25) -> Path:
    """An lm-eval ``--log_samples`` folder: one samples file per task and a results file."""
    out = folder / "model__x"
    out.mkdir(parents=True)
    for task, texts in answers.items():
        lines = []
        for doc_id, text in enumerate(texts):
            doc = {"id": doc_id, "input": f"Question {doc_id}?", "output": REFERENCES[doc_id],
                   "references": [REFERENCES[doc_id]]}  # fmt: skip
            lines.append(json.dumps({"doc_id": doc_id, "doc": doc, "target": doc["output"], "arguments": [],
                                     "resps": [[text]], "filtered_resps": [text]}))  # fmt: skip
        (out / f"samples_{task}_2026-12-05T10-00-00.jsonl").write_text("\n".join(lines) + "\n")
    config = {"model": "meds-openai" if api_model else "hf", "model_args": "pretrained=org/tiny"}
    if api_model:
        config["meds_api"] = {"provider": "openai", "model": api_model, "usage": {"total": {"cost_usd": cost}}}
    (out / "results_2026-12-05T10-00-00.json").write_text(json.dumps({"config": config, "results": {}}))
    return folder


def judge_cmd(runs: list[str], judges: list[str], out: Path, *extra: str) -> list[str]:
    cmd = ["judge", *runs]
    for spec in judges:
        cmd += ["--judge", spec]
    return [*cmd, "--output", str(out), *extra]


def results_of(out: Path) -> dict:
    return json.loads((out / "judge_results.json").read_text())


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "judgements.jsonl").read_text().splitlines()]


ANSWERS = {RATIONALE: [f"answer {i} about something else" for i in range(5)]}


def test_top_and_bottom_judges_give_jury_50_and_negative_alpha(tmp_path) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    with FakeLLMServer(answer=stand_in()) as server:
        specs = [f"meds-openai:model={m},base_url={server.openai_url}" for m in ("judge-top", "judge-bottom")]
        assert main(judge_cmd([str(run)], specs, tmp_path / "out", "--no-controls")) == 0
        bodies = list(server.bodies)
    entry = results_of(tmp_path / "out")["runs"]["org/tiny"]["tasks"][RATIONALE]
    assert entry["jury"] == 50.0 and entry["n"] == 5 and entry["invalid"] == 0
    assert entry["judges"] == {"openai:judge-top": 100.0, "openai:judge-bottom": 0.0}
    # Two raters, five units, every unit (100, 0): the coincidence matrix holds o(0,100) = o(100,0) = 5, n = 10,
    # so alpha = 1 - (n - 1) * D_o / D_e = 1 - 9 * (10 / 10) / (2 * 5 * 5 / 9 / 10 * ...) reduces to (1 - 5) / 5.
    assert entry["alpha"] == pytest.approx((1 - 5) / 5)
    assert len(bodies) == 10
    schema = bodies[0]["response_format"]["json_schema"]["schema"]
    assert schema == reply_schema(rubric("rationale")) and bodies[0]["temperature"] == 0
    rows = rows_of(tmp_path / "out")
    assert {(r["judge"], r["score"]) for r in rows} == {("openai:judge-top", 100.0), ("openai:judge-bottom", 0.0)}
    assert {r["rubric_hash"] for r in rows} == {rubric("rationale").version}
    assert rows[0]["scores"] == {"correctness": 5, "completeness": 5, "clarity": 5}


def test_unreadable_reply_is_asked_again_once_then_invalid_never_zero(tmp_path) -> None:
    run = write_run(tmp_path / "run", {RATIONALE: ["an answer", "another answer"]})
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-garbage,base_url={server.openai_url}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls")) == 0
        asked_again = [b for b in server.bodies if len(b["messages"]) == 4]
    assert len(server.bodies) == 4 and len(asked_again) == 2  # each asked once more
    entry = results_of(tmp_path / "out")["runs"]["org/tiny"]["tasks"][RATIONALE]
    assert entry["invalid"] == 2 and entry["jury"] is None and entry["judges"] == {"openai:judge-garbage": None}
    assert {r["status"] for r in rows_of(tmp_path / "out")} == {"invalid"}


def test_text_form_is_read_from_prose_and_sends_no_schema(tmp_path) -> None:
    run = write_run(tmp_path / "run", {RATIONALE: ["an answer"] * 3})
    with FakeLLMServer(answer=stand_in(prose=True)) as server:
        spec = f"meds-openai:model=judge-middle,base_url={server.openai_url},structured=text"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls")) == 0
        assert all("response_format" not in b for b in server.bodies)
    assert results_of(tmp_path / "out")["runs"]["org/tiny"]["tasks"][RATIONALE]["jury"] == 50.0


def test_server_refusing_structured_output_is_one_line_naming_the_text_form(tmp_path, capsys) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    unsupported = {"judge-top": frozenset({"response_format"})}
    with FakeLLMServer(answer=stand_in(), unsupported=unsupported) as server:
        spec = f"meds-openai:model=judge-top,base_url={server.openai_url},max_retries=0"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "refuses structured output" in err[-1] and "structured=text" in err[-1]


def test_controls_pass_for_a_reading_judge_and_fail_for_a_constant_one(tmp_path) -> None:
    answers = {RATIONALE: [REFERENCES[i] if i < 2 else f"unrelated words {i}" for i in range(5)]}
    run = write_run(tmp_path / "run", answers)
    with FakeLLMServer(answer=stand_in()) as server:
        for model in ("judge-reader", "judge-middle"):
            spec = f"meds-openai:model={model},base_url={server.openai_url}"
            assert main(judge_cmd([str(run)], [spec], tmp_path / model, "--control-docs", "2")) == 0
    reader = results_of(tmp_path / "judge-reader")["runs"]["org/tiny"]["controls"][RATIONALE]
    assert reader["reference"] == {"score": 100.0, "threshold": 75.0, "passed": True, "n": 2}
    assert reader["swapped"] == {"score": 0.0, "threshold": 40.0, "passed": True, "n": 2}
    middle = results_of(tmp_path / "judge-middle")["runs"]["org/tiny"]["controls"][RATIONALE]
    assert middle["reference"]["passed"] is False and middle["swapped"]["passed"] is False
    assert middle["reference"]["score"] == 50.0
    kinds = [r["kind"] for r in rows_of(tmp_path / "judge-middle")]
    assert kinds.count("answer") == 5 and kinds.count("reference_control") == kinds.count("swapped_control") == 2


def test_length_control_beside_rouge(tmp_path) -> None:
    # the reader gives 5 to answers equal to the reference (long here) and 1 to the short unrelated ones
    answers = {RATIONALE: [REFERENCES[0], REFERENCES[1], "no", "no idea", "x"]}
    run = write_run(tmp_path / "run", answers)
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-reader,base_url={server.openai_url}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out")) == 0
    length = results_of(tmp_path / "out")["runs"]["org/tiny"]["controls"][RATIONALE]["length_spearman"]
    # lengths 75, 55, 2, 7, 1 -> ranks 5, 4, 2, 3, 1; scores 100, 100, 0, 0, 0 -> ranks 4.5, 4.5, 2, 2, 2
    from scipy.stats import spearmanr

    assert length["jury"] == pytest.approx(spearmanr([5, 4, 2, 3, 1], [4.5, 4.5, 2, 2, 2]).statistic, abs=1e-4)
    assert length["passed"] is False and length["rouge1"] is not None


def test_self_judging_is_refused_unless_allowed_and_then_recorded(tmp_path, capsys) -> None:
    run = write_run(tmp_path / "run", ANSWERS, api_model="gpt-5.1")
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=gpt-5.1-mini,base_url={server.openai_url}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls")) == 2
        assert not server.bodies
        assert "self-judging" in capsys.readouterr().err and not (tmp_path / "out").exists()
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls", "--allow-self-judging")) == 0
    results = results_of(tmp_path / "out")
    assert results["allow_self_judging"] is True and "both openai" in results["self_judging"][0]


PRICES = {"models": {"judge-top": {"input": 2.0, "output": 8.0, "batch_input": 1.0, "batch_output": 4.0}}}


def test_dry_run_sends_nothing_and_prints_judging_and_controls_prices(tmp_path, capsys) -> None:
    run = write_run(tmp_path / "run", ANSWERS, api_model="claude-sonnet-4-5", cost=0.5)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-top,base_url={server.openai_url},prices={prices}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--dry-run")) == 0
        assert not server.bodies
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "dry run, nothing sent: 5 answers x 1 judges" in line and "controls 6 x 1" in line
    assert "the runs' own API cost: $0.5000" in line and not (tmp_path / "out").exists()
    judging = float(line.split("<= $")[1].split()[0])
    batch = float(line.split("(<= $")[1].split()[0])
    assert judging > 0 and batch == pytest.approx(judging / 2, rel=1e-3)


def test_budget_stops_before_overspending(tmp_path) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-top,base_url={server.openai_url},prices={prices},num_concurrent=1"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out", "--no-controls", "--max-cost-usd", "0.007")) == 0
        sent = len(server.bodies)
    results = results_of(tmp_path / "out")
    assert 0 < sent < 5 and results["cost"]["judging"] <= 0.007
    statuses = [r["status"] for r in rows_of(tmp_path / "out")]
    entry = results["runs"]["org/tiny"]["tasks"][RATIONALE]
    assert statuses.count("skipped_budget") == 5 - sent == entry["unanswered"] and entry["n"] == sent
    from meds_bench.judge.judged import load_judged

    (judged,) = load_judged(tmp_path / "out").runs.values()  # the report reads the unanswered judge requests
    assert judged.tasks[RATIONALE].unanswered == 5 - sent and judged.tasks[RATIONALE].invalid == 0


def test_rerun_sends_no_judge_request_twice(tmp_path) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-top,base_url={server.openai_url}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "a")) == 0
        first = len(server.bodies)
        assert main(judge_cmd([str(run)], [spec], tmp_path / "b")) == 0
        assert len(server.bodies) == first
    assert results_of(tmp_path / "a")["runs"] == results_of(tmp_path / "b")["runs"]


@pytest.mark.parametrize(
    ("make", "spec", "message"),
    [
        (lambda p: p.mkdir() or p, "meds-openai:model=judge-top", "no samples_<task>_*.jsonl"),
        (lambda p: write_run(p, {"meds_bench_mcqa_medqa_en": ["A"]}), "meds-openai:model=judge-top",
         "no free-text task to judge"),
        (lambda p: write_run(p, ANSWERS), "meds-gemini:model=g", "unknown judge class 'meds-gemini'"),
        (lambda p: write_run(p, ANSWERS), "meds-openai:base_url=http://x", "name the judge model"),
    ],
)  # fmt: skip
def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys, make, spec, message) -> None:
    run = make(tmp_path / "run")
    assert main(judge_cmd([str(run)], [spec], tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_anthropic_judge_asks_for_structured_output_beside_effort() -> None:
    from meds_bench_adapters import AnthropicMessagesLM
    from meds_bench_adapters.values import Generation

    lm = AnthropicMessagesLM(model="claude-opus-4-7", reasoning_effort="low")
    schema = json.dumps(reply_schema(rubric("summarization")), sort_keys=True)
    body = lm.build_body([{"role": "user", "content": "x"}], Generation(512, 0.0, None, (), schema))
    assert body["output_config"]["format"] == {"type": "json_schema", "schema": json.loads(schema)}
    assert body["output_config"]["effort"] == "low"


def test_lenient_reading() -> None:
    r = rubric("summarization")
    assert read_verdict('{"faithfulness": "4/5", "Coverage": 5.0, "concision": 2}', r).score == pytest.approx(
        (3 + 4 + 1) / 3 / 4 * 100, abs=1e-3
    )
    assert read_verdict('{"faithfulness": 6, "coverage": 5, "concision": 2}', r) is None  # off the scale
    assert read_verdict('<think>{"faithfulness": 1}</think> {"faithfulness": 5, "coverage": 5, "concision": 5}',
                        r).score == 100.0  # fmt: skip


def test_every_free_text_task_has_a_rubric() -> None:
    assert len(JUDGED_TASKS) == 27
    assert {t.category for t in JUDGED_TASKS} == {"rationale", "explanation", "factver", "nli", "summarization"}


def test_readers_agree_with_the_jury_on_empty_answers_unanswered_and_length(tmp_path) -> None:
    """report/compare/submission read what the jury computed: an empty answer at 0, unanswered judge requests
    counted, the length check failed where the jury failed it."""
    from meds_bench.judge.judged import load_judged

    answers = {RATIONALE: [REFERENCES[0], REFERENCES[1], "no", "no idea", ""]}
    run = write_run(tmp_path / "run", answers)
    with FakeLLMServer(answer=stand_in()) as server:
        spec = f"meds-openai:model=judge-reader,base_url={server.openai_url}"
        assert main(judge_cmd([str(run)], [spec], tmp_path / "out")) == 0
    (judged,) = load_judged(tmp_path / "out").runs.values()
    docs = judged.docs[RATIONALE]
    assert docs["4"].score == 0.0 and docs["0"].score == 100.0 and len(docs) == 5
    assert judged.tasks[RATIONALE].jury == pytest.approx((100 + 100 + 0 + 0 + 0) / 5)
    failed = [c.kind for _, c in judged.failed_controls()]
    assert failed == ["length"] and "scores follow answer length" in judged.failed_control_lines()[0]


@pytest.mark.parametrize("flag", ["--limit", "--control-docs"])
def test_counts_below_one_are_usage_errors(tmp_path, capsys, flag) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    with pytest.raises(SystemExit) as exit_info:
        main(judge_cmd([str(run)], ["meds-openai:model=judge-top"], tmp_path / "out", flag, "-1"))
    assert exit_info.value.code == 2 and "give a whole number of 1 or more" in capsys.readouterr().err
