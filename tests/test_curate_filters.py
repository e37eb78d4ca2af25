"""Curation filters: the quality checks and 8-gram decontamination, as tables of cases."""

import pytest

from s1kit.curate.decontaminate import build_index, decontaminate, load_eval_questions, words
from s1kit.curate.quality import QualityConfig, drop_reason, quality
from s1kit.errors import S1kitError
from shared_data import shared_file


def record(question="What is 2 + 2?", **fields):
    """A complete record in s1's columns; keyword arguments override or add columns."""
    return {"question": question, "solution": "4", "cot_type": "math", "source_type": "AI-MO/NuminaMath-CoT/aops_forum",
            "metadata": {}, **fields}


@pytest.mark.parametrize(
    "rec, reason",
    [
        ({"solution": "4"}, "missing field: question"),
        (record(question="   "), "missing field: question"),
        (record(solution=None), "missing field: solution"),
        (record(metadata={"error": "rate limited"}), "failed generation"),
        (record(thinking_trajectories=[""], attempt="4"), "failed generation"),
        (record(thinking_trajectories=[], attempt="4"), "failed generation"),
        (record(thinking_trajectories=["think"], attempt=None), "failed generation"),
        (record(thinking_trajectories=["think"]), "failed generation"),  # attempt absent once traces exist
        (record(question="Find x.\n[asy]\ndraw((0,0)--(1,1));\n[/asy]"), "asy figure"),
        (record(question="Find x. [ASY]size(5);[/ASY]", source_type="olympiads"), "asy figure"),
        (record(question="See ![Image] and find the area."), "image link"),
        (record(question="Find the area. ![](https://cdn.example.com/fig1.png)"), "image link"),
        (record(question="Find the area. ![figure 2](fig2.png)"), "image link"),
        (record(question="p1. Find x.\np2. Find y."), "numbered parts"),
        (record(question="Two problems:\n  p12. Find the sum."), "numbered parts"),
        (record(question="**1** Find the sum of all primes below 10."), "bold digits"),
        (record(question="Find x.\n**12.** Find y."), "bold digits"),
        # one reason each: the first failing check wins
        (record(question="[asy]draw(a);[/asy] ![Image] **1**", metadata={"error": "timeout"}), "failed generation"),
        (record(question="[asy]draw(a);[/asy]\np1. ![Image] **1**"), "asy figure"),
        (record(question="![Image]\np1. **1**"), "image link"),
        (record(question="p1. **1**"), "numbered parts"),
    ],
)
def test_quality_drops_with_the_first_failing_reason(rec, reason):
    assert drop_reason(rec, QualityConfig()) == reason
    result = quality([rec])
    assert result.kept == [] and result.dropped == [(rec, reason)]


@pytest.mark.parametrize(
    "rec",
    [
        record(),
        record(question="Find x.\n[asy]\ndraw((0,0)--(1,1));\n[/asy]", source_type="qq8933/AIME_1983_2024"),
        record(question="[asy]unitsize(1cm);[/asy] Find the area.", source_type="aime"),
        record(thinking_trajectories=["Let me think."], attempt="4"),
        record(thinking_trajectories="Let me think.", attempt="4"),
        record(metadata={"error": None}),
        record(metadata="{'error': 'not a mapping, so not read'}"),
        record(question="Compute 5![2] + 1."),  # factorial next to brackets, no link
        record(question="Let P1. be a point; compute p1.5 + 2."),  # not lowercase p at a line start
        record(question="Let q be prime and p1. Hmm"),  # p1. mid-line
        record(question="Is this **bold word** important?"),
        record(question="Read **Problem 1** carefully."),
        record(question="Evaluate 2**3**4 in Python."),  # powers, not a bold number
        record(question="Compute $x^{**}$ and 3 * 4 ** 2."),
    ],
)
def test_quality_keeps_near_misses(rec):
    assert drop_reason(rec, QualityConfig()) is None
    assert quality([rec]).kept == [rec]


@pytest.mark.parametrize(
    "config, rec",
    [
        (QualityConfig(drop_asy=False), record(question="[asy]draw(a);[/asy]")),
        (QualityConfig(asy_allowed_sources=("olympiads",)), record(question="[asy]draw(a);[/asy]", source_type="Olympiads")),
        (QualityConfig(drop_image_links=False), record(question="![Image]")),
        (QualityConfig(drop_numbered_parts=False), record(question="p1. Find x.")),
        (QualityConfig(drop_bold_digit_artifacts=False), record(question="**1** Find x.")),
        (QualityConfig(check_failed_generation=False), record(metadata={"error": "timeout"})),
        (QualityConfig(require_fields=("question",)), record(solution="")),
        (QualityConfig(text_fields=("solution",)), record(question="![Image]")),
    ],
)
def test_quality_checks_can_be_turned_off(config, rec):
    assert drop_reason(rec, config) is None


def test_quality_reads_the_configured_text_fields():
    config = QualityConfig(text_fields=("question", "solution"))
    assert drop_reason(record(solution="See ![Image]."), config) == "image link"


def test_quality_counts_and_keeps_order():
    records = [record(question=f"Question {i}?") for i in range(3)]
    records.insert(1, record(question="[asy]draw(a);[/asy]"))
    records.append({"question": "no solution"})
    result = quality(records)
    assert [r["question"] for r in result.kept] == ["Question 0?", "Question 1?", "Question 2?"]
    assert result.counts() == {"kept": 3, "dropped": 2, "reasons": {"asy figure": 1, "missing field: solution": 1}}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"require_fields": "question"}, r"require_fields must be a list of names, got 'question' \(str\); write e.g. require_fields=\['question'\]"),
        ({"trace_fields": ("attempt", "")}, r"trace_fields holds ''"),
        ({"text_fields": 3}, r"text_fields must be a list"),
        ({"asy_allowed_sources": "aime"}, r"asy_allowed_sources=\['aime'\]"),
    ],
)
def test_quality_config_errors_name_the_value(kwargs, message):
    with pytest.raises(S1kitError, match=message):
        QualityConfig(**kwargs)


def test_quality_rejects_non_dict_records():
    with pytest.raises(S1kitError, match="record 1 is a str"):
        quality([record(), "What is 2 + 2?"])


EVAL = {
    "toy": ["Let x and y be real numbers such that x plus y equals ten and x times y equals twenty one. Find x."],
    "short": ["What is six times seven?"],
}


@pytest.mark.parametrize(
    "question, reason",
    [
        # an 8-word run of the eval question inside a longer question
        ("Consider this: x plus y equals ten and x times y equals nine, compute y.", "contaminated: toy"),
        # punctuation, case and LaTeX markup do not hide the overlap
        ("LET $X$ AND $Y$ BE REAL-NUMBERS, such that...", "contaminated: toy"),
        ("what is SIX times seven???", "contaminated: short"),  # shorter than n: whole-question equality
        # near misses: a 7-word overlap, a short question that only contains the short eval one
        ("Suppose x plus y equals ten and x minus y is two.", None),
        ("Tell me: what is six times seven", None),
        ("What is six times eight?", None),
    ],
)
def test_decontaminate(question, reason):
    rec = record(question=question)
    result = decontaminate([rec], build_index(EVAL))
    assert result.dropped == ([(rec, reason)] if reason else [])
    assert result.kept == ([] if reason else [rec])


def test_seven_word_overlap_is_kept_and_eight_dropped():
    eval_words = EVAL["toy"][0].split()
    index = build_index(EVAL)
    seven = "Unrelated opening words here " + " ".join(eval_words[3:10]) + " unrelated ending"
    eight = "Unrelated opening words here " + " ".join(eval_words[3:11]) + " unrelated ending"
    assert index.match(words(seven)) is None
    assert index.match(words(eight)) == "toy"
    assert build_index(EVAL, n=7).match(words(seven)) == "toy"


def test_overlap_names_the_first_eval_set_that_has_it():
    question = "one two three four five six seven eight nine"
    index = build_index({"first": [question], "second": [question]})
    assert index.match(words(question)) == "first"


def test_duplicates_keep_the_first_and_counts():
    pool = [
        record(question="Find the sum of the first ten odd numbers.", id=0),
        record(question="find the SUM of the first ten odd numbers", id=1),
        record(question="Find the product of the first ten odd numbers.", id=2),
        record(question="Find   the sum of the first ten odd numbers!", id=3),
        record(question="x plus y equals ten and x times y equals twenty", id=4),
    ]
    result = decontaminate(pool, build_index(EVAL))
    assert [r["id"] for r in result.kept] == [0, 2]
    assert [(r["id"], reason) for r, reason in result.dropped] == [(1, "duplicate"), (3, "duplicate"), (4, "contaminated: toy")]
    assert result.name == "decontamination"
    assert result.counts() == {"kept": 2, "dropped": 3, "reasons": {"contaminated: toy": 1, "duplicate": 2}}


def test_decontaminate_reads_the_given_field():
    rec = {"problem": "What is six times seven?"}
    assert decontaminate([rec], build_index(EVAL), field="problem").dropped == [(rec, "contaminated: short")]
    with pytest.raises(S1kitError, match=r"record 0 has no text in 'question'.*pass field="):
        decontaminate([rec], build_index(EVAL))


@pytest.mark.parametrize(
    "eval_sets, n, message",
    [
        ({}, 8, "no evaluation sets"),
        ({"empty": []}, 8, "'empty' has no questions"),
        ({"bad": [None]}, 8, "'bad': question 0 is a NoneType"),
        (EVAL, 0, "n must be a positive integer.*got 0"),
        (EVAL, True, "got True"),
    ],
)
def test_build_index_errors(eval_sets, n, message):
    with pytest.raises(S1kitError, match=message):
        build_index(eval_sets, n=n)


def test_real_aime24_problem_is_caught():
    data_dir = shared_file("aime24.jsonl").parent
    eval_sets = load_eval_questions(["aime24"], data_dir)
    assert len(eval_sets["aime24"]) == 30
    problem = eval_sets["aime24"][0]
    pool = [
        record(question="Solve the following competition problem. " + problem.upper() + " Show your work."),
        record(question="Every morning Aya drinks coffee and reads the news."),
    ]
    result = decontaminate(pool, build_index(eval_sets))
    assert [reason for _, reason in result.dropped] == ["contaminated: aime24"]
    assert result.kept == pool[1:]


def test_load_eval_questions_accepts_jsonl_paths(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "What is six times seven?", "answer": "42"}\n', encoding="utf-8")
    assert load_eval_questions([f"jsonl:{path}"], None) == {f"jsonl:{path}": ["What is six times seven?"]}


@pytest.mark.parametrize(
    "names, message",
    [
        ("aime24", r"got the string 'aime24'; write \['aime24'\]"),
        ([], "no evaluation sets named"),
        (["aime"], "unknown task 'aime'; choose from"),
    ],
)
def test_load_eval_questions_errors(names, message, tmp_path):
    with pytest.raises(S1kitError, match=message):
        load_eval_questions(names, tmp_path)


def test_load_eval_questions_rejects_a_name_given_twice():
    data_dir = shared_file("aime24.jsonl").parent
    with pytest.raises(S1kitError, match="'aime24' is named twice"):
        load_eval_questions(["aime24", "aime24"], data_dir)


@pytest.mark.parametrize(
    "rec, narrow, s1",
    [
        # Where s1's released checks and the narrow set differ, both ways.
        (record(question="Let q be prime and p1. Hmm"), None, "numbered parts"),
        (record(question="Take step12. and go on"), None, "numbered parts"),
        (record(question="Is this **bold** worth 5 points?"), None, "bold digits"),
        (record(question="Read **Problem 1** carefully."), None, None),  # a space inside the bold run
        (record(question="See ![figure](f.png)"), "image link", None),  # s1 looked for ![Image] only
        (record(question="[ASY]draw(a);[/ASY]"), "asy figure", None),  # s1 matched [asy] in lower case
        (record(question="[asy]draw(a);[/asy]", source_type="aime_1983"), None, "asy figure"),  # "AIME" case-sensitive
        (record(question="[asy]draw(a);[/asy]", source_type="qq8933/AIME_1983_2024"), None, None),
        (record(question="![Image] p7. **3**"), "image link", "image link"),
    ],
)
def test_s1_patterns_reproduce_the_released_checks(rec, narrow, s1):
    assert drop_reason(rec, QualityConfig()) == narrow
    assert drop_reason(rec, QualityConfig(patterns="s1")) == s1


def test_unknown_pattern_set_is_an_error():
    with pytest.raises(S1kitError, match="unknown quality patterns 'strict'; choose from narrow, s1"):
        QualityConfig(patterns="strict")
