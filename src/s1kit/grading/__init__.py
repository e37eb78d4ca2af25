"""Grading: answer extraction and equivalence under a time limit (rules.py), the optional LLM judge
(judge.py), and the `grade` command over a JSONL file (command.py)."""
