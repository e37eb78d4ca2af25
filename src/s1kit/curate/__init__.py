"""Curating an s1K-style dataset: quality, decontamination, difficulty, diversity.

Records are plain dicts in s1's columns (``question``, ``solution``, ``cot_type``, ``source_type``,
``metadata``, and once traces exist ``thinking_trajectories`` and ``attempt``). Every stage is a
pure function from records to a :class:`~s1kit.curate.stage.StageResult`: the records it kept and,
for every record it dropped, why.
"""
