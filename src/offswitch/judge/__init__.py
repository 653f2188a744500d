"""The LLM judge: answers what the deterministic detectors cannot decide."""
