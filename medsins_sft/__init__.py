"""Full-parameter SFT on MedS-Ins producing Hugging Face checkpoints."""
