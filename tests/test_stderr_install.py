"""``install_stderr``: the one change made to lm-eval itself. It happens when a MedS-Bench task is
built, never on import; calling it twice changes nothing; and the replaced function still gives
lm-eval's own standard errors for means and ours for the corpus-level aggregations."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from lm_eval import evaluator_utils
from lm_eval.api import metrics as lm_metrics

from meds_bench.metrics import hooks
from meds_bench.metrics.uncertainty import install_stderr, stderr_function


@pytest.fixture()
def lm_evals_own(monkeypatch):
    """lm-eval's aggregation with its own ``stderr_for_metric`` (restored after the test)."""
    monkeypatch.setattr(evaluator_utils, "stderr_for_metric", lm_metrics.stderr_for_metric)


def test_install_is_idempotent_and_falls_back_to_lm_evals_own_function(lm_evals_own):
    install_stderr()
    first = evaluator_utils.stderr_for_metric
    assert first is not lm_metrics.stderr_for_metric and first.meds_bench
    install_stderr()
    assert evaluator_utils.stderr_for_metric is first
    # the fallback the wrapper closed over is lm-eval's function, not a wrapper of the wrapper
    (fallback,) = [c.cell_contents for c in first.__closure__]
    assert fallback is lm_metrics.stderr_for_metric


def test_the_installed_function_gives_ours_for_corpus_metrics_and_lm_evals_for_means(lm_evals_own):
    install_stderr()
    installed = evaluator_utils.stderr_for_metric
    assert installed(lm_metrics.mean, 100) is lm_metrics.mean_stderr
    assert installed(hooks.micro_f1, 0) is None  # --bootstrap_iters 0: none, as in lm-eval
    counts = [[1, 0, 1], [2, 1, 0], [0, 1, 1], [3, 0, 0], [1, 1, 1]]
    ours = installed(hooks.micro_f1, 100000)
    assert ours is not None
    assert ours(counts) == pytest.approx(stderr_function(hooks.micro_f1, 100000)(counts))
    assert ours(counts) > 0
    # lm-eval's own function has none for this aggregation: the patch is what adds it
    assert lm_metrics.stderr_for_metric(hooks.micro_f1, 100000) is None
    # ``answered``: the standard error of a proportion, sqrt(p(1-p)/(n-1)) on 0-100
    answered = installed(hooks.answered, 1000)
    items = ["A", "", "B", "C"]
    assert answered(items) == pytest.approx(100 * np.sqrt(0.75 * 0.25 / 3))


def test_importing_the_plugin_changes_nothing_building_a_task_installs_it(sample_dir):
    script = textwrap.dedent(
        f"""
        from lm_eval import evaluator_utils
        from lm_eval.api.metrics import stderr_for_metric as own
        import meds_bench.metrics.hooks, meds_bench.metrics.rescore, meds_bench.task
        assert evaluator_utils.stderr_for_metric is own, "changed on import"
        from lm_eval.tasks import TaskManager, get_task_dict
        from meds_bench import tasks_path
        manager = TaskManager(include_path=str(tasks_path()), include_defaults=False,
                              metadata={{"meds_bench_data_dir": {str(sample_dir)!r}}})
        get_task_dict(["meds_bench_ner_bc5chem"], manager)
        assert getattr(evaluator_utils.stderr_for_metric, "meds_bench", False), "not installed by the task"
        print("ok")
        """
    )
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(sample_dir)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
