"""The difficulty stage: drop questions a solver model answers correctly; measure trace lengths.

s1 (Section 2.2, "Difficulty") asks Qwen2.5-7B-Instruct and Qwen2.5-32B-Instruct each question,
has Claude 3.5 Sonnet grade the attempts against the reference solution, and drops a question if
either model gets it right; it also counts each reasoning trace's tokens with the Qwen2.5
tokenizer, since longer traces mean harder problems (the diversity sampler favors them).

Here any number of solvers run on any backend, graded by s1kit's rules against the answer in the
reference ``solution`` (its last ``\\boxed{}``, or the whole solution when it is short), and
optionally by an LLM judge where the rules say wrong. A solution the rules cannot read gives no
correct verdict from them, so such a question survives unless the judge says a solver got it.

The pure parts (``gold_answer``, ``rule_verdicts``, ``difficulty``) take replies and verdicts as
data; ``solve`` and ``count_trace_tokens`` call models and tokenizers.
"""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.curate.stage import StageResult
from s1kit.errors import S1kitError

SHORT_SOLUTION_CHARS = 64
"""A solution without ``\\boxed{}`` this short is taken as the answer itself (AIME: "204")."""


def trace_text(record: dict, field: str = "thinking_trajectories") -> str | None:
    """A record's reasoning trace as one text (s1 stores a list of trajectories), or None."""
    value = record.get(field)
    if isinstance(value, list):
        value = "\n\n".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) and value.strip() else None


def count_trace_tokens(records: Sequence[dict], tokenizer_name: str, field: str = "thinking_trajectories",
                       batch_size: int = 256) -> None:
    """Set ``trace_tokens`` on every record: its trace's length in tokens of ``tokenizer_name``."""
    texts = []
    for record in records:
        text = trace_text(record, field)
        if text is None:
            raise S1kitError(f"pool record {record.get('pool_index')} has no reasoning trace in '{field}'; "
                             "write traces with `s1kit traces` first (difficulty and diversity rank by trace "
                             "length), or map the pool's trace column with fields: {thinking_trajectories: ...}")
        texts.append(text)
    tokenizer = load_tokenizer(tokenizer_name)
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        for record, ids in zip(records[start : start + batch_size],
                               tokenizer(batch, add_special_tokens=False)["input_ids"]):
            record["trace_tokens"] = len(ids)


def load_tokenizer(name: str):
    from s1kit.train.scratch import BUILTIN_TOKENIZERS
    from s1kit.train.scratch import load_tokenizer as load_builtin

    if name in BUILTIN_TOKENIZERS:
        return load_builtin(name)
    from s1kit.models import ModelLoadError
    from s1kit.models import load_tokenizer as load_model_tokenizer

    try:
        return load_model_tokenizer(name)
    except ModelLoadError as exc:
        raise exc.naming("--tokenizer") from None


def gold_answer(solution: object) -> str | None:
    """The answer a reference solution gives: its last ``\\boxed{}``, else the solution if short."""
    from s1kit.grading.rules import last_boxed

    if not isinstance(solution, str) or not solution.strip():
        return None
    boxed = last_boxed(solution)
    if boxed:
        return boxed
    text = solution.strip()
    return text if len(text) <= SHORT_SOLUTION_CHARS else None


def rule_verdicts(records: Sequence[dict], responses: Sequence[str | None], kind: str,
                  answer_only: bool = False) -> list[bool]:
    """Whether each response answers its record's question correctly, by the rules alone.

    A missing response (a failed call) or an unreadable gold answer is not correct. ``answer_only``:
    the responses are answers without thinking (teacher attempts), see ``grading.extract_answer``.
    """
    from s1kit.grading.rules import grade

    verdicts = []
    for record, response in zip(records, responses, strict=True):
        gold = gold_answer(record.get("solution"))
        verdicts.append(response is not None and gold is not None
                        and grade(response, gold, kind, answer_only=answer_only).correct)
    return verdicts


def difficulty(records: Sequence[dict], verdicts: dict[str, Sequence[bool]]) -> StageResult:
    """Keep the records no solver answered correctly; each record gets a ``difficulty`` entry.

    ``verdicts`` maps each solver (in the recipe's order) to one verdict per record. A dropped
    record's reason names the first solver that solved it.
    """
    result = StageResult("difficulty", kept=[])
    for name, values in verdicts.items():
        if len(values) != len(records):
            raise S1kitError(f"solver {name}: {len(values)} verdicts for {len(records)} records")
    for i, record in enumerate(records):
        solved_by = [name for name, values in verdicts.items() if values[i]]
        record["difficulty"] = {"solvers": list(verdicts), "solved_by": solved_by,
                                "trace_tokens": record.get("trace_tokens")}
        if solved_by:
            result.dropped.append((record, f"solved by {solved_by[0]}"))
        else:
            result.kept.append(record)
    return result


def solve(calls, records: Sequence[dict], solvers, kind: str, judge=None) -> tuple[dict[str, list[bool]], dict]:
    """Every solver's verdict on every record, and counts for the manifest.

    Each solver answers each question (through ``calls``, a :class:`~s1kit.curate.calls.ModelCalls`);
    the rules grade; where they say wrong and a ``judge`` is set, the judge decides.
    """
    verdicts: dict[str, list[bool]] = {}
    counts: dict = {}
    questions = [record["question"] for record in records]
    for index, solver in enumerate(solvers):
        replies = calls.ask(solver, questions, progress=f"solver {solver.model}", setting=f"solvers.{index}.model")
        responses = [None if r is None else r["text"] for r in replies]
        correct = rule_verdicts(records, responses, kind)
        entry = {"asked": len(records), "failed": responses.count(None), "correct_by_rules": sum(correct)}
        if judge is not None:
            correct, entry["judge"] = judged(calls, judge, records, responses, correct)
        entry["correct"] = sum(correct)
        verdicts[solver.model] = correct
        counts[solver.model] = entry
    return verdicts, counts


def judged(calls, judge, records: Sequence[dict], responses: Sequence[str | None],
           correct: Sequence[bool]) -> tuple[list[bool], dict]:
    """``correct`` with the judge's YES/NO where the rules said wrong (``s1kit.grading.judge``'s fallback
    mode), the judge asked through ``calls``' cache; and the judge's counts."""
    from s1kit.grading.judge import Judge, JudgeConfig, judge_counts

    config = JudgeConfig(model=judge.model, backend=judge.backend, mode="fallback", format=judge.format,
                         budget=judge.budget_with("Verdict:"), template=judge.template, batch_size=judge.batch_size)

    def ask(prompts: list[str]) -> list[str | None]:
        replies = calls.ask(judge, prompts, answer_prefix="Verdict:", progress=f"judge {judge.model}", setting="judge.model")
        return [None if reply is None else reply["answer"] for reply in replies]

    # Only answers there are: a failed call or a record without a solution has nothing to judge.
    gradable = [i for i, response in enumerate(responses)
                if response is not None and isinstance(records[i].get("solution"), str)]
    rows = [{"question": records[i]["question"], "gold": records[i]["solution"], "text": responses[i],
             "correct": correct[i]} for i in gradable]
    Judge(config, ask=ask).apply(rows)
    merged = list(correct)
    for i, row in zip(gradable, rows):
        merged[i] = row["correct"]
    return merged, judge_counts(rows)
