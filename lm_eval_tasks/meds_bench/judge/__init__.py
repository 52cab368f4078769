"""The jury for the free-text tasks (issue 27): judging saved runs with LLM judges, and checking the judges."""
