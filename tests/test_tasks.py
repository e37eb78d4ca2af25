"""Benchmark loaders: row counts and fields of the shared sets, GPQA choice shuffling, JSONL mapping,
and every error a user can hit (missing field, bad JSON, unknown task, missing file, gated hub)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from s1kit.errors import S1kitError
from s1kit.tasks import TASKS, JsonlTask, get_task
from s1kit.tasks.gpqa_diamond import choice_order
from s1kit.tasks.gsm8k import final_number
from shared_data import SHARED_DATA as SHARED
from shared_data import shared_file

ROOT = Path(__file__).resolve().parents[1]
GPQA_DIR = ROOT / "tests" / "data"


@pytest.fixture(autouse=True)
def _no_data_dir_env(monkeypatch):
    monkeypatch.delenv("S1KIT_DATA_DIR", raising=False)


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# name, rows, first id, first answer, start of the first question
SHARED_SETS = [
    ("aime24", 30, "60", "204", "Every morning Aya goes for a $9$-kilometer-long walk"),
    ("aime25", 30, "90", "70", "Find the sum of all integer bases $b>9$"),
    ("amc23", 40, "0", "27", "Cities $A$ and $B$ are $45$ miles apart."),
    ("math500", 500, "test/precalculus/807.json", r"\left( 3, \frac{\pi}{2} \right)", "Convert the point $(0,3)$"),
    ("gsm8k", 1319, "0", "18", "Janet\u2019s ducks lay 16 eggs per day."),
]


@pytest.mark.parametrize("name, rows, first_id, first_answer, first_question", SHARED_SETS)
def test_shared_sets_load_with_their_fields(name, rows, first_id, first_answer, first_question, monkeypatch):
    task = TASKS[name]
    shared_file(task.file)
    examples = task.load(SHARED)
    assert len(examples) == rows
    first = examples[0]
    assert (first.id, first.answer) == (first_id, first_answer)
    assert first.question.startswith(first_question)
    assert len({example.id for example in examples}) == rows
    assert all(example.question == example.question.strip() and example.answer for example in examples)
    assert [example.id for example in task.load(SHARED, limit=3)] == [example.id for example in examples[:3]]
    monkeypatch.setenv("S1KIT_DATA_DIR", str(SHARED))
    assert task.load(limit=2) == examples[:2]


def test_meta_keeps_subject_level_and_url():
    shared_file("math500.jsonl")
    shared_file("aime24.jsonl")
    assert TASKS["math500"].load(SHARED, limit=1)[0].meta == {"subject": "Precalculus", "level": 2}
    assert TASKS["aime24"].load(SHARED, limit=1)[0].meta["url"].endswith("2024_AIME_I_Problems/Problem_1")


def test_gsm8k_answers_are_final_numbers():
    shared_file("gsm8k.jsonl")
    answers = [example.answer for example in TASKS["gsm8k"].load(SHARED)]
    assert all(answer.lstrip("-").replace(".", "", 1).isdigit() for answer in answers)
    assert "-10" in answers and "1450000" in answers


@pytest.mark.parametrize("solution, number", [
    ("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18", "18"),
    ("#### 72", "72"),
    ("####72", "72"),
    ("Total: 1,600 dollars\n#### 1,600", "1600"),
    ("#### 1,450,000  ", "1450000"),
    ("He loses 10.\n#### -10", "-10"),
    ("#### 0.5", "0.5"),
    ("a #### 3\n#### 4", "4"),
])
def test_gsm8k_final_number(solution, number):
    assert final_number(solution) == number


@pytest.mark.parametrize("solution", ["The answer is 72", "#### seventy-two", "####", "#### 3/4"])
def test_gsm8k_final_number_rejects(solution):
    with pytest.raises(ValueError):
        final_number(solution)


def test_gsm8k_bad_answer_names_file_and_line(tmp_path):
    write_jsonl(tmp_path / "gsm8k.jsonl", [{"idx": 0, "question": "q", "answer": "x\n#### 5"}, {"idx": 1, "question": "q", "answer": "no marker"}])
    with pytest.raises(S1kitError, match=r"gsm8k\.jsonl line 2: field 'answer': no '#### <number>' line"):
        TASKS["gsm8k"].load(tmp_path)


# GPQA: invented questions in GPQA's columns (the real ones are not to be republished).

def test_gpqa_rendering_matches_the_s1_harness():
    first = TASKS["gpqa_diamond"].load(GPQA_DIR, seed=0)[0]
    assert first.id == "inv-001"
    assert first.question == (
        "Which gas makes up most of Earth's atmosphere by volume?\n\n"
        "A) Carbon dioxide\nB) Nitrogen\nC) Oxygen\nD) Argon"
    )
    assert first.answer == "B"
    assert first.meta["permutation"] == ["Incorrect Answer 3", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2"]
    assert first.meta["choices"] == ["Carbon dioxide", "Nitrogen", "Oxygen", "Argon"]


def test_gpqa_fields_are_stripped():
    last = TASKS["gpqa_diamond"].load(GPQA_DIR)[3]
    assert last.question.startswith("Which of these particles carries no electric charge?\n\nA) ")
    assert "Neutron" in last.meta["choices"] and "Proton" in last.meta["choices"]
    assert "\n\n" not in last.question.split("\n\n", 1)[1]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_gpqa_gold_letter_is_the_correct_option(seed):
    rows = [json.loads(line) for line in (GPQA_DIR / "gpqa_diamond.jsonl").read_text().splitlines()]
    for row, example in zip(rows, TASKS["gpqa_diamond"].load(GPQA_DIR, seed=seed)):
        line = next(line for line in example.question.splitlines() if line.startswith(f"{example.answer}) "))
        assert line == f"{example.answer}) {row['Correct Answer'].strip()}"


def test_gpqa_same_seed_same_order_other_seed_other_order():
    task = TASKS["gpqa_diamond"]
    assert task.load(GPQA_DIR, seed=3) == task.load(GPQA_DIR, seed=3)
    orders = {seed: [example.meta["permutation"] for example in task.load(GPQA_DIR, seed=seed)] for seed in (0, 1)}
    assert orders[0] != orders[1]
    # Fixed across processes and machines: sha256, not hash() of a str (salted per process).
    assert choice_order(0, "inv-001") == ["Incorrect Answer 3", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2"]


def test_gpqa_correct_position_is_roughly_uniform(tmp_path):
    rows = [{"Record ID": f"rec{i}", "Question": f"Invented question {i}?", "Correct Answer": "right",
             "Incorrect Answer 1": "wrong 1", "Incorrect Answer 2": "wrong 2", "Incorrect Answer 3": "wrong 3"} for i in range(2000)]
    write_jsonl(tmp_path / "gpqa_diamond.jsonl", rows)
    counts = Counter(example.answer for example in TASKS["gpqa_diamond"].load(tmp_path, seed=0))
    assert sorted(counts) == ["A", "B", "C", "D"]
    # 500 expected per letter; the standard deviation is about 19, so 420-580 is over 4 of them.
    assert all(420 <= count <= 580 for count in counts.values()), counts


def test_gpqa_without_record_id_uses_position_and_rejects_empty_options(tmp_path):
    row = {"Question": "Invented?", "Correct Answer": "yes", "Incorrect Answer 1": "no", "Incorrect Answer 2": "maybe", "Incorrect Answer 3": "never"}
    write_jsonl(tmp_path / "gpqa_diamond.jsonl", [row, row])
    assert [example.id for example in TASKS["gpqa_diamond"].load(tmp_path)] == ["0", "1"]
    write_jsonl(tmp_path / "gpqa_diamond.jsonl", [row, {**row, "Incorrect Answer 2": "  "}])
    with pytest.raises(S1kitError, match=r"gpqa_diamond\.jsonl line 2: field 'Incorrect Answer 2' is empty"):
        TASKS["gpqa_diamond"].load(tmp_path)


# Row errors of registered tasks.

def test_empty_question_names_file_line_and_field(tmp_path):
    write_jsonl(tmp_path / "aime24.jsonl", [{"id": 1, "problem": "p", "answer": "1"}, {"id": 2, "problem": " \n", "answer": "2"}])
    with pytest.raises(S1kitError, match=r"aime24\.jsonl line 2: field 'problem' is empty; aime24\.jsonl needs .* columns id, problem, answer, url"):
        TASKS["aime24"].load(tmp_path)


def test_duplicate_ids_are_an_error(tmp_path):
    write_jsonl(tmp_path / "aime25.jsonl", [{"id": 7, "problem": "p", "answer": "1"}, {"id": 7, "problem": "q", "answer": "2"}])
    with pytest.raises(S1kitError, match=r"aime25\.jsonl line 2: duplicate id '7' \(also at .*aime25\.jsonl line 1\)"):
        TASKS["aime25"].load(tmp_path)


def test_missing_data_file_says_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(S1kitError) as error:
        TASKS["math500"].load(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "math500.jsonl") in message and "--data-dir" in message
    assert "load_dataset('HuggingFaceH4/MATH-500', split='test')" in message and "unique_id, problem, answer" in message
    monkeypatch.setenv("S1KIT_DATA_DIR", str(tmp_path))
    with pytest.raises(S1kitError, match=r"gsm8k\.jsonl \(data directory from S1KIT_DATA_DIR\).*'openai/gsm8k', 'main', split='test'"):
        TASKS["gsm8k"].load()


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "3"])
def test_limit_must_be_a_positive_integer(limit):
    with pytest.raises(S1kitError, match=rf"limit must be a positive integer, got {limit!r}.*--limit N"):
        TASKS["gpqa_diamond"].load(GPQA_DIR, limit=limit)


def test_limit_larger_than_the_set_keeps_everything():
    assert len(TASKS["gpqa_diamond"].load(GPQA_DIR, limit=100)) == 4


# The hub path, with datasets.load_dataset replaced (no network here).

@pytest.fixture
def fake_hub(monkeypatch):
    datasets = pytest.importorskip("datasets", reason="hub loading needs the [eval] extra")
    calls = []

    def install(result):
        def load_dataset(*args, **kwargs):
            calls.append((args, kwargs))
            if isinstance(result, BaseException):
                raise result
            return result
        monkeypatch.setattr(datasets, "load_dataset", load_dataset)
        return calls
    return install


def test_hub_rows_with_hub_column_names(fake_hub):
    calls = fake_hub([{"question": "Invented AMC question?", "answer": 12.0, "url": "u"}, {"question": "Another?", "answer": -0.5}])
    examples = TASKS["amc23"].load()
    assert calls == [(("math-ai/amc23", None), {"split": "test"})]
    assert [(e.id, e.question, e.answer) for e in examples] == [("0", "Invented AMC question?", "12"), ("1", "Another?", "-0.5")]


def test_hub_gsm8k_rows_have_no_idx(fake_hub):
    calls = fake_hub([{"question": "Invented?", "answer": "3 + 4 = 7\n#### 7"}, {"question": "Next?", "answer": "#### 2,000"}])
    assert [(e.id, e.answer) for e in TASKS["gsm8k"].load(limit=2)] == [("0", "7"), ("1", "2000")]
    assert calls == [(("openai/gsm8k", "main"), {"split": "test"})]


def test_hub_gpqa_uses_its_config_and_record_ids(fake_hub):
    row = {"Record ID": "recInvented", "Question": "Invented?", "Correct Answer": "yes", "Incorrect Answer 1": "no",
           "Incorrect Answer 2": "maybe", "Incorrect Answer 3": "never", "Subdomain": "extra columns are ignored"}
    calls = fake_hub([row])
    assert TASKS["gpqa_diamond"].load(seed=5)[0].id == "recInvented"
    assert calls == [(("Idavidrein/gpqa", "gpqa_diamond"), {"split": "train"})]


def test_data_dir_argument_beats_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("S1KIT_DATA_DIR", str(tmp_path))
    assert len(TASKS["gpqa_diamond"].load(GPQA_DIR)) == 4
    with pytest.raises(S1kitError, match="data directory from S1KIT_DATA_DIR"):
        TASKS["gpqa_diamond"].load()


def test_hub_row_errors_suggest_a_local_file(fake_hub):
    fake_hub([{"question": "Invented?", "answer": "no marker"}])
    with pytest.raises(S1kitError, match=r"hub dataset openai/gsm8k \(main, split test\) row 0: .*--data-dir .*gsm8k\.jsonl"):
        TASKS["gsm8k"].load()


def _gated_repo_error(status: int):
    """The hub's own GatedRepoError, with a real HTTP response of the hub's HTTP library."""
    import importlib

    errors = pytest.importorskip("huggingface_hub.errors", reason="hub loading needs the [eval] extra")
    # No skip if the hub library changes how it builds errors: the gated message must stay tested.
    response_cls = errors.Response
    http = importlib.import_module(response_cls.__module__.split(".")[0])
    url = "https://huggingface.co/datasets/Idavidrein/gpqa/resolve/main/README.md"
    response = response_cls(status, request=http.Request("GET", url))
    return errors.GatedRepoError(f"{status} Client Error. Cannot access gated repo for url {url}.", response=response)


@pytest.mark.parametrize("status", [401, 403])
def test_gated_hub_dataset_says_how_to_get_access(fake_hub, status):
    from datasets.exceptions import DatasetNotFoundError

    gated = _gated_repo_error(status)
    # load_dataset turns the hub's GatedRepoError into DatasetNotFoundError; data file downloads raise it as is.
    wrapped = DatasetNotFoundError("Dataset 'Idavidrein/gpqa' is a gated dataset on the Hub.")
    wrapped.__cause__ = gated
    for raised in (wrapped, gated):
        fake_hub(raised)
        with pytest.raises(S1kitError) as error:
            TASKS["gpqa_diamond"].load()
        message = str(error.value)
        assert "https://huggingface.co/datasets/Idavidrein/gpqa" in message
        assert "hf auth login" in message and "HF_TOKEN" in message
        assert "--data-dir" in message and "gpqa_diamond.jsonl" in message and "Correct Answer" in message
        assert error.value.__cause__ is raised


def test_offline_hub_suggests_data_dir(fake_hub):
    fake_hub(ConnectionError("Couldn't reach 'HuggingFaceH4/aime_2024' on the Hub (OfflineModeIsEnabled)"))
    with pytest.raises(S1kitError, match=r"could not reach the Hugging Face hub for HuggingFaceH4/aime_2024 .*--data-dir DIR .*aime24\.jsonl"):
        TASKS["aime24"].load()


def test_other_hub_failures_name_the_dataset(fake_hub):
    from datasets.exceptions import DatasetNotFoundError

    fake_hub(DatasetNotFoundError("Dataset 'yentinglin/aime_2025' doesn't exist on the Hub or cannot be accessed."))
    with pytest.raises(S1kitError, match=r"could not load yentinglin/aime_2025 from the hub \(DatasetNotFoundError: .*--data-dir"):
        TASKS["aime25"].load()


# jsonl:PATH tasks.

def test_jsonl_defaults(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"problem": " What is 6 * 7? ", "answer": 42}\n\n{"question": "What is 2 + 2?", "answer": "4"}\n')
    task = get_task(f"jsonl:{path}")
    assert isinstance(task, JsonlTask) and task.name == f"jsonl:{path}" and task.kind == "math"
    examples = task.load()
    assert [(e.id, e.question, e.answer) for e in examples] == [("1", "What is 6 * 7?", "42"), ("3", "What is 2 + 2?", "4")]
    assert task.load(limit=1) == examples[:1]


def test_jsonl_field_mapping(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [{"key": "a", "text": "Pick one", "gold": "B"}])
    task = get_task(f"jsonl:{path}", question_field="text", answer_field="gold", id_field="key", kind="choice")
    assert task.kind == "choice"
    assert [(e.id, e.question, e.answer) for e in task.load()] == [("a", "Pick one", "B")]


def test_jsonl_missing_field_names_field_line_and_row_fields(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [{"question": "q", "answer": "1"}, {"question": "q2", "solution": "2"}])
    with pytest.raises(S1kitError, match=r"mine\.jsonl line 2: no field 'answer' \(this row has: question, solution\); choose the fields .*answer_field"):
        get_task(f"jsonl:{path}").load()
    with pytest.raises(S1kitError, match=r"line 1: no field 'question' or 'problem' or 'prompt' \(this row has: text\)"):
        get_task(f"jsonl:{write_jsonl(tmp_path / 'other.jsonl', [{'text': 'q'}])}").load()
    with pytest.raises(S1kitError, match=r"line 1: no field 'uid'"):
        get_task(f"jsonl:{path}", id_field="uid").load()


def test_jsonl_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"question": "q", "answer": "1"}\n{"question": "q2", "answer": }\n')
    with pytest.raises(S1kitError, match=r"broken\.jsonl line 2: invalid JSON"):
        get_task(f"jsonl:{path}").load()
    path.write_text('["not", "an", "object"]\n')
    with pytest.raises(S1kitError, match=r"line 1: expected a JSON object, got list"):
        get_task(f"jsonl:{path}").load()


def test_jsonl_missing_file_and_bad_kind(tmp_path):
    with pytest.raises(S1kitError, match=r"no such file .*nope\.jsonl \(from --task jsonl:"):
        get_task(f"jsonl:{tmp_path / 'nope.jsonl'}").load()
    with pytest.raises(S1kitError, match=r"unknown kind 'essay'; choose from math, integer, choice"):
        get_task("jsonl:x.jsonl", kind="essay")


# The registry.

def test_registry_names_and_kinds():
    assert {name: task.kind for name, task in TASKS.items()} == {
        "aime24": "integer", "aime25": "integer", "amc23": "math", "gpqa_diamond": "choice", "gsm8k": "math", "math500": "math",
        "nano": "integer", "nano-dev": "integer",
    }
    assert all(task.doc and ("Hub:" in task.doc or task.packaged) for task in TASKS.values())
    assert get_task("aime24") is TASKS["aime24"]
    assert get_task("aime24", question_field=None) is TASKS["aime24"]


def test_unknown_task_lists_the_choices():
    with pytest.raises(S1kitError) as error:
        get_task("aime")
    assert str(error.value) == "unknown task 'aime'; choose from aime24, aime25, amc23, gpqa_diamond, gsm8k, math500, nano, nano-dev, or jsonl:PATH"


def test_jsonl_spec_needs_a_path_and_options_need_jsonl():
    with pytest.raises(S1kitError, match=r"task 'jsonl:' has no path"):
        get_task("jsonl:")
    with pytest.raises(S1kitError, match=r"question_field only apply to jsonl:PATH tasks, not to 'math500'"):
        get_task("math500", question_field="problem")
