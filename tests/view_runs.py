"""Synthetic eval run directories for the viewer's tests: the rows each method writes, without a model.

Rows have the fields and the structure of real ones (run.make_row): one trajectory per question and
sample that every point of a sweep reads off, as budget/sweep.py decodes it, so a cap point's thinking
is a prefix of a larger cap's and a point with one more ignored end repeats the trajectory up to the
model's first end; forced spans are token offsets with their decoded text; metrics.json is computed
from the rows by the eval stage's own code. The "model" writes "Wait" on its own now and then, as a
model trained on traces with Waits does, so a forced Wait is not simply the first "Wait" in a text.
Spans carry their character offsets, as s1kit records them. probe-exit's rows carry the probes of
their unit's trajectory, as methods/probe_exit.py records them: a point exits at the first probe its
rule fires at (an ``exit`` span), before its cap.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from s1kit.budget.probes import Reading, exit_index
from s1kit.eval.config import EvalConfig, eval_config, saved_settings

WORDS = ("so", "the", "sum", "is", "then", "we", "get", "x", "=", "+", "2", "3", "7", "11", "\\frac{1}{2}", "check",
         "again", "which", "gives", "$", "(", ")", "let", "us", "try", "n", "^2", "factor", "root", "both", "sides")
CAP_TEXT, END_TEXT = "\n<|im_start|>answer\nFinal Answer:", "<|im_start|>answer\n"
CAP_TOKENS, END_TOKENS = 5, 3


def segment(rng: random.Random, length: int) -> list[str]:
    """``length`` tokens of thinking: words, line breaks, and now and then a Wait of the model's own."""
    tokens = []
    for _ in range(length - 1):
        roll = rng.random()
        tokens.append("\n" if roll < 0.08 else " Wait," if roll < 0.085 else " " + rng.choice(WORDS))
    return tokens + ["\n"]  # the model tries to end thinking after a line


def unit_trajectory(rng: random.Random, natural: tuple[int, int], ignores: int, lead: str) -> tuple[list[str], list[int]]:
    """The thinking tokens with ``ignores`` forced Waits (each where the model tried to end), and the
    positions of those Waits."""
    tokens = ([lead] if lead else []) + segment(rng, rng.randint(*natural))
    waits = []
    for _ in range(ignores):
        waits.append(len(tokens))
        tokens += ["Wait"] + segment(rng, max(2, rng.randint(*natural) // 3))
    return tokens, waits


def point_row(config: EvalConfig, point, qi: int, sample: int, question: dict, tokens: list[str], offsets: list[int],
              full: str, waits: list[int], rng: random.Random) -> dict:
    """A row of one point read off a trajectory (``full`` is its text, ``offsets`` its token ends)."""
    ignored = waits[: point.num_ignore]
    # With k ends ignored, the thinking runs to the model's (k+1)-th try to end.
    length = (waits + [len(tokens)])[min(point.num_ignore, len(waits))]
    capped = point.cap is not None and length > point.cap
    n = point.cap if capped else length
    thinking = full[: offsets[n]]
    right = rng.random() < min(0.95, 0.15 + 0.8 * n / 1200)
    extracted = question["gold"] if right else None if rng.random() < 0.1 else str(rng.randint(0, 999))
    answer = f"Final Answer: {extracted if extracted is not None else '...'}"
    span_text, span_tokens = (CAP_TEXT, CAP_TOKENS) if capped else (END_TEXT, END_TOKENS)
    text = thinking + span_text + (answer[len("Final Answer:"):] if capped else answer) + "<|im_end|>"
    spans = [{"start": w, "end": w + 1, "kind": "wait", "text": "Wait", "char_start": offsets[w], "char_end": offsets[w + 1]}
             for w in ignored if w < n]
    spans.append({"start": n, "end": n + span_tokens, "kind": "cap" if capped else "end", "text": span_text,
                  "char_start": len(thinking), "char_end": len(thinking) + len(span_text)})
    return {
        "question_index": qi, "question_id": question["id"], "sample": sample, "method": config.method,
        "budget": point.budget, "variant": point.variant, "max_thinking_tokens": point.cap,
        "num_ignore": point.num_ignore, "instruction": point.instruction, "seed": rng.randrange(2**31),
        "question": question["question"], "gold": question["gold"], "text": text, "thinking": thinking,
        "answer": answer, "thinking_tokens": n, "answer_tokens": 6, "output_tokens": n + span_tokens + 4,
        "decoded_tokens": 0, "waits_inserted": len(spans) - 1, "forced_end": capped, "finish_reason": "stop",
        "forced_spans": spans, "token_count_source": "token-ids", "extracted_answer": extracted,
        "correct": extracted == question["gold"], "grading_timed_out": False,
    }


def method_rows(config: EvalConfig, questions: list[dict], natural: tuple[int, int] = (20, 120),
                lead: str = "") -> list[dict]:
    """Rows of ``config``'s method and points for ``questions`` ({id, question, gold}); ``lead`` is
    a text the model starts every trajectory with (e.g. hostile markup)."""
    points = config.points()
    rows = []
    for qi, question in enumerate(questions):
        for sample in range(config.samples):
            rng = random.Random(f"{config.sampling.seed}:{qi}:{sample}")
            if config.method == "rejection":
                rows += rejection_rows(config, points, qi, sample, question, rng, natural, lead)
                continue
            if config.method == "probe-exit":
                rows += probe_exit_rows(config, points, qi, sample, question, rng, natural, lead)
                continue
            tokens, waits = unit_trajectory(rng, natural, max(p.num_ignore for p in points), lead)
            offsets = [0]
            for token in tokens:
                offsets.append(offsets[-1] + len(token))
            full = "".join(tokens)
            unit = [point_row(config, p, qi, sample, question, tokens, offsets, full, waits, rng) for p in points]
            unit[-1]["decoded_tokens"] = sum(r["output_tokens"] for r in unit)
            rows += unit
    if config.judge is not None:
        judge(rows, config.judge.mode, config.sampling.seed)
    return rows


def rejection_rows(config, points, qi, sample, question, rng, natural, lead) -> list[dict]:
    """One stream of tries per unit; each budget keeps the first try that fits (methods/rejection.py)."""
    tries = []
    for _ in range(config.max_tries):
        tries.append(unit_trajectory(rng, natural, 0, lead)[0])
    rows = []
    for point in points:
        fits = [i for i, t in enumerate(tries) if len(t) <= point.budget]
        at = fits[0] if fits else len(tries) - 1
        tokens = tries[at]
        offsets = [0]
        for token in tokens:
            offsets.append(offsets[-1] + len(token))
        row = point_row(config, point, qi, sample, question, tokens, offsets, "".join(tokens), [], rng)
        rows.append({**row, "tries": at + 1 if fits else len(tries), "accepted": bool(fits)})
    return rows


def probe_exit_rows(config, points, qi, sample, question, rng, natural, lead) -> list[dict]:
    """One probed trajectory per unit; each point follows it to the probe its rule fires at (the
    answer forced there: an exit span) or, where none fires, to its own end or cap, as a sweep."""
    tokens, waits = unit_trajectory(rng, natural, max(p.num_ignore for p in points), lead)
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    full = "".join(tokens)
    every, probe_tokens = config.probe.probe_every, config.probe.probe_tokens
    # The answer a probe reads settles as the model thinks: on the gold, or on a wrong answer.
    settled = question["gold"] if rng.random() < 0.6 else str(rng.randint(0, 999))
    probes = []
    for position in range(every, len(tokens), every):
        roll = rng.random()
        answer = settled if roll < 0.2 + position / len(tokens) else None if roll > 0.9 else str(rng.randint(0, 99))
        probes.append((position, Reading(answer, round(rng.uniform(0.5, 1.0), 4))))
    rows = []
    for point in points:
        row = point_row(config, point, qi, sample, question, tokens, offsets, full, waits, rng)
        end = row["thinking_tokens"]
        ran = [probe for probe in probes if probe[0] < end]
        fired = exit_index([reading for _, reading in ran], *point.rule)
        if fired is not None:
            ran = ran[: fired + 1]
            position, reading = ran[fired]
            thinking = full[: offsets[position]]
            text = thinking + END_TEXT + f"Final Answer: {reading.answer}<|im_end|>"
            spans = [s for s in row["forced_spans"] if s["kind"] == "wait" and s["start"] < position]
            spans.append({"start": position, "end": position + END_TOKENS, "kind": "exit", "text": END_TEXT,
                          "char_start": len(thinking), "char_end": len(thinking) + len(END_TEXT)})
            row.update(text=text, thinking=thinking, answer=f"Final Answer: {reading.answer}", thinking_tokens=position,
                       output_tokens=position + END_TOKENS + 4, waits_inserted=len(spans) - 1, forced_end=False,
                       forced_spans=spans, extracted_answer=reading.answer, correct=reading.answer == question["gold"])
        row.update(probe_tokens=probe_tokens * len(ran), exited=fired is not None,
                   probes=[{"position": position, "thinking_tokens": position, "answer": reading.answer,
                            "confidence": reading.confidence, "fired": k == fired}
                           for k, (position, reading) in enumerate(ran)])
        rows.append(row)
    rows[-1]["decoded_tokens"] = sum(r["output_tokens"] for r in rows) + probe_tokens * len(probes)
    return rows


def judge(rows: list[dict], mode: str, seed: int) -> None:
    """Verdicts as grading/judge.py records them: the rules' verdict kept in rule_correct. The judge
    is consistent: one answer to one question always gets the same verdict."""
    for row in rows:
        row["rule_correct"] = row["correct"]
        if mode == "fallback" and row["correct"]:
            row.update(judged=False, judge_verdict=None, judge_reply=None)
            continue
        roll = random.Random(f"{seed}:{row['question_index']}:{row['extracted_answer']}").random()
        verdict = None if roll < 0.1 else (not row["correct"]) if roll < 0.35 else row["correct"]
        row.update(judged=True, judge_verdict=verdict, judge_reply=f"verdict: {verdict} <b>\"quoted\"</b>")
        if verdict is not None:
            row["correct"] = verdict


def write_run(out: Path, config: EvalConfig, rows: list[dict]) -> Path:
    """samples.jsonl, metrics.json (computed by the eval stage's code) and config.json in ``out``."""

    from s1kit.eval.summary import compute_metrics

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(saved_settings(config), indent=2) + "\n")
    with (out / "samples.jsonl").open("w", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    metrics = compute_metrics(config, rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return out


def synthetic_run(out: Path, questions: list[dict], natural: tuple[int, int] = (20, 120), lead: str = "",
                  **settings) -> Path:
    """A run directory of ``eval_config(**settings)`` on ``questions``."""
    config = eval_config(**{"task": "synthetic", "model": "scripted", "out": str(out), **settings})
    return write_run(out, config, method_rows(config, questions, natural, lead))


def nano_like_questions(count: int) -> list[dict]:
    rng = random.Random(count)
    return [{"id": f"q-{i:04d}", "question": f"Add {rng.randint(1, 99)} and {rng.randint(1, 99)}.",
             "gold": str(rng.randint(0, 999))} for i in range(count)]
