"""MedS-Bench scorers (SPEC A4)."""
