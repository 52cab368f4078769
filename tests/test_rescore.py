"""``meds-bench score``: input formats, clear errors, lm-eval-style JSON, group figures, and equality
with the harness's own numbers on an lm-eval samples file."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import main
from meds_bench.metrics.rescore import ScoreInputError, aggregate_groups, read_predictions, score_files


def _csv(path: Path, rows: list[dict], fields=("prediction", "reference", "task")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_with_names_and_ids_and_extra_columns(tmp_path):
    rows = [
        {"prediction": "B", "reference": "The right answer is B: x", "task": "task57", "model": "m"},
        {"prediction": "A", "reference": "The right answer is B: x", "task": "meds_bench_mcqa_medqa_en", "model": "m"},
        {"prediction": "", "reference": "The right answer is C: y", "task": "57", "model": "m"},
    ]
    path = _csv(tmp_path / "p.csv", rows, ("prediction", "reference", "task", "model"))
    result = score_files([path])["results"]["meds_bench_mcqa_medqa_en"]
    assert result["acc,none"] == pytest.approx(100 / 3)  # the empty prediction is counted, as 0
    assert result["sample_len"] == 3 and result["alias"] == "task57"


def test_replies_naming_two_options_score_zero(tmp_path):
    rows = [
        ("A. Retinal detachment ... The correct answer is C. Central retinal artery occlusion.", "C: Central retinal"),
        ("A. Methimazole. However, some would argue the correct answer is B: Levothyroxine.", "B: Levothyroxine"),
        ("The right answer is A: Methimazole. Actually no, the right answer is B: Levothyroxine.", "B: Levothyroxine"),
    ]
    rows = [{"prediction": p, "reference": f"The right answer is {g}", "task": "task57"} for p, g in rows]
    result = score_files([_csv(tmp_path / "p.csv", rows)])["results"]["meds_bench_mcqa_medqa_en"]
    assert (result["acc,none"], result["extracted,none"], result["sample_len"]) == (0.0, 0.0, 3)


def test_task_option_overrides_and_jsonl(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        "\n".join(json.dumps({"prediction": p, "reference": "True"}) for p in ["True", "False", "yes", None]) + "\n"
    )
    result = score_files([path], task="task117")["results"]["meds_bench_outcome_hospitalization"]
    assert result["acc,none"] == pytest.approx(50.0) and result["acc_paper,none"] == pytest.approx(25.0)


def test_b2_numeric_reference_column_is_read_as_text(tmp_path):
    path = _csv(tmp_path / "hf.csv", [{"prediction": "1", "reference": "1"}, {"prediction": "12", "reference": "1"}])
    result = score_files([path], task="task16")["results"]["meds_bench_factver_healthfact"]
    assert result["acc,none"] == 50.0 and result["acc_paper,none"] == 100.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("prediction,task\nB,task57\n", "p.csv:1: header lacks column(s) reference (found: prediction, task)"),
        ("prediction,reference,task\nB,x,task999\n", "p.csv:2: field 'task'"),
        ("prediction,reference\nB,x\n", "p.csv:1: header lacks column(s) task (found: prediction, reference); pass"),
        ("prediction,reference,task\nB,,task57\n", "p.csv:2: field 'reference'"),
    ],
)
def test_bad_csv_rows_name_file_row_and_field(tmp_path, content, message):
    path = tmp_path / "p.csv"
    path.write_text(content)
    with pytest.raises(ScoreInputError, match=re.escape(message)):
        read_predictions(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.csv", ""), ("header.csv", "prediction,reference,task\n"), ("empty.jsonl", ""), ("blank.jsonl", "\n\n")],
)
def test_a_file_without_predictions_is_an_error_not_an_empty_table(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_text(content)
    assert main(["score", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"meds-bench score: {path}: no predictions in the file (expected one row or JSON line per prediction)\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("excel.csv", "prediction,reference,task\r\n1,1,task16\r\n2,1,task16\r\n"),
        (
            "bom.jsonl",
            '{"prediction": "1", "reference": "1", "task": "task16"}\n'
            '{"prediction": "2", "reference": "1", "task": "task16"}\n',
        ),
    ],
)
def test_files_starting_with_a_byte_order_mark_are_read(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    result = score_files([path])["results"]["meds_bench_factver_healthfact"]
    assert result["acc,none"] == 50.0 and result["sample_len"] == 2


@pytest.mark.parametrize(
    ("name", "content", "line", "byte"),
    [
        ("latin1.csv", "prediction,reference,task\r\nB,café B,task57\r\n".encode("latin-1"), 2, "e9"),
        ("bom_latin1.csv", b"\xef\xbb\xbfprediction,reference,task\n" + "é,é,task57\n".encode("latin-1"), 2, "e9"),
        ("model.jsonl", b"\x7fELF\x02\x01\x01\x00" + bytes(range(128, 256)), 1, "80"),
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(tmp_path, capsys, name, content, line, byte):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["score", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"meds-bench score: {path}:{line}: not UTF-8 text (byte 0x{byte}); pass the text file meant, saved as UTF-8 "
        "(e.g. `iconv -f latin1 -t utf-8 FILE`, or a spreadsheet's 'CSV UTF-8')\n"
    )


def test_bad_json_line_names_the_line(tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prediction": "a", "reference": "b", "task": "task52"}\n{oops\n')
    assert main(["score", str(path)]) == 2
    assert f"{path}:2: not valid JSON" in capsys.readouterr().err


def test_cli_writes_lm_eval_style_json(tmp_path, capsys):
    path = _csv(
        tmp_path / "p.csv", [{"prediction": "cisplatin.", "reference": "cisplatin, caffeine.", "task": "task125"}]
    )
    out = tmp_path / "out.json"
    assert main(["score", str(path), "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    ner = report["results"]["meds_bench_ner_bc4chem"]
    assert ner["precision,none"] == 100.0 and ner["recall,none"] == 50.0
    assert ner["f1,none"] == pytest.approx(200 / 3) and ner["f1_stderr,none"] == "N/A"
    assert report["groups"]["meds_bench-ner"]["f1,none"] == pytest.approx(200 / 3)
    assert "meds_bench_ner_bc4chem" in capsys.readouterr().out


def _entry(mean: float, n: int, metric: str = "rougeL") -> dict:
    return {f"{metric},none": mean, "sample_len": n}


def test_ct_pool_is_instance_weighted_and_category_mean_uses_primary_tasks_only():
    results = {
        "meds_bench_summarization_mimic_ct_chest": _entry(10.0, 1),
        "meds_bench_summarization_mimic_ct_brain": _entry(40.0, 3),
        "meds_bench_summarization_mimic_ultrasound": _entry(20.0, 10),
        "meds_bench_summarization_meqsum": _entry(30.0, 1),
    }
    groups = aggregate_groups(results)
    assert groups["meds_bench-summarization_ct"]["rougeL,none"] == pytest.approx((10 + 3 * 40) / 4)
    # B2: a missing primary task entered the original average as -1; here only present tasks count.
    assert groups["meds_bench-summarization"]["rougeL,none"] == pytest.approx(25.0)


def test_outcome_category_is_the_unweighted_mean_of_its_tasks():
    results = {
        "meds_bench_outcome_hospitalization": _entry(100.0, 1, "acc"),
        "meds_bench_outcome_critical_triage": _entry(0.0, 9, "acc"),
    }
    assert aggregate_groups(results)["meds_bench-outcome"]["acc,none"] == 50.0


def test_b2_rationale_empty_outputs_count_and_absent_tasks_do_not_enter_the_mean(tmp_path):
    rows = [
        {"prediction": "Air in the pleural space.", "reference": "Air in the pleural space.", "task": "task52"},
        {"prediction": "", "reference": "Air in the pleural space.", "task": "task52"},
    ]
    report = score_files([_csv(tmp_path / "r.csv", rows)])
    assert report["results"]["meds_bench_rationale_en"]["bleu1,none"] == pytest.approx(50.0)
    assert report["groups"]["meds_bench-rationale"]["bleu1,none"] == pytest.approx(50.0)


# --- equality with the harness --------------------------------------------------------------------

CANNED = [
    "B", "The right answer is C: Vitamin C", "正确答案是 B", "True", "False", "yes", "no", "2", "Entailment",
    "Bronchitis", "The treatment planning is: Radiation after surgery", "cisplatin, paclitaxel.",
    "There is no related enetity.", "Inducing angiogenesis, Sustaining proliferative signaling", "",
]  # fmt: skip


def _scripted_lm():
    from lm_eval.api.model import LM

    class Scripted(LM):
        """Deterministic answers: a canned label, or the prompt's last input line (free text)."""

        def generate_until(self, requests):
            out = []
            for req in requests:
                context = req.args[0]
                h = int(hashlib.sha256(context.encode()).hexdigest(), 16)
                if h % 3 == 0:
                    query = context.rsplit("Input:", 1)[-1].replace("Output:", "").strip().splitlines()
                    out.append(query[-1] if query else "")
                else:
                    out.append(CANNED[h % len(CANNED)])
            return out

        def loglikelihood(self, requests):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError

    return Scripted()


@pytest.mark.slow
def test_score_on_lm_eval_samples_files_equals_the_harness(tmp_path, sample_dir, monkeypatch):
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from meds_bench import tasks_path

    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(sample_dir))
    manager = TaskManager(include_path=str(tasks_path()))
    res = lm_eval.simple_evaluate(model=_scripted_lm(), tasks=["meds_bench"], task_manager=manager, log_samples=True)
    tracker = EvaluationTracker(output_path=str(tmp_path / "out"))
    tracker.general_config_tracker.model_name_sanitized = "scripted"
    tracker.date_id = "2026-01-01T00-00-00"  # normally set when the aggregated results are saved
    for name, samples in res["samples"].items():
        tracker.save_results_samples(task_name=name, samples=samples)
    files = sorted((tmp_path / "out").rglob("samples_*.jsonl"))
    assert len(files) == len(TASKS)
    report = score_files(files)
    compared = 0
    for name, harness in res["results"].items():
        if name == "meds_bench":
            continue
        mine = report["results"][name]
        for key, value in harness.items():
            if "," in key and "_stderr" not in key:
                assert mine[key] == pytest.approx(value, abs=1e-9), (name, key)
                compared += 1
    assert compared > 150
    # the scripted model gets some right: the comparison is not all zeros
    assert any(
        v for r in report["results"].values() for k, v in r.items() if k.endswith(",none") and isinstance(v, float)
    )
    assert os.environ["MEDS_BENCH_DATA_DIR"] == str(sample_dir)
    assert get_task("task52").name in report["results"]
    # Both sides above share the scorers; here the harness's per-sample accuracy meets a hand rule:
    # a canned reply to a one-label task is right exactly when it is the gold label itself.
    checked = 0
    for name in ("meds_bench_factver_pubmedqa", "meds_bench_factver_healthfact"):
        for sample in res["samples"][name]:
            reply, gold = sample["filtered_resps"][0], sample["doc"]["output"].strip().rstrip(".").lower()
            if reply in CANNED:
                assert sample["acc"] == (100.0 if reply.lower() == gold else 0.0), (name, reply, gold)
                checked += 1
    assert checked >= 8


def test_parallel_scoring_equals_serial(tmp_path):
    from meds_bench.metrics.rescore import score_records

    rows = []
    for k in range(2100):  # above the size that switches to worker processes
        info = TASKS[k % len(TASKS)]
        rows.append({"prediction": f"answer {k % 7}. B", "reference": f"gold {k % 5} answer.", "task": info.meds_id})
    records = read_predictions(_csv(tmp_path / "many.csv", rows))
    assert score_records(records, jobs=2) == score_records(records, jobs=1)


def _release_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """A file as the MedS-Ins release writes it: BOM, ``task_id,input,GT,output``, all cells quoted."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(["task_id", "input", "GT", "output"])
        writer.writerows(rows)
    return path


def test_release_csv_is_read_as_it_is(tmp_path):
    question = "Which drug?\nA. aspirin\nB. heparin\nC. warfarin"
    path = _release_csv(
        tmp_path / "release.csv",
        [
            ("task57", question, "The right answer is B: heparin", "B"),
            ("task57", question, "The right answer is B: heparin", "The answer is C.\nBecause, well"),
            ("task52", "Explain.\nStep by step", "the cat sat", "the cat sat"),
            ("task52", "Explain.", "the cat sat", "a dog, ran\naway"),
        ],
    )
    assert path.read_bytes().startswith(b'\xef\xbb\xbf"task_id"')
    results = score_files([path])["results"]
    assert results["meds_bench_mcqa_medqa_en"]["acc,none"] == 50.0
    assert results["meds_bench_mcqa_medqa_en"]["sample_len"] == 2
    assert results["meds_bench_rationale_en"]["rougeL,none"] == pytest.approx(50.0)  # identical (100) and disjoint (0)
    assert results["meds_bench_rationale_en"]["sample_len"] == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("task999", "q", "x", "y"), "record 1: field 'task_id'"),
        (("task57", "q", "", "B"), "record 1: field 'GT' is empty"),
    ],
)
def test_bad_release_csv_rows_name_record_and_column(tmp_path, row, message):
    path = _release_csv(tmp_path / "r.csv", [row])
    with pytest.raises(ScoreInputError, match=re.escape(message)):
        read_predictions(path)
