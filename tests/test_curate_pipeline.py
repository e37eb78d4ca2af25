"""`s1kit curate` end to end on a hand-made pool with scripted models: every stage's drops and
reasons, the outputs, the cache (a re-run makes no call) and resume after an interruption."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from s1kit.backends.scripted import ScriptedBackend
from s1kit.curate.config import CurateConfig, ModelCallConfig
from s1kit.curate.pipeline import main
from s1kit.curate.quality import QualityConfig
from s1kit.errors import S1kitError
from s1kit.recipes import build

pytest.importorskip("transformers", reason="trace lengths are counted with SmolLM2's tokenizer ([hf] extra)")
pytest.importorskip("matplotlib", reason="the curation plots need the [plots] extra")
pytest.importorskip("pyarrow", reason="the Parquet output needs the [curate] extra")

EVAL_QUESTION = "A frog sits on the first lily pad of a row of twelve pads and jumps forward."
DOMAINS = ["prime numbers", "graph colorings", "integrals of curves", "random walks"]


def hard(i: int, domain: str | None = None, **extra) -> dict:
    """A question the scripted solver gets wrong; its words name a domain for the classifier."""
    row = {"question": f"Hard question {i} about {DOMAINS[i % 4]}, case {i}.", "solution": rf"\boxed{{{i}}}",
           "cot_type": "math", "source_type": "AI-MO/NuminaMath-CoT/olympiads", "metadata": "{}",
           "thinking_trajectories": ["step " * (5 + 3 * i)], "attempt": f"Final Answer: {i}"}
    if domain is not None:
        row["domain"] = domain
    return {**row, **extra}


def pool_rows() -> list[dict]:
    rows = [hard(i) for i in range(12)]
    rows[0]["domain"] = "60"  # labeled in the pool: the classifier is not asked
    rows += [
        hard(20, question="EASY: what is 2+2?", solution=r"It is $\boxed{4}$."),                   # solved: difficulty
        hard(21, source_type="qq8933/AIME_1983_2024", solution="21"),                          # correct attempt: pick
        hard(22, source_type="qq8933/AIME_1983_2024", solution="23"),                          # wrong attempt
        hard(23, source_type="qfq/openaimath/Algebra", thinking_trajectories=["long " * 80]),   # long MATH: pick
        hard(24, question="Draw it. [asy] draw((0,0)--(1,1)); [/asy] Find the area."),         # quality
        hard(25, question="Who: " + EVAL_QUESTION),                                            # contaminated
        hard(3),                                                                                # duplicate of row 3
        hard(26, thinking_trajectories=None, attempt=None),                                    # failed generation
        hard(27, question="Hard question about an unclear topic."),                            # classifier: unknown
    ]
    return rows


def solver_script(prompt: str) -> str:
    return r"Thinking </think> The answer is \boxed{4}." if "EASY" in prompt else r"Hmm </think> \boxed{-1}"


def classifier_script(prompt: str) -> str:
    question = prompt.split("Problem:")[-1]
    codes = {"prime": "11", "graph": "05", "integral": "26", "walk": "60"}
    code = next((c for word, c in codes.items() if word in question), "nothing I know")
    return f"ok </think> {code}"


def scripted() -> dict:
    return {"solver": ScriptedBackend(solver_script), "classifier": ScriptedBackend(classifier_script)}


@pytest.fixture
def setup(tmp_path, smollm2_dir):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in pool_rows()))
    evals = tmp_path / "mine.jsonl"
    evals.write_text(json.dumps({"question": EVAL_QUESTION, "answer": "1"}) + "\n")

    def config(out: str, **overrides) -> CurateConfig:
        settings = dict(pool=str(pool), out=str(tmp_path / out), size=8, seed=3, eval_sets=[f"jsonl:{evals}"],
                        tokenizer="smollm2-135m",
                        solvers=[build(ModelCallConfig, dict(model="solver", format="think-tags", max_thinking_tokens=8,
                                                 max_answer_tokens=8, batch_size=4))],
                        classifier=build(ModelCallConfig, dict(model="classifier", format="think-tags", max_thinking_tokens=4,
                                                   max_answer_tokens=4, batch_size=4)))
        settings.update(overrides)
        config = CurateConfig(**settings)
        config.benchmark.long_min_tokens = 60
        return config

    return config


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_stage_drops_what_it_should_and_says_why(setup):
    config = setup("out")
    manifest = main(config, scripted())
    stages = {s["name"]: s for s in manifest["stages"]}
    assert stages["quality"]["reasons"] == {"asy figure": 1, "failed generation": 1}
    assert stages["decontamination"]["reasons"] == {f"contaminated: jsonl:{config.eval_sets[0][6:]}": 1, "duplicate": 1}
    # Of the 17 survivors the solver gets the EASY one; among the other 16, two are benchmark picks
    # (both AIME attempts and the long MATH one are graded; one AIME attempt is wrong).
    assert stages["difficulty"] == {"name": "difficulty", "kept": 16, "dropped": 1, "reasons": {"solved by solver": 1}}
    assert manifest["solvers"]["solver"] == {"asked": 17, "failed": 0, "correct_by_rules": 1, "correct": 1}
    assert manifest["benchmark_quality"] == {"picked": 2, "reasons": {"long qfq/openaimath": 1, "qq8933/AIME_1983_2024": 1},
                                             "attempts_graded": 3}
    assert stages["diversity"]["kept"] == 8 and stages["diversity"]["reasons"] == {"not selected": 8}
    # The classifier sees the 15 unlabeled candidates (16 less the pool-labeled one); one reply names no class.
    assert manifest["domains"]["classifier"] == {"asked": 15, "classified": 14, "unknown": 1, "failed": 0}

    out = setup("out").out
    rows = read(Path(out) / "dataset.jsonl")
    assert len(rows) == 8 == manifest["selected"]
    assert [r["pick"] for r in rows[:2]] == ["benchmark-quality: qq8933/AIME_1983_2024",
                                     "benchmark-quality: long qfq/openaimath"]
    assert {r["pick"] for r in rows[2:]} == {"diverse"}
    for row in rows:
        assert {"question", "solution", "thinking_trajectories", "attempt", "domain", "difficulty", "trace_tokens"} <= set(row)
        assert row["difficulty"]["solved_by"] == [] and row["trace_tokens"] > 0
        assert row["domain"] in {"05", "11", "26", "60", "unknown"}
    assert "EASY" not in json.dumps(rows)


def test_outputs_manifest_report_plots_and_parquet(setup):
    import pyarrow.parquet as pq

    config = setup("out")
    manifest = main(config, scripted())
    out = Path(config.out)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["stages"] == manifest["stages"] and on_disk["config"]["seed"] == 3
    assert on_disk["models"] == {"tokenizer": "smollm2-135m", "solvers": ["solver"], "judge": None, "classifier": "classifier"}
    table = pq.read_table(out / "dataset.parquet").to_pylist()
    assert [r["question"] for r in table] == [r["question"] for r in read(out / "dataset.jsonl")]
    assert json.loads(table[0]["difficulty"])["solved_by"] == []  # dict columns stored as JSON text
    report = (out / "report.md").read_text()
    assert "| quality | 19 | 2 | asy figure: 1, failed generation: 1 |" in report
    assert "unknown 1" in report
    for png in ("domains.png", "trace_lengths.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["trace_tokens"]["selected"]["records"] == 8


def test_a_rerun_makes_no_model_call_and_writes_the_same_dataset(setup):
    config = setup("out")
    main(config, scripted())
    first = (Path(config.out) / "dataset.jsonl").read_bytes()
    again = scripted()
    manifest = main(setup("out"), again)
    assert manifest["calls"]["made"] == 0 and manifest["calls"]["cached"] == 17 + 15
    assert again["solver"].calls == [] and again["classifier"].calls == []
    assert (Path(config.out) / "dataset.jsonl").read_bytes() == first


def test_an_interrupted_run_resumes_without_repeating_a_call(setup):
    reference = setup("reference")
    main(reference, scripted())

    class Interrupting(ScriptedBackend):
        def run(self, prompt_ids, *args, **kwargs):
            if len(self.calls) >= 4:  # the second batch of 4
                raise KeyboardInterrupt
            return super().run(prompt_ids, *args, **kwargs)

    interrupted = {"solver": Interrupting(solver_script), "classifier": ScriptedBackend(classifier_script)}
    with pytest.raises(KeyboardInterrupt):
        main(setup("resumed"), interrupted)
    assert len(interrupted["solver"].calls) == 4
    resumed = scripted()
    manifest = main(setup("resumed"), resumed)
    assert len(resumed["solver"].calls) == 17 - 4  # only what the first run had not stored
    assert manifest["calls"]["cached"] == 4
    assert (Path(setup("resumed").out) / "dataset.jsonl").read_text() == \
        (Path(reference.out) / "dataset.jsonl").read_text()


def test_selection_presets_on_the_same_pool(setup):
    picks = {}
    for how in ("s1k", "diverse", "longest", "random"):
        main(setup(how, select=how), scripted())
        picks[how] = read(Path(setup(how).out) / "dataset.jsonl")
    assert all(len(rows) == 8 for rows in picks.values())
    assert not any(r["pick"].startswith("benchmark") for how in ("diverse", "longest", "random") for r in picks[how])
    lengths = sorted((r["trace_tokens"] for r in picks["longest"]), reverse=True)
    assert [r["trace_tokens"] for r in picks["longest"]] == lengths
    longest = {r["pool_index"] for r in picks["longest"]}
    assert min(lengths) >= max(r["trace_tokens"] for r in picks["random"] if r["pool_index"] not in longest)
    assert {r["pool_index"] for r in picks["random"]} != {r["pool_index"] for r in picks["longest"]}


def test_a_judge_can_mark_a_solver_answer_correct(setup):
    judge_says = ScriptedBackend(lambda p: "ok </think> YES" if "case 5." in p else "ok </think> NO")
    from s1kit.curate.config import JudgeCallConfig

    config = setup("judged", judge=build(JudgeCallConfig, dict(model="judge", format="think-tags", max_thinking_tokens=4)))
    manifest = main(config, {**scripted(), "judge": judge_says})
    assert manifest["solvers"]["solver"]["judge"] == {"judged": 16, "overturned": 1, "unreadable": 0}
    assert manifest["stages"][2]["reasons"] == {"solved by solver": 2}
    # Two AIME attempts were graded by the rules (one wrong, so the judge saw it and said NO).
    assert manifest["benchmark_quality"]["picked"] == 2


@pytest.mark.parametrize("overrides, message", [
    ({"size": 40}, re.escape("size (40) exceeds the 16 records that survived the earlier stages; lower --size to 16")),
    ({"classifier": None}, "record\\(s\\) have no 'domain'.*set a classifier in the recipe"),
    ({"pool": None}, "no pool given; pass --pool"),
    ({"tokenizer": "/nonexistent/tok"}, "model directory|unknown model '/nonexistent/tok'"),
])
def test_bad_settings_are_errors_that_say_what_to_do(setup, overrides, message):
    with pytest.raises(S1kitError, match=message):
        main(setup("bad", **overrides), scripted())


def test_a_pool_without_traces_says_to_write_them_first(setup, tmp_path):
    pool = tmp_path / "bare.jsonl"
    pool.write_text(json.dumps({"question": "What is 1+1?", "solution": "2"}) + "\n")
    with pytest.raises(S1kitError, match="no reasoning trace.*s1kit traces"):
        main(setup("bare", pool=str(pool), quality=QualityConfig(trace_fields=("attempt",))), scripted())


@pytest.mark.slow
def test_curate_cli_end_to_end_with_smollm2_as_solver_and_classifier(tmp_path, smollm2_dir):
    """The tiny-cpu recipe: SmolLM2 answers and classifies, eval sets from ../shared/data."""
    from tests.shared_data import SHARED_DATA, shared_file
    from typer.testing import CliRunner

    from s1kit.cli import app
    from s1kit.curate.msc import MSC_CODES

    for name in ("aime24.jsonl", "aime25.jsonl", "math500.jsonl", "gsm8k.jsonl"):
        shared_file(name)
    topics = ["the primes below 50", "paths in a graph", "the area under a parabola", "a fair coin"]
    rows = [hard(i, question=f"Problem {i}: find a fact about {topics[i]} (variant {i}).") for i in range(4)]
    rows.append(hard(10, source_type="qq8933/AIME_1983_2024", solution="10", attempt="Final Answer: 10"))
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "curate" / "tiny-cpu.yaml"
    args = ["curate", "--recipe", str(recipe), "--pool", str(pool), "--out", str(tmp_path / "out"), "--size", "3",
            "--data-dir", str(SHARED_DATA)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    stages = {s["name"]: s for s in manifest["stages"]}
    assert stages["quality"]["kept"] == stages["decontamination"]["kept"] == 5
    solver = manifest["solvers"]["smollm2-135m"]
    assert solver["asked"] == 5 and solver["failed"] == 0
    assert stages["difficulty"]["kept"] == 5 - solver["correct"]
    classifier = manifest["domains"]["classifier"]
    assert classifier["asked"] == stages["difficulty"]["kept"]
    assert classifier["classified"] + classifier["unknown"] == classifier["asked"]
    dataset = [json.loads(line) for line in (tmp_path / "out" / "dataset.jsonl").read_text().splitlines()]
    assert len(dataset) == min(3, stages["difficulty"]["kept"])
    aime = [r for r in dataset if r["source_type"].startswith("qq8933/AIME")]
    assert [r["pick"] for r in aime] == ["benchmark-quality: qq8933/AIME_1983_2024"] * len(aime)
    assert all(r["domain"] in MSC_CODES or r["domain"] == "unknown" for r in dataset)
    assert f"wrote {len(dataset)} records" in result.output
    # The same command again reads every model call from the cache and writes the same dataset.
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "model calls: 0 made" in again.output
    assert [json.loads(line) for line in (tmp_path / "out" / "dataset.jsonl").read_text().splitlines()] == dataset


def test_curate_cli_reports_recipe_errors_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from s1kit.cli import app

    recipe = tmp_path / "r.yaml"
    recipe.write_text("size: 10\nsolvers:\n  - model: a\n    max_thinkng_tokens: 5\n")
    result = CliRunner().invoke(app, ["curate", "--recipe", str(recipe), "--pool", "p.jsonl", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert f"error: {recipe}.solvers[0]: unknown key 'max_thinkng_tokens'" in result.output
    assert "Traceback" not in result.output
