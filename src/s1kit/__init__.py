"""s1kit: s1-style test-time scaling (Muennighoff et al., 2025, arXiv 2501.19393)."""

from s1kit.budget.config import BudgetConfig, SamplingConfig
from s1kit.budget.result import Generation
from s1kit.errors import S1kitError

__all__ = ["BudgetConfig", "SamplingConfig", "Generation", "S1kitError"]
__version__ = "0.1.0"
