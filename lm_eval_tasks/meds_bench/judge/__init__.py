"""LLM judges for the free-text half of MedS-Bench (``meds-bench judge``): rubrics, judging, the jury's scores."""
