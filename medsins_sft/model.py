"""Base model and tokenizer for training: attention kernel choice and pad token choice, both logged.

* Attention: ``flash_attention_2`` when the ``flash_attn`` package is importable and training runs on a GPU
  (padding-free rows then go through its varlen kernel, with no mask materialised), else ``sdpa``.
* Pad token: it must differ from EOS, or padding would mask out the learned end of an answer. A tokenizer
  with reserved special tokens (Llama 3.1+: ``<|finetune_right_pad_id|>``; Llama 3.0:
  ``<|reserved_special_token_N|>``) reuses one, keeping the vocabulary and the embedding matrix as they are;
  only a tokenizer without any gets a new ``<pad>`` token and a resized embedding.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger("medsins_sft")

PAD_TOKEN_PREFERENCE = ("<|finetune_right_pad_id|>",)  # Llama 3.1+ reserve it for padding
RESERVED_TOKEN = re.compile(r"^<\|reserved_special_token_(\d+)\|>$")
NEW_PAD_TOKEN = "<pad>"


def choose_attention(requested: str | None, on_gpu: bool) -> str:
    """The attention implementation to load the model with (``requested`` wins when given)."""
    if requested:
        return requested
    from transformers.utils import is_flash_attn_2_available

    return "flash_attention_2" if on_gpu and is_flash_attn_2_available() else "sdpa"


def choose_pad_token(tokenizer: Any) -> tuple[str, bool]:
    """``(pad token, needs_new_token)``: the current pad token when it differs from EOS, else a reserved special
    token of the vocabulary (the preferred names first, then the lowest-numbered reserved token), else ``<pad>``
    (to be added when the vocabulary lacks it)."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return tokenizer.pad_token, False
    vocab = tokenizer.get_vocab()
    for name in PAD_TOKEN_PREFERENCE:
        if name in vocab:
            return name, False
    reserved = sorted((int(m.group(1)), tok) for tok in vocab if (m := RESERVED_TOKEN.match(tok)))
    if reserved:
        return reserved[0][1], False
    return NEW_PAD_TOKEN, NEW_PAD_TOKEN not in vocab


def load_model_and_tokenizer(path: str, attn_implementation: str) -> tuple[Any, Any]:
    """Model in fp32 master weights (bf16 autocast comes from the trainer) and a tokenizer with a pad token
    that is not EOS (see :func:`choose_pad_token`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32", attn_implementation=attn_implementation)
    pad, add = choose_pad_token(tokenizer)
    if add:
        tokenizer.add_special_tokens({"pad_token": pad})
        model.resize_token_embeddings(len(tokenizer))
        logger.warning("pad token: added %s and resized the embeddings to %d rows", pad, len(tokenizer))
    else:
        tokenizer.pad_token = pad
        logger.info("pad token: %s (id %d, vocabulary unchanged)", pad, tokenizer.pad_token_id)
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    logger.info("attention implementation: %s", attn_implementation)
    return model, tokenizer
