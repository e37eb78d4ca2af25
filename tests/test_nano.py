"""s1-nano, the bundled reasoning model: its files and provenance, its tokenizer and format, and
what it can do on a fixed slice of the held-out task."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="s1-nano runs on the hf backend, the [hf] extra")

from s1kit.models import builtin_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def nano_dir():
    return builtin_path("s1-nano")


@pytest.fixture(scope="module")
def provenance(nano_dir):
    return json.loads((nano_dir / "provenance.json").read_text())


def test_checkpoint_is_small_and_its_files_match_their_checksums(nano_dir, provenance):
    files = provenance["files"]
    assert set(files) >= {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"}
    for name, facts in files.items():
        data = (nano_dir / name).read_bytes()
        assert len(data) == facts["bytes"] and hashlib.sha256(data).hexdigest() == facts["sha256"], name
    assert sum(p.stat().st_size for p in nano_dir.iterdir()) <= 20 * 2**20


def test_provenance_names_the_recipe_it_was_made_with(provenance):
    """The recipe files in the repo are the ones the checkpoint was trained with: change one and
    the model must be retrained (and rebundled) with it."""
    for path, facts in provenance["recipes"].items():
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == facts["sha256"], f"{path} changed since bundling"
    assert "seed: 0" in provenance["train_config"]
    assert provenance["training"]["steps"] > 0 and provenance["curation"]


def test_model_config_is_a_small_llama(nano_dir):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(nano_dir)
    assert config.model_type == "llama"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.head_dim) == (256, 4, 4, 64)
    assert config.tie_word_embeddings


def test_tokenizer_has_the_chatml_tokens_and_the_s1_format(nano_dir):
    from transformers import AutoTokenizer

    from s1kit.backends.hf import HFTokenizer
    from s1kit.formats import render_prompt, resolve_format

    tokenizer = AutoTokenizer.from_pretrained(nano_dir)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert tokenizer.convert_tokens_to_ids(specials) == [0, 1, 2]
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    wrapped = HFTokenizer(tokenizer, "s1-nano")
    fmt = resolve_format("auto", wrapped)
    assert fmt.name == "s1"
    prompt = render_prompt("A3 B4: sum them.", fmt, wrapped)
    assert prompt == "<|im_start|>user\nA3 B4: sum them.<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n"
    text = prompt + "B4+3=7\nWait\nB4+3=7\n<|im_start|>answer\nFinal Answer: 7<|im_end|>"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    # Digits are single tokens, so a cap or a count never splits a number oddly.
    assert all(len(tokenizer.encode(d, add_special_tokens=False)) == 1 for d in "0123456789")
    assert len(tokenizer.encode("Wait", add_special_tokens=False)) == 1


def test_save_and_load_round_trip_keeps_the_logits(nano_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(nano_dir)
    model = AutoModelForCausalLM.from_pretrained(nano_dir)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = torch.tensor([tokenizer.encode("<|im_start|>user\nA3 B4: sum them.<|im_end|>\n", add_special_tokens=False)])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    assert AutoTokenizer.from_pretrained(tmp_path).encode("A3 B4") == tokenizer.encode("A3 B4")


@pytest.mark.slow
def test_held_out_slice_accuracy_does_not_regress(tmp_path, nano_backend):
    """Greedy budget forcing on the first 90 held-out problems (30 per family).

    Measured when the checkpoint was bundled (recipes/nano/run.sh, 2 cores): cap 8 17.8%, no cap
    within 256 tokens 76.7%, then 83.3%, 92.2% and 96.7% with 1, 2 and 4 forced Waits. The thresholds
    leave about 6 problems of slack, so a change that breaks loading, rendering, forcing or grading
    fails here, and so does one that stops each further Wait from helping."""
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    from s1kit.eval.config import eval_config
    from s1kit.eval.run import main

    metrics = main(eval_config(task="nano", model="s1-nano", limit=90, budgets=[8, 256], num_ignore=[0, 1, 2, 4],
                              max_answer_tokens=24, batch_size=64, out=str(tmp_path / "run")), backend=nano_backend)
    accuracy = {(p["budget"], p["num_ignore"]): p["accuracy"] for p in metrics["points"]}
    assert accuracy[(8, 0)] <= 0.25
    assert accuracy[(256, 0)] >= 0.70
    assert accuracy[(256, 1)] >= 0.77 and accuracy[(256, 2)] >= 0.85 and accuracy[(256, 4)] >= 0.90
    assert accuracy[(256, 0)] < accuracy[(256, 1)] < accuracy[(256, 2)] <= accuracy[(256, 4)]


@pytest.mark.slow
def test_demo_writes_the_curve_the_report_and_the_comparison(tmp_path):
    pytest.importorskip("math_verify", reason="grading needs the [math] extra")
    from typer.testing import CliRunner

    from s1kit.cli import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--limit", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("samples.jsonl", "metrics.json", "report.md", "scaling.png", "compare.md", "compare.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {p["num_ignore"] for p in metrics["points"]} == {0, 1, 2, 4} and len({p["budget"] for p in metrics["points"]}) >= 5
    compared = (out / "compare.md").read_text()
    for method in ("budget-forcing", "token-conditional", "rejection", "majority"):
        assert method in compared and (method == "budget-forcing" or (out / method / "metrics.json").is_file())
    assert "accuracy" in result.output and "Methods compared" in result.output


def test_demo_compare_table_splits_cells_on_unescaped_pipes_only():
    from s1kit.demo import compare_table

    markdown = ("| run | Control (%) | \\|A\\| |\n|---|---|---|\n| demo | 100 | 6 |\n| majority | 100 | 4 |\n")
    table = compare_table(markdown)
    assert [c.header for c in table.columns] == ["run", "Control (%)", "|A|"] and table.row_count == 2


def test_make_demo_evaluates_the_documented_number_of_problems(monkeypatch):
    """`s1kit demo` with no flags (what `make demo` runs) takes demo.LIMIT problems, as the manual's
    getting-started page says (tests/test_docs.py holds the page to demo.LIMIT)."""
    from typer.testing import CliRunner

    import s1kit.demo
    from s1kit.cli import app

    seen = {}
    monkeypatch.setattr(s1kit.demo, "main", lambda **kwargs: seen.update(kwargs))
    assert CliRunner().invoke(app, ["demo"]).exit_code == 0
    assert seen["limit"] == s1kit.demo.LIMIT == 60 and seen["model"] == "s1-nano"
