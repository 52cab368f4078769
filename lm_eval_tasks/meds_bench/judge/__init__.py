"""A jury of model judges for the free-text tasks: rubrics, judging, aggregation, controls and reading judged runs."""
