#!/usr/bin/env bash
# Wheels that bench/gpu_bench.sh needs on a GPU machine without network or these packages (its image has torch,
# tokenizers, safetensors, numpy, pandas, pyarrow, xxhash, fsspec, scikit-learn, sacrebleu, peft), at the
# versions this project's .venv runs, for that machine's Python:
#   bench/gpu_wheels.sh [DIR] [PYTHON_VERSION]      (defaults: .whl 3.12; 27 wheels, about 29 MB)
# huggingface_hub 2 speaks httpx2; peft comes at the version TRL is tested with; no `kernels` (gpu_bench.sh runs with
# USE_HUB_KERNELS=NO). The three packages published only as source (sqlitedict, word2number, rouge_score) are
# built into wheels here.
set -euo pipefail
DIR=${1:-.whl}
PYVER=${2:-3.12}
VENV_PY=${VENV_PY:-.venv/bin/python}
PACKAGES="trl transformers huggingface_hub accelerate datasets dill multiprocess lm_eval evaluate pytablewriter
DataProperty mbstrdecoder pathvalidate tabledata tcolorpy typepy chardet sqlitedict word2number more-itertools nltk
rouge rouge_score httpx2 httpcore2 truststore peft"
mkdir -p "$DIR"
for name in $PACKAGES; do
    version=$("$VENV_PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
    if ! python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$DIR" "$name==$version" 2>/dev/null; then
        python3 -m pip wheel -q --no-deps -w "$DIR" "$name==$version" 2>/dev/null
    fi
done
echo "gpu_wheels: $(ls "$DIR"/*.whl | wc -l) wheels, $(du -sh "$DIR" | cut -f1), in $DIR"
