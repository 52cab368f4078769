"""The golds' tokenization cache of ``meds-bench score`` and the split of its work by cost: the
scores are the same with a cold cache, a warm one, a damaged one and none, and concurrent writers
leave a readable file."""

from __future__ import annotations

import csv
import multiprocessing
import sys
from pathlib import Path

import pytest

from meds_bench.catalog import get_task
from meds_bench.cli import main
from meds_bench.metrics import token_cache
from meds_bench.metrics.rescore import read_predictions, score_files
from meds_bench.metrics.scoring_work import document_cost, score_records, split_by_cost
from meds_bench.metrics.tokenization import TokenMemo, tokenize

ROWS = [
    ("task51", "患者出现急性胸痛。提示肺栓塞。", "患者出现急性胸痛和呼吸困难。提示肺栓塞的可能性较大。"),
    ("task54", "患者は胸痛を呈している。", "患者は急性の胸痛と呼吸困難を呈している。肺塞栓症が疑われる。"),
    ("task52", "The patient has chest pain. Dr. Smith suspects a clot.", "Chest pain and dyspnoea suggest a clot."),
    ("task53", "Le patient présente une douleur.", "Le patient présente une douleur thoracique aiguë."),
    ("task100", "The study found no effect.", "The study found a small effect. It was not significant."),
    ("task112", "Summary: pain, clot.", "Acute chest pain; suspected embolism."),
    ("task57", "B", "The right answer is B: Levothyroxine"),
]


def _csv(path: Path, copies: int = 1) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prediction", "reference", "task"])
        for k in range(copies):
            for task, pred, gold in ROWS:
                writer.writerow([f"{pred} {k}" if k else pred, gold, task])
    return path


def test_cold_warm_and_no_cache_give_the_same_results_and_the_cache_holds_real_tokens(tmp_path):
    preds = _csv(tmp_path / "p.csv")
    cache = tmp_path / "tokens"
    none = score_files([preds])
    cold = score_files([preds], token_cache_dir=cache)
    files = sorted(cache.glob("*.marshal"))
    warm = score_files([preds], token_cache_dir=cache)
    assert cold == none and warm == none
    # one file per task whose golds were tokenized (the MCQA task tokenizes nothing)
    assert len(files) == 6
    stored = {key: token_cache.tokens_of(v) for f in files for key, v in token_cache.load(cache, f.stem).items()}
    gold_ja = ROWS[1][2]
    assert stored[("ja", gold_ja)] == tokenize(gold_ja, "ja")
    assert stored[("en", ROWS[2][2])] == ["Chest", "pain", "and", "dyspnoea", "suggest", "a", "clot", "."]
    # EBMS tokenizes the gold as it is and, for the paper variant, lower-cased without periods
    assert ("en", "the study found a small effect it was not significant") in stored


def test_warm_cache_is_read_not_recomputed(tmp_path, monkeypatch):
    preds = _csv(tmp_path / "p.csv")
    cache = tmp_path / "tokens"
    expected = score_files([preds], token_cache_dir=cache)
    golds = {gold for _, _, gold in ROWS}
    seen: list[str] = []
    from meds_bench.metrics import tokenization

    real = tokenization.tokenize

    def counting(text: str, language: str) -> list[str]:
        seen.append(text)
        return real(text, language)

    monkeypatch.setattr(tokenization, "tokenize", counting)
    tokenization._short_prediction_tokens.cache_clear()  # predictions remembered by the first run
    assert score_files([preds], token_cache_dir=cache) == expected
    assert seen and not golds & set(seen)  # predictions tokenized, golds read from the cache


def test_a_damaged_or_foreign_cache_file_counts_as_absent(tmp_path):
    preds = _csv(tmp_path / "p.csv")
    cache = tmp_path / "tokens"
    expected = score_files([preds], token_cache_dir=cache)
    files = sorted(cache.glob("*.marshal"))
    files[0].write_bytes(files[0].read_bytes()[:10])  # truncated
    files[1].write_bytes(b"not marshal at all")
    files[2].write_bytes(b"\xe9")  # marshal of nothing known
    assert score_files([preds], token_cache_dir=cache) == expected
    assert token_cache.load(cache, files[0].stem) != {}  # rewritten whole


def test_stored_tokens_read_back_as_they_were_written(tmp_path):
    sep = token_cache.SEP
    entries = {("en", "a"): ["a", ".", ""], ("zh", " "): [" "], ("en", ""): [], ("en", "x"): [f"x{sep}y", "z"]}
    token_cache.store(tmp_path, "k", entries)
    assert {key: token_cache.tokens_of(v) for key, v in token_cache.load(tmp_path, "k").items()} == entries


def test_the_key_changes_with_the_golds_and_the_task_not_their_order():
    key = token_cache.cache_key("t", ["a", "b", "a"])
    assert key == token_cache.cache_key("t", ["b", "a"])
    assert key != token_cache.cache_key("t", ["a", "b", "c"])
    assert key != token_cache.cache_key("u", ["a", "b"])


def test_an_unwritable_cache_directory_only_costs_the_cache(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory should be")
    token_cache.store(blocked / "tokens", "k", {("en", "a"): ["a"]})
    assert token_cache.load(blocked / "tokens", "k") == {}


def _write_many(directory: str, k: int) -> None:
    entries = {("en", f"text {n}"): [f"w{k}"] * 2000 for n in range(200)}
    for _ in range(5):
        token_cache.store(Path(directory), "shared", entries)


def test_concurrent_writers_leave_a_whole_file(tmp_path):
    ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else multiprocessing.get_context()
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    entries = token_cache.load(tmp_path, "shared")
    assert len(entries) == 200
    assert len({tokens[0] for tokens in entries.values()}) == 1  # one writer's whole file
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_split_by_cost_balances_and_keeps_every_index():
    costs = [100.0, 1.0, 1.0, 50.0, 50.0, 1.0, 1.0, 1.0, 98.0]
    parts = split_by_cost(costs, 3)
    assert sorted(i for part in parts for i in part) == list(range(len(costs)))
    totals = [sum(costs[i] for i in part) for part in parts]
    assert totals == sorted(totals, reverse=True)
    assert totals == [101.0, 101.0, 101.0]  # 100+1, 98+1+1+1, 50+50+1
    assert split_by_cost([5.0], 8) == [[0]]
    assert split_by_cost([], 4) == []


def test_document_cost_weighs_language_length_and_known_golds(tmp_path):
    records = read_predictions(_csv(tmp_path / "p.csv"))
    by_task = {r.task: r for r in records}
    zh, ja = by_task[get_task("task51").name], by_task[get_task("task54").name]
    mcqa = by_task[get_task("task57").name]
    assert document_cost(mcqa, {}) == 20.0
    assert document_cost(ja, {}) == 20.0 + 12.0 * (len(ROWS[1][1]) + len(ROWS[1][2]))
    assert document_cost(ja, {("ja", ROWS[1][2]): []}) == 20.0 + 12.0 * len(ROWS[1][1])
    assert document_cost(zh, {}) == 20.0 + 2.0 * (len(ROWS[0][1]) + len(ROWS[0][2]))


def test_parallel_cached_scoring_equals_serial_uncached(tmp_path):
    records = read_predictions(_csv(tmp_path / "many.csv", copies=300))  # above the parallel threshold
    serial = score_records(records, jobs=1)
    assert score_records(records, jobs=2, token_cache_dir=tmp_path / "tokens") == serial  # cold
    assert score_records(records, jobs=2, token_cache_dir=tmp_path / "tokens") == serial  # warm


def test_token_memo_tokenizes_each_text_once():
    memo = TokenMemo()
    first = memo.tokens("Chest pain.", "en")
    assert memo.tokens("Chest pain.", "en") is first
    assert first == ["Chest", "pain", "."] and memo.added == [("en", "Chest pain.")]


@pytest.mark.parametrize("flag", ["--token-cache", "--no-token-cache"])
def test_cli_token_cache_flags(tmp_path, monkeypatch, capsys, flag):
    preds = _csv(tmp_path / "p.csv")
    env_dir, flag_dir = tmp_path / "env", tmp_path / "flag"
    monkeypatch.setenv(token_cache.CACHE_ENV, str(env_dir))
    args = ["score", str(preds), "--jobs", "1", flag] + ([str(flag_dir)] if flag == "--token-cache" else [])
    assert main(args) == 0
    assert not env_dir.exists()
    assert flag_dir.exists() == (flag == "--token-cache")
    assert main(["score", str(preds), "--jobs", "1"]) == 0
    assert len(list(env_dir.glob("*.marshal"))) == 6
