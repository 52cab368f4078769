"""Build a tiny, randomly initialised Llama-architecture model and a locally trained tokenizer.

Used by ``make demo``, the tests and the SFT sample config: everything runs offline, on CPU, in
seconds. The tokenizer is a byte-level BPE trained on the bundled sample data (plus the prompt
template), so every script of the six MCQA languages round-trips.

    python -m meds_bench.tiny_model --output-dir outputs/tiny-model
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from meds_bench import sample_data_path
from meds_bench.prompts import LEARN_FROM_CASES, format_case, format_query

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
# Minimal chat template with a distinct end-of-turn marker; generation stops at eos.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def sample_corpus(root: Path | None = None) -> Iterator[str]:
    """Texts of every task file below ``root`` (definitions, inputs, outputs) and the template."""
    yield LEARN_FROM_CASES
    yield format_case("x", "y") + format_query("z")
    for path in sorted((root or sample_data_path()).rglob("*.json*")):
        obj = json.loads(path.read_text(encoding="utf-8"))
        yield from (d for d in obj.get("Definition", []) if isinstance(d, str))
        for inst in obj.get("Instances", []):
            yield str(inst.get("input", ""))
            out = inst.get("output", "")
            yield from (out if isinstance(out, list) else [out])


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 2048
    return fast


def build_tiny_model(
    output_dir: str | Path,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Write a random-weight Llama model and its tokenizer to ``output_dir``; return the path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(output_dir)
    tokenizer = train_tokenizer(texts if texts is not None else sample_corpus(), vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a tiny random Llama model for offline runs.")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny_model(args.output_dir, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
