"""Few-shot cases: a pure function of (seed, task, doc id), duplicates excluded, shots recorded, cache keyed."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager, get_task_dict

from meds_bench import tasks_path
from meds_bench.catalog import get_task
from meds_bench.data import DATA_DIR_METADATA_KEY
from meds_bench.fewshot import CasePool, _RangeWithout
from meds_bench.task import PROMPT_METADATA_KEY

TASK = "meds_bench_diagnosis_ddxplus"  # 3-shot by default, 10 sample instances


def load(data_dir: Path, name: str = TASK, seed: int | None = 1234):
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={DATA_DIR_METADATA_KEY: str(data_dir)}
    )
    task = get_task_dict([name], manager)[name]
    task.set_fewshot_seed(seed)
    return task


def prompts(task, **kwargs) -> dict[int, str]:
    """doc id -> rendered context, through lm-eval's own request building."""
    task.build_all_requests(**kwargs)
    return {inst.doc_id: inst.arguments[0] for inst in task.instances}


def n_cases(prompt: str) -> int:
    return prompt.count("Input:\n") - 1  # every case plus the query start with "Input:\n"


# --- the pure function -------------------------------------------------------------------------


def test_every_instance_with_the_query_input_is_excluded():
    pool = CasePool(["a", "b", " a\n", "c", "a"])
    assert sorted(pool.draw("a", 2, seed=1, task="t", doc_id=0)) == [1, 3]
    with pytest.raises(ValueError, match="task t, document 0: 3 few-shot cases requested but only 2"):
        pool.draw("a", 3, seed=1, task="t", doc_id=0)


def test_available_shots_is_the_smallest_pool_left_to_any_query():
    # "a" appears twice: its queries keep 4 - 2 = 2 cases; "b" and "c" keep 3.
    assert CasePool(["a", "b", "a", "c"]).available(["a", "b", "a", "c"]) == 2
    assert CasePool(["a", "b"]).available(["z"]) == 2  # a query outside the pool keeps everything


@pytest.mark.parametrize("excluded", [[], [0], [4], [0, 1, 2], [1, 3, 5, 9], [7, 8, 9]])
def test_range_without_lists_the_kept_indices(excluded):
    kept = _RangeWithout(10, excluded)
    assert list(kept) == [i for i in range(10) if i not in excluded]
    assert len(kept) == 10 - len(excluded)


def test_draw_is_pinned_and_depends_on_seed_task_and_doc_only():
    pool = CasePool([f"q{i}" for i in range(20)] + ["q0"] * 30)  # the duplicates of the query change nothing
    draw = pool.draw("q0", 3, seed=1234, task="t", doc_id=0)
    # Pinned: a change of the stream would silently change every published prompt.
    assert draw == [3, 12, 11]
    assert pool.draw("q0", 3, seed=1234, task="t", doc_id=0) == draw
    assert pool.draw("q0", 3, seed=1235, task="t", doc_id=0) != draw
    assert pool.draw("q0", 3, seed=1234, task="u", doc_id=0) != draw
    assert pool.draw("q0", 3, seed=1234, task="t", doc_id=1) != draw
    # A large pool (random.sample then picks by index): the same draw as from the explicit list.
    big = CasePool([f"q{i}" for i in range(10_000)]).draw("q5", 3, seed=1234, task="t", doc_id=0)
    assert big == [1086, 6063, 5129]
    assert big == random.Random("1234\x1ft\x1f0").sample([i for i in range(10_000) if i != 5], 3)


def test_draw_does_not_depend_on_the_process_hash_seed():
    code = (
        "from meds_bench.fewshot import CasePool; "
        "print(CasePool([str(i) for i in range(50)]).draw('7', 4, seed=3, task='t', doc_id=9))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": h}, capture_output=True, text=True
        ).stdout
        for h in ("1", "2")
    }
    assert outs == {str(CasePool([str(i) for i in range(50)]).draw("7", 4, seed=3, task="t", doc_id=9)) + "\n"}


# --- through lm-eval's task ----------------------------------------------------------------------


def test_prompts_do_not_depend_on_rank_world_size_or_limit(sample_dir):
    one = prompts(load(sample_dir))
    assert len(one) == 10 and all(n_cases(p) == 3 for p in one.values())
    split = {**prompts(load(sample_dir), rank=0, world_size=2), **prompts(load(sample_dir), rank=1, world_size=2)}
    assert split == one
    task = load(sample_dir)
    assert prompts(task, rank=1, world_size=3) == {i: one[i] for i in (1, 4, 7)}
    assert prompts(task, limit=2) == {i: one[i] for i in (0, 1)}


def test_seed_is_the_fewshot_seed_and_is_recorded(sample_dir):
    a, b = prompts(load(sample_dir, seed=1)), prompts(load(sample_dir, seed=2))
    assert a != b
    assert load(sample_dir, seed=7).dump_config()["metadata"][PROMPT_METADATA_KEY]["fewshot_seed"] == 7


def test_duplicated_query_input_never_appears_among_its_cases(sample_copy):
    path = sample_copy / get_task(TASK).hub_path
    obj = json.loads(path.read_text(encoding="utf-8"))
    for i in (1, 2):  # three instances share instance 0's input, with other outputs
        obj["Instances"][i]["input"] = obj["Instances"][0]["input"]
    path.write_text(json.dumps(obj), encoding="utf-8")
    task = load(sample_copy)
    task.set_config("num_fewshot", 3)  # of the 10 - 3 instances with another input
    rendered = prompts(task)
    duplicated = obj["Instances"][0]["input"]
    for doc_id in (0, 1, 2):
        assert rendered[doc_id].count(duplicated) == 1, "the query's input is never a case"
        assert n_cases(rendered[doc_id]) == 3


def test_more_shots_than_the_file_allows_records_the_shots_used(sample_dir, caplog):
    task = load(sample_dir)
    task.set_config("num_fewshot", 50)
    with caplog.at_level(logging.WARNING, logger="meds_bench.task"):
        rendered = prompts(task)
        config = task.dump_config()
    assert all(n_cases(p) == 9 for p in rendered.values())
    assert config["num_fewshot"] == 9
    assert config["metadata"][PROMPT_METADATA_KEY]["num_fewshot_requested"] == 50
    assert config["metadata"][PROMPT_METADATA_KEY]["num_fewshot_used"] == 9
    warnings = [r.getMessage() for r in caplog.records if r.name == "meds_bench.task"]
    assert warnings == [
        f"{TASK}: 50 few-shot cases requested, but only 9 instances differ from every query's input; "
        "using 9-shot (recorded as n-shot in the results)"
    ]


# --- lm-eval's --cache_requests ------------------------------------------------------------------


@pytest.fixture()
def request_cache(tmp_path, monkeypatch):
    import lm_eval.caching.cache as cache

    monkeypatch.setattr(cache, "PATH", str(tmp_path / "requests-cache"))
    return tmp_path / "requests-cache"


def test_request_cache_is_not_reused_for_another_seed(sample_dir, request_cache):
    seed1 = prompts(load(sample_dir, seed=1), cache_requests=True)
    assert list(request_cache.iterdir()), "the first build wrote the cache"
    assert prompts(load(sample_dir, seed=1), cache_requests=True) == seed1  # same key: reused
    assert prompts(load(sample_dir, seed=2), cache_requests=True) == prompts(load(sample_dir, seed=2))


def test_request_cache_is_not_reused_for_other_data(sample_dir, sample_copy, request_cache):
    path = sample_copy / get_task(TASK).hub_path
    obj = json.loads(path.read_text(encoding="utf-8"))
    obj["Definition"] = ["An edited definition."]
    path.write_text(json.dumps(obj), encoding="utf-8")
    prompts(load(sample_dir), cache_requests=True)
    edited = prompts(load(sample_copy), cache_requests=True)
    assert all("An edited definition." in p for p in edited.values())
