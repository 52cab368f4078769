"""MedS-Bench scorers (SPEC A4), one job per module:

- :mod:`~meds_bench.metrics.scorers` - one record per scorer (function, metrics, aggregations,
  direction, group and report metrics); scoring one document (the harness and ``score``);
- :mod:`~meds_bench.metrics.table` - what each task and category reports, read from those records;
- :mod:`~meds_bench.metrics.hooks` - lm-eval ``process_results`` and corpus-level aggregations;
- :mod:`~meds_bench.metrics.extraction`, :mod:`~meds_bench.metrics.closed_set` - closed-set answers;
- :mod:`~meds_bench.metrics.ner`, :mod:`~meds_bench.metrics.hoc` - NER and HoC counts;
- :mod:`~meds_bench.metrics.tokenization`, :mod:`~meds_bench.metrics.text_similarity` - BLEU/ROUGE;
- :mod:`~meds_bench.metrics.rescore` - ``meds-bench score``;
- :mod:`~meds_bench.metrics.uncertainty` - standard errors (lm-eval's for means, bootstrap for NER/HoC);
- :mod:`~meds_bench.metrics.paired` - paired differences, McNemar/permutation p-values, Holm.
"""
