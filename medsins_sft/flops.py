"""Training FLOPs per token and model FLOPs utilisation (MFU), in the PaLM paper's convention (appendix B).

One token of training (forward + backward) costs ``6 N + 12 L H Q T`` FLOPs, where N is the number of
parameters doing matrix multiplications (all parameters but the input embedding, whose lookup is free), L the
number of layers, H the attention heads, Q the head dimension and T the number of tokens the token's sequence
attends over: the dense layers cost 2 FLOPs per parameter forward and 4 backward, the attention scores
``Q K^T`` and the weighted sum ``A V`` cost ``2 x 2 H Q T`` per layer forward, times three with backward. The
convention counts the full T x T attention matrix even for causal masks (kernels skip half of it), and does not
count recomputation under activation checkpointing. For packed or padding-free rows T is the length of the
token's own example, not of the row.

MFU = achieved FLOP/s / peak FLOP/s of all devices.
"""

from __future__ import annotations


def flops_per_token(n_params: float, num_layers: int, num_heads: int, head_dim: int, context: float) -> float:
    """Training FLOPs of one token: ``6 * n_params + 12 * num_layers * num_heads * head_dim * context``."""
    return 6.0 * n_params + 12.0 * num_layers * num_heads * head_dim * context


def mfu(tokens: float, seconds: float, flops_per_token_: float, peak_flops: float) -> float:
    """Model FLOPs utilisation of ``tokens`` trained in ``seconds`` on devices of ``peak_flops`` FLOP/s in all."""
    if seconds <= 0 or peak_flops <= 0:
        raise ValueError(f"seconds and peak_flops must be > 0, got {seconds} and {peak_flops}")
    return tokens * flops_per_token_ / seconds / peak_flops
