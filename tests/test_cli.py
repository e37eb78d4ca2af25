"""`s1kit generate` and `s1kit demo` from the command line: JSON shape, formats, seeds, and bad
input that ends in one `error:` line with exit code 2, never a traceback.

Runs use the tiny random checkpoints from conftest, so each takes about a second.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from s1kit.cli import app

pytest.importorskip("transformers", reason="the generate command needs the [hf] extra")

FIELDS = {"prompt", "thinking", "answer", "text", "thinking_tokens", "answer_tokens", "waits_inserted",
          "forced_end", "finish_reason", "forced_spans", "prompt_tokens", "token_ids", "forced_mask", "seed"}
SPAN_KINDS = {"wait", "cap", "end"}


def invoke(*args: object):
    # typer's CliRunner keeps stdout and stderr apart (result.stdout / result.stderr);
    # result.output is both, as a user would see them.
    return CliRunner().invoke(app, [str(a) for a in args])


def generate_json(*args: object) -> list[dict]:
    result = invoke("generate", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def error_line(result, *fragments: str) -> str:
    """Assert a user error: exit 2, exactly one `error:` line, no traceback; return that line."""
    assert result.exit_code == 2, f"exit code {result.exit_code}, output:\n{result.output}"
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, f"expected one 'error:' line, output:\n{result.output}"
    assert result.stderr.rstrip("\n").splitlines()[-1] == lines[0], "the error line goes to stderr, last"
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def check_consistent(g: dict, max_thinking_tokens: int) -> None:
    """Fields of one JSON object agree with each other and with the cap."""
    assert FIELDS <= g.keys()
    assert 0 <= g["thinking_tokens"] <= max_thinking_tokens
    assert g["finish_reason"] in {"stop", "length"}
    assert len(g["token_ids"]) == len(g["forced_mask"])
    assert g["thinking_tokens"] + g["answer_tokens"] <= len(g["token_ids"])
    spans = g["forced_spans"]
    for span in spans:
        assert set(span) == {"start", "end", "kind", "text", "char_start", "char_end"}
        assert g["text"][span["char_start"] : span["char_end"]] == span["text"]
        assert span["kind"] in SPAN_KINDS
        assert 0 <= span["start"] < span["end"] <= len(g["token_ids"])
        assert all(g["forced_mask"][span["start"] : span["end"]])
    assert [s["start"] for s in spans] == sorted(s["start"] for s in spans)
    # Waits come while thinking; then thinking ends once, by the cap (forced_end) or by the model.
    waits = g["waits_inserted"]
    kinds = [s["kind"] for s in spans]
    assert kinds[:waits] == ["wait"] * waits
    assert kinds[waits:] == (["cap"] if g["forced_end"] else ["end"])
    assert all(s["text"] == "Wait" for s in spans if s["kind"] == "wait")
    assert g["thinking"].count("Wait") >= g["waits_inserted"]
    if g["forced_end"]:
        assert g["answer"].startswith("Final Answer:")
    assert sum(g["forced_mask"]) == sum(s["end"] - s["start"] for s in spans)




def test_json_one_object_per_prompt_in_order(tiny_llama_dir, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "From the file, first?"}) + "\n\n" + json.dumps("From the file, second?") + "\n")
    prompts = ["What is 2+2?", "Count to three."]
    gens = generate_json(*prompts, "--file", questions, "--model", tiny_llama_dir,
                         "--max-thinking-tokens", 16, "--max-answer-tokens", 8)
    assert isinstance(gens, list)
    assert [g["prompt"] for g in gens] == [*prompts, "From the file, first?", "From the file, second?"]
    for g in gens:
        check_consistent(g, 16)
        assert g["answer_tokens"] <= 8 + len("Final Answer:")  # prefix tokens are at most its characters


@pytest.mark.parametrize("num_ignore", [1, 3])
def test_num_ignore_inserts_that_many_waits(tiny_llama_dir, num_ignore):
    prompts = ["What is 2+2?", "Name a color."]
    gens = generate_json(*prompts, "--model", tiny_llama_dir, "--num-ignore", num_ignore,
                         "--max-thinking-tokens", 48, "--max-answer-tokens", 2)
    assert len(gens) == len(prompts)
    for g in gens:
        check_consistent(g, 48)
        assert g["waits_inserted"] == num_ignore or g["forced_end"]
    # The tiny model ends its thinking early and often, so the waits really happen.
    assert any(g["waits_inserted"] == num_ignore for g in gens)


def test_cap_is_never_exceeded_and_forces_the_end(tiny_llama_dir):
    gens = generate_json("What is 12 * 13?", "Why is the sky blue?", "--model", tiny_llama_dir,
                         "--min-thinking-tokens", 6, "--max-thinking-tokens", 6, "--max-answer-tokens", 4)
    for g in gens:
        check_consistent(g, 6)
        assert g["thinking_tokens"] == 6
        assert g["forced_end"]


def test_plain_output_names_thinking_tokens_and_answer(tiny_llama_dir):
    args = ["generate", "What is 2+2?", "--model", tiny_llama_dir, "--max-thinking-tokens", 8, "--max-answer-tokens", 6]
    [g] = generate_json(*args[1:])
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert f"thinking: {g['thinking_tokens']} tokens" in result.stdout
    assert "What is 2+2?" in result.stdout
    # The panel wraps long text: compare with whitespace and box borders removed.
    squash = lambda s: re.sub(r"[\s│╭╮╰╯─]", "", s)  # noqa: E731
    assert squash(g["answer"]) in squash(result.stdout)
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)




@pytest.mark.parametrize("fmt", ["think-tags", "auto"])
def test_think_tags_on_a_tokenizer_with_think_tokens(tiny_qwen2_dir, fmt):
    gens = generate_json("What is 2+2?", "Count to three.", "--model", tiny_qwen2_dir, "--format", fmt,
                         "--max-thinking-tokens", 12, "--max-answer-tokens", 4)
    for g in gens:
        check_consistent(g, 12)
        assert "</think>" in g["text"]
        assert "<|im_start|>answer" not in g["text"]


def test_auto_picks_s1_without_think_tokens(tiny_llama_dir):
    gens = generate_json("What is 2+2?", "--model", tiny_llama_dir, "--format", "auto",
                         "--max-thinking-tokens", 12, "--max-answer-tokens", 4)
    [s1] = generate_json("What is 2+2?", "--model", tiny_llama_dir, "--format", "s1",
                         "--max-thinking-tokens", 12, "--max-answer-tokens", 4)
    assert "<|im_start|>answer" in gens[0]["text"]
    assert "</think>" not in gens[0]["text"]
    assert gens == [s1]




def test_same_seed_same_output_other_seed_differs(tiny_llama_dir):
    args = ["What is 2+2?", "--model", tiny_llama_dir, "--temperature", 1,
            "--max-thinking-tokens", 12, "--max-answer-tokens", 4]
    first = generate_json(*args, "--seed", 7)
    again = generate_json(*args, "--seed", 7)
    other = generate_json(*args, "--seed", 8)
    assert first == again
    assert [g["token_ids"] for g in first] != [g["token_ids"] for g in other]




@pytest.mark.slow  # a fresh interpreter: about 10 s of imports
def test_python_m_s1kit_generate(tiny_llama_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "s1kit", "generate", "What is 2+2?", "--model", str(tiny_llama_dir), "--json",
         "--max-thinking-tokens", "8", "--max-answer-tokens", "4"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [g] = json.loads(proc.stdout)
    check_consistent(g, 8)
    assert g["prompt"] == "What is 2+2?"




@pytest.mark.parametrize(
    "args, fragments",
    [
        pytest.param(["--format", "r1"], ["'r1'", "s1", "think-tags", "auto"], id="unknown-format"),
        pytest.param(["--min-thinking-tokens", 600, "--max-thinking-tokens", 512], ["600", "512"], id="min-above-max"),
        pytest.param(["--max-thinking-tokens", 0], ["max_thinking_tokens", "got 0"], id="max-thinking-0"),
        pytest.param(["--max-thinking-tokens", -5], ["max_thinking_tokens", "got -5"], id="max-thinking-negative"),
        pytest.param(["--max-answer-tokens", 0], ["max_answer_tokens", "got 0"], id="max-answer-0"),
        pytest.param(["--temperature", -1], ["temperature", "-1"], id="negative-temperature"),
        pytest.param(["--batch-size", 0], ["batch_size", "got 0"], id="batch-size-0"),
        pytest.param(["--top-p", 0], ["top_p", "got 0"], id="top-p-0"),
        pytest.param(["--seed", -1], ["seed", "got -1"], id="negative-seed"),
        pytest.param(["--dtype", "float8"], ["'float8'", "float32"], id="unknown-dtype"),
        pytest.param(["--backend", "tgi"], ["'tgi'", "hf"], id="unknown-backend"),
        pytest.param(["--wait-string", "", "--min-thinking-tokens", 4], ["wait_string", "--wait-string"], id="empty-wait-string-with-a-minimum"),
    ],
)
def test_bad_flag_values(tiny_llama_dir, args, fragments):
    error_line(invoke("generate", "What is 2+2?", "--model", tiny_llama_dir, *args), *fragments)


def test_no_prompts():
    error_line(invoke("generate", "--model", "smollm2-135m"), "no prompts")


def test_empty_prompt(tiny_llama_dir):
    error_line(invoke("generate", "What is 2+2?", "", "--model", tiny_llama_dir), "empty prompt")


def test_malformed_jsonl_line(tiny_llama_dir, tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": oops}\n')
    error_line(invoke("generate", "--file", path, "--model", tiny_llama_dir), f"{path} line 3")


def test_jsonl_row_without_question(tiny_llama_dir, tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"prompt": "a"}\n{"text": "b"}\n')
    error_line(invoke("generate", "--file", path, "--model", tiny_llama_dir), f"{path} line 2", "prompt", "question", "problem")


def test_missing_questions_file(tiny_llama_dir, tmp_path):
    path = tmp_path / "missing.jsonl"
    error_line(invoke("generate", "--file", path, "--model", tiny_llama_dir), str(path))


def test_think_tags_without_think_tokens(tiny_llama_dir):
    line = error_line(invoke("generate", "What is 2+2?", "--model", tiny_llama_dir, "--format", "think-tags"), "think-tags")
    assert "'</think>'" in line or "'<think>'" in line


def test_prompt_longer_than_the_context(tiny_llama_dir, tmp_path):
    short = tmp_path / "short-context"
    shutil.copytree(tiny_llama_dir, short)
    config = json.loads((short / "config.json").read_text())
    config["max_position_embeddings"] = 64
    (short / "config.json").write_text(json.dumps(config))
    line = error_line(invoke("generate", "apple " * 80, "--model", short))
    assert "64" in line
    lengths = [int(n) for n in re.findall(r"\d+", line)]
    assert any(n >= 80 for n in lengths), f"the prompt's length is missing from {line!r}"


def test_unknown_device(tiny_llama_dir):
    error_line(invoke("generate", "What is 2+2?", "--model", tiny_llama_dir, "--device", "tpu",
                      "--max-thinking-tokens", 4, "--max-answer-tokens", 4), "'tpu'")


def test_model_directory_without_a_checkpoint(tmp_path):
    error_line(invoke("generate", "What is 2+2?", "--model", tmp_path), str(tmp_path))


def test_unknown_model_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    result = invoke("generate", "What is 2+2?", "--model", "no-such-org/no-such-model")
    error_line(result, "no-such-org/no-such-model", "smollm2-135m")
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("budgets, bad", [("0,5", "'0'"), ("abc", "'abc'"), ("32,,64", "''"), ("-3", "'-3'")])
def test_demo_bad_budgets(budgets, bad):
    error_line(invoke("demo", "--mechanics", "--budgets", budgets), bad, "--budgets")
