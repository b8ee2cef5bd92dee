"""Data-quality rules: the team's rules in `rules.py`, their building blocks in `model.py`."""
