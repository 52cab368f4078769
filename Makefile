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
DATA_OUT ?= meds_bench_data

.PHONY: install test lint demo eval download data train bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m meds_bench._generate_configs --check

# The main job on the bundled default: a tiny random model over all 53 tasks of the sample data.
demo: install
	$(BIN)/python -m meds_bench.tiny_model --output-dir $(OUT)/tiny-model
	HF_HUB_OFFLINE=1 $(BIN)/meds-bench eval --data-dir "$$($(BIN)/meds-bench sample-data-path)" \
		--model hf --model_args pretrained=$(OUT)/tiny-model,dtype=float32 \
		--tasks meds_bench --batch_size 16 --output_path $(OUT)/demo

eval: install
	$(BIN)/meds-bench eval --data-dir "$(DATA_DIR)" --model hf --model_args pretrained=$(MODEL) \
		--tasks $(TASKS) $(EVAL_ARGS) --output_path $(OUT)/eval

# The 34 open task files into DATA_OUT (hashes checked; SOURCES.json records where each came from).
download: install
	$(BIN)/meds-bench download --dir "$(DATA_OUT)"

# The 19 credentialed tasks from your PhysioNet files, into DATA_OUT: give any of
# MEDNLI=, MIMIC_IV_NOTE=, MIMIC_CXR=, MIMIC_IV_ED= (the release folders; README: 'Credentialed tasks').
data: install
	@test -n "$(MEDNLI)$(MIMIC_IV_NOTE)$(MIMIC_CXR)$(MIMIC_IV_ED)" || { \
		echo "make data: give at least one of MEDNLI=DIR MIMIC_IV_NOTE=DIR MIMIC_CXR=DIR MIMIC_IV_ED=DIR"; exit 2; }
	$(if $(MEDNLI),$(BIN)/meds-bench data build mednli --input "$(MEDNLI)" --out "$(DATA_OUT)")
	$(if $(MIMIC_IV_NOTE),$(BIN)/meds-bench data build mimic-iv-note --input "$(MIMIC_IV_NOTE)" --out "$(DATA_OUT)")
	$(if $(MIMIC_CXR),$(BIN)/meds-bench data build mimic-cxr --input "$(MIMIC_CXR)" --out "$(DATA_OUT)")
	$(if $(MIMIC_IV_ED),$(BIN)/meds-bench data build mimic-iv-ed --input "$(MIMIC_IV_ED)" --out "$(DATA_OUT)")
	$(BIN)/meds-bench validate-data "$(DATA_OUT)"

train: install
	$(BIN)/python -m medsins_sft.train --config $(CONFIG) --output_dir $(OUTPUT_DIR)

bench: install
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_sft.py
	$(BIN)/python bench/bench_adapters.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
