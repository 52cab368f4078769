"""What a jury costs on the whole free-text half of MedS-Bench (27 tasks): a table, from the bundled list prices.

    python bench/jury_cost.py [--judge claude-sonnet-4-5 --judge gpt-5.1] [--tokens-per-word 1.3]
                              [--output-tokens 80] [--control-docs 3]

Per category, the judge prompt is the one ``meds_bench.judge.prompts.judge_messages`` builds from the category's
rubric, with an input of the category's mean input words and a reference and an answer of its mean gold words
(``meds_bench.catalog.CATEGORIES[..].doc_words``); tokens are its words x ``--tokens-per-word``. A reply is
``--output-tokens`` tokens (a short justification and the scores; thinking tokens, where a judge thinks, are billed
on top). Documents per task are the test sets' sizes (SPEC B1; the 12 CT/MRI summarization files are known only
together: 1,330 documents). Prices are the adapters' (``models.json``, USD per 1M tokens; batch = the batch rate).
The controls add ``--control-docs`` reference and as many swapped-reference requests per task.
"""

from __future__ import annotations

import argparse

from meds_bench.catalog import CATEGORIES
from meds_bench.judge.prompts import judge_messages
from meds_bench.judge.rubrics import JUDGED_TASKS, rubric
from meds_bench_adapters.cost import load_prices, price_for

# Test documents per judged task (SPEC B1), by MedS id; the CT and MRI files (83-94) share one total.
DOCS = {51: 200, 52: 195, 53: 189, 54: 190, 55: 173, 56: 189, 18: 1235, 46: 1115, 50: 1115, 100: 304, 42: 1422,
        78: 100, 110: 100, 112: 100, 114: 100}  # fmt: skip
CT_MRI_IDS = tuple(range(83, 95))
CT_MRI_DOCS = 1330


def documents() -> dict[str, float]:
    """Category -> its judged documents."""
    out: dict[str, float] = {}
    for info in JUDGED_TASKS:
        n = CT_MRI_DOCS / len(CT_MRI_IDS) if info.task_id in CT_MRI_IDS else DOCS[info.task_id]
        out[info.category] = out.get(info.category, 0) + n
    return out


def prompt_words(category: str) -> tuple[int, int]:
    """(words of the whole judge prompt, words of its fixed part: rubric and instructions) for a mean document."""
    input_words, gold_words = CATEGORIES[category].doc_words
    filler = lambda n: " ".join(["word"] * n)  # noqa: E731
    messages = judge_messages(rubric(category), filler(input_words), filler(gold_words), filler(gold_words))
    whole = sum(len(m["content"].split()) for m in messages)
    return whole, whole - input_words - 2 * gold_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", help="judge model ids (default: claude-sonnet-4-5, gpt-5.1)")
    parser.add_argument("--tokens-per-word", type=float, default=1.3)
    parser.add_argument("--output-tokens", type=int, default=80)
    parser.add_argument("--control-docs", type=int, default=3)
    args = parser.parse_args()
    judges = args.judge or ["claude-sonnet-4-5", "gpt-5.1"]
    prices = load_prices()
    docs = documents()
    tasks_per_category = {c: sum(1 for t in JUDGED_TASKS if t.category == c) for c in docs}
    rows = []
    for category, n in docs.items():
        whole, fixed = prompt_words(category)
        tokens_in = round(whole * args.tokens_per_word)
        rows.append((category, tasks_per_category[category], n, round(fixed * args.tokens_per_word), tokens_in))
    header = f"{'category':<14}{'tasks':>6}{'docs':>8}{'rubric tok':>11}{'prompt tok':>11}"
    print(header + "".join(f"{j + ' list':>26}{j + ' batch':>26}" for j in judges))
    totals = {j: [0.0, 0.0] for j in judges}
    input_total = 0.0
    for category, tasks, n, fixed, tokens_in in rows:
        line = f"{category:<14}{tasks:>6}{n:>8.0f}{fixed:>11}{tokens_in:>11}"
        input_total += n * tokens_in
        for j in judges:
            price = price_for(j, prices)
            if price is None:
                line += f"{'no price':>26}{'no price':>26}"
                continue
            sync = n * price.cost(tokens_in, args.output_tokens)
            batch = n * price.cost(tokens_in, args.output_tokens, batch=True)
            totals[j][0] += sync
            totals[j][1] += batch
            line += f"{'$' + format(sync, '.2f'):>26}{'$' + format(batch, '.2f'):>26}"
        print(line)
    all_docs = sum(docs.values())
    print(f"{'answers':<14}{len(JUDGED_TASKS):>6}{all_docs:>8.0f}{'':>11}{input_total / all_docs:>11.0f}"
          + "".join(f"{'$' + format(totals[j][0], '.2f'):>26}{'$' + format(totals[j][1], '.2f'):>26}"
                    for j in judges))  # fmt: skip
    controls = len(JUDGED_TASKS) * 2 * args.control_docs
    share = controls / all_docs
    print(
        f"{'controls':<14}{len(JUDGED_TASKS):>6}{controls:>8}{'':>22}"
        + "".join(
            f"{'~$' + format(totals[j][0] * share, '.2f'):>26}{'~$' + format(totals[j][1] * share, '.2f'):>26}"
            for j in judges
        )  # fmt: skip
        + f"   ({share:.1%} of the answers' requests)"
    )
    both = sum(t[0] for t in totals.values()) * (1 + share)
    both_batch = sum(t[1] for t in totals.values()) * (1 + share)
    print(f"jury of {len(judges)} ({', '.join(judges)}), answers + controls: ${both:.2f} list, "
          f"${both_batch:.2f} batch; "
          f"{args.output_tokens} output tokens per reply, {args.tokens_per_word} tokens per word")  # fmt: skip
    for j in judges:
        price = price_for(j, prices)
        if price is not None:
            print(f"  {j}: ${price.input:g} / ${price.output:g} per 1M input / output tokens (list), "
                  f"batch x{price.cost(10**6, 0, batch=True) / price.input:.2f} on input")  # fmt: skip


if __name__ == "__main__":
    main()
