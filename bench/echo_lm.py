"""``lm_eval`` with one more model, ``bench-echo``: answers with the last words of its prompt.

    python bench/echo_lm.py --model bench-echo --tasks ... [other lm_eval arguments]

lm-eval's ``dummy`` model answers "lol", which shares no word with any gold, so scorers never
need the gold's tokens. ``bench-echo`` answers with the last 40 words (at most 300 characters)
before the prompt's final ``Output:``, i.e. the end of the query's input: it shares words with the
golds as real answers do, so BLEU/ROUGE tokenize both sides, at no model cost.
"""

from __future__ import annotations

import sys

from lm_eval.api.registry import register_model
from lm_eval.models.dummy import DummyLM

ANSWER_WORDS = 40
ANSWER_CHARS = 300  # Chinese and Japanese have no spaces: the last 40 "words" can be whole prompts


@register_model("bench-echo")
class EchoLM(DummyLM):
    """The dummy model, answering with the end of the query instead of "lol"."""

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for request in requests:
            context = request.arguments[0].rsplit("Output:", 1)[0]
            out.append(" ".join(context.split()[-ANSWER_WORDS:])[-ANSWER_CHARS:])
        return out


if __name__ == "__main__":
    from lm_eval.__main__ import cli_evaluate

    sys.argv[0] = "lm_eval"
    cli_evaluate()
