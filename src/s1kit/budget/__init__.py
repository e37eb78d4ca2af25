"""Budget forcing: configs, the per-sequence state machine, and the backend-agnostic runner."""
