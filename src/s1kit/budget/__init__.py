"""Budget forcing: configs, the per-sequence state machine, budget-forced generation over any
backend (forcing.py), and sweeps of budgets that share work (sweep.py)."""
