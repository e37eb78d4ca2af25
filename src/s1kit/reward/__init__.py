"""Process and outcome reward models: score a question's trace step by step (one score per step,
higher is better), behind one small interface (:class:`ProcessRewardModel`)."""
