"""How a request's budget travels into vLLM's engine and how forced tokens come back out.

Shared by the in-process vLLM backend and the HTTP backend talking to a vLLM server that loads
:class:`s1kit.backends.vllm_processor.BudgetForcingProcessor`; no vLLM import here.

- In: ``SamplingParams.extra_args["s1kit"]`` (offline engine: a dict; HTTP: ``vllm_xargs``, which
  only carries strings and numbers, so the same dict as JSON text). The engine takes a spec only
  after :func:`check_spec`: anything a client can send must become a refusal before the engine's
  step, never an exception inside it. A server whose environment holds ``$S1KIT_SPEC_SECRET``
  (``s1kit serve``'s does) takes only specs signed with it (:func:`sign`), which its middleware
  makes from a request's budget fields: a client cannot forge one.
- Out: the processor gives a forced token the logit ``FORCED_LOGIT``; an engine run with
  ``logprobs_mode="processed_logits"`` reports it as the token's "logprob" when the request asks
  for ``logprobs=0``. The client then replays the same SequenceState over the returned tokens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os

from s1kit.backends import marks_file
from s1kit.budget.alpha import AlphaPlan
from s1kit.budget.config import BudgetConfig
from s1kit.budget.rules import EXIT
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.budget.steps import StepPlan
from s1kit.errors import S1kitError, shown

EXTRA_ARGS_KEY = "s1kit"
LOGPROBS_KEY = "s1kit_logprobs"
"""extra_args key of a request whose reported values must be log-probabilities: the processor
shifts its logits to log-softmax (processed logits then carry log-probs at temperature 1, divided
by the temperature for a sampled request), forced tokens still at FORCED_LOGIT."""
FORCED_LOGIT = 1.0e9
FORCED_THRESHOLD = 1.0e8
"""Reported values above this mark forced tokens; real logits stay far below it."""
SECRET_ENV = "S1KIT_SPEC_SECRET"
"""The environment variable of a server's signing secret (``s1kit serve`` makes one per server)."""
MAC_KEY = "mac"
MAX_SPEC_CHARS = 1 << 16
MAX_PIECE_TOKENS = 4096
"""Most ids in one of a spec's token pieces: a wait string or an answer prefix is a few words."""
MAX_STEP_ENDS = 1 << 15
"""Most ids that end a search step: the vocabulary's tokens holding the delimiter."""
_ID_BOUND = 1 << 31
_SEED_BOUND = 1 << 64
_BUDGET_FIELDS = tuple(f.name for f in dataclasses.fields(BudgetConfig))
_TOKEN_FIELDS = tuple(f.name for f in dataclasses.fields(BudgetTokens))
_REQUIRED = ("budget", "tokens", "max_new_tokens", "seed")
_OPTIONAL = ("answering", "exits", "alpha", "resume", "step", marks_file.SPEC_KEY, MAC_KEY)


class SpecError(ValueError):
    """A spec the engine must not take; vLLM answers it with an HTTP 400 naming the reason."""


def request_spec(state: SequenceState, seed: int | None) -> dict:
    """Everything the engine-side processor needs to rebuild this request's state (a fresh one).
    ``seed`` seeds its end-of-thinking draws when the request has no seed of its own (None: random)."""
    if state.output:
        raise ValueError("only fresh sequences are forced in the engine; continue answers as plain requests")
    spec = {"budget": state.config.__dict__.copy(), "tokens": state.tokens.to_dict(),
            "max_new_tokens": state.max_new_tokens, "seed": seed}
    if state.alpha is not None:
        spec["alpha"] = state.alpha.to_dict()
    if state.thinking_tokens or state.waits_inserted:  # a resumed state (SequenceState.resumed)
        spec["resume"] = {"thinking_tokens": state.thinking_tokens, "waits_inserted": state.waits_inserted}
    if state.step is not None:
        spec["step"] = state.step.to_dict()
    if state.queue and state.spans and state.spans[0].kind == EXIT:
        spec["exits"] = True  # its thinking ends before it starts (NoThinking)
    elif state.phase is Phase.ANSWER:
        spec["answering"] = True
    return spec


def state_from_spec(spec: dict) -> SequenceState:
    """The fresh state a checked spec describes."""
    state = SequenceState(BudgetConfig(**spec["budget"]), BudgetTokens.from_dict(spec["tokens"]),
                          max_new_tokens=spec["max_new_tokens"])
    if spec.get("alpha") is not None:
        state.alpha = AlphaPlan.from_dict(spec["alpha"])
    if spec.get("resume") is not None:
        state.thinking_tokens, state.waits_inserted = spec["resume"]["thinking_tokens"], spec["resume"]["waits_inserted"]
    if spec.get("step") is not None:
        state.step = StepPlan.from_dict(spec["step"])
    if spec.get("exits"):
        state.exit_thinking()
    return state.begin_answer() if spec.get("answering") else state


def sign(spec: dict, secret: str) -> dict:
    """``spec`` with its signature under ``secret``: the only kind a server with a secret takes."""
    return {**spec, MAC_KEY: _mac({k: v for k, v in spec.items() if k != MAC_KEY}, secret)}


def _mac(spec: dict, secret: str) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def server_secret() -> str | None:
    return os.environ.get(SECRET_ENV) or None


def check_spec(value, vocab_size: int | None = None, secret: str | None = None) -> dict | None:
    """The spec in ``value`` (a dict, or its JSON text), checked whole; None when there is none.

    Raises :class:`SpecError` for anything the processor could not run: another shape, a budget
    BudgetConfig refuses, token ids outside the vocabulary (``vocab_size``, where known), pieces the
    control loop cannot force, or, with ``secret``, a spec not signed with it."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_SPEC_CHARS:
            raise SpecError(f"the s1kit spec is {len(value)} characters long; at most {MAX_SPEC_CHARS}")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise SpecError("the s1kit spec is not JSON") from None
    if not isinstance(value, dict):
        raise SpecError(f"the s1kit spec must be a JSON object, got {type(value).__name__}")
    keys = set(value)
    if not set(_REQUIRED) <= keys <= {*_REQUIRED, *_OPTIONAL}:
        raise SpecError(f"the s1kit spec must have the keys {', '.join(_REQUIRED)} (and maybe "
                        f"{', '.join(_OPTIONAL)}), got {', '.join(sorted(map(str, keys)))[:200]}")
    if secret is not None:
        mac = value.get(MAC_KEY)
        body = {k: v for k, v in value.items() if k != MAC_KEY}
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(body, secret)):
            raise SpecError("this server takes only the s1kit specs it makes itself: send the budget fields "
                            "(max_thinking_tokens, num_ignore, ...) instead of an s1kit spec")
    _check_budget(value["budget"])
    tokens = _check_tokens(value["tokens"], vocab_size)
    budget = value["budget"]
    # An empty wait piece is s1's extension without a string, and only that: its budget says so.
    stringless = budget.get("wait_string", BudgetConfig.wait_string) == ""
    if (budget.get("num_ignore") or budget.get("min_thinking_tokens")) and (
            (not tokens["wait"] and not stringless) or set(tokens["wait"]) & set(tokens["end_of_thinking"])):
        raise SpecError("the s1kit spec extends thinking with a wait piece that is empty or holds an end of thinking")
    if stringless and tokens["wait"]:
        raise SpecError("the s1kit spec's budget has an empty wait_string but its tokens.wait is not empty")
    limit = value["max_new_tokens"]
    if limit is not None and (type(limit) is not int or limit < 1):
        raise SpecError(f"the s1kit spec's max_new_tokens must be null or an integer >= 1, got {shown(limit)}")
    seed = value["seed"]
    if seed is not None and (type(seed) is not int or not -_SEED_BOUND < seed < _SEED_BOUND):
        raise SpecError(f"the s1kit spec's seed must be null or a 64-bit integer, got {shown(seed)}")
    for flag in ("answering", "exits"):
        if type(value.get(flag, False)) is not bool:
            raise SpecError(f"the s1kit spec's {flag} must be true or false")
    if value.get("answering") and value.get("exits"):
        raise SpecError("the s1kit spec's answering and exits exclude each other")
    if value.get("alpha") is not None:
        _check_alpha(value["alpha"], vocab_size)
    if value.get("resume") is not None:
        _check_resume(value["resume"])
    if value.get("step") is not None:
        _check_step(value["step"], vocab_size)
    marks = value.get(marks_file.SPEC_KEY)
    if marks is not None and not marks_file.is_key(marks):
        raise SpecError("the s1kit spec's marks must be 32 lowercase hex digits")
    return value


def _check_resume(resume) -> None:
    if not isinstance(resume, dict) or set(resume) != {"thinking_tokens", "waits_inserted"} or any(
            type(v) is not int or not 0 <= v < _ID_BOUND for v in resume.values()):
        raise SpecError("the s1kit spec's resume must be an object with thinking_tokens and waits_inserted, "
                        "integers >= 0")


def _check_step(step, vocab_size: int | None) -> None:
    if not isinstance(step, dict) or set(step) != {"ends", "max_tokens"}:
        raise SpecError("the s1kit spec's step must be an object with ends and max_tokens")
    limit = step["max_tokens"]
    if limit is not None and (type(limit) is not int or not 1 <= limit < _ID_BOUND):
        raise SpecError("the s1kit spec's step.max_tokens must be null or an integer >= 1")
    bound = vocab_size or _ID_BOUND
    ends = step["ends"]
    if not isinstance(ends, list) or not 0 < len(ends) <= MAX_STEP_ENDS or any(
            type(t) is not int or not 0 <= t < bound for t in ends):
        raise SpecError(f"the s1kit spec's step.ends must be a list of 1 to {MAX_STEP_ENDS} token ids in 0..{bound - 1}")


def _check_alpha(alpha, vocab_size: int | None) -> None:
    if not isinstance(alpha, dict) or set(alpha) != {"moment", "p", "breaks", "transitions", "seed"}:
        raise SpecError("the s1kit spec's alpha must be an object with moment, p, breaks, transitions and seed")
    if type(alpha["moment"]) is not int or alpha["moment"] < 1:
        raise SpecError("the s1kit spec's alpha.moment must be an integer >= 1")
    if type(alpha["p"]) not in (int, float) or not 0 <= alpha["p"] <= 1:
        raise SpecError("the s1kit spec's alpha.p must be a probability")
    if type(alpha["seed"]) is not int or not -_SEED_BOUND < alpha["seed"] < _SEED_BOUND:
        raise SpecError("the s1kit spec's alpha.seed must be a 64-bit integer")
    bound = vocab_size or _ID_BOUND
    for name in ("breaks", "transitions"):
        ids = alpha[name]
        if not isinstance(ids, list) or len(ids) > MAX_PIECE_TOKENS or not all(type(t) is int and 0 <= t < bound for t in ids):
            raise SpecError(f"the s1kit spec's alpha.{name} must be a list of token ids in 0..{bound - 1}")


def _check_budget(budget) -> None:
    if not isinstance(budget, dict) or not set(budget) <= set(_BUDGET_FIELDS):
        raise SpecError(f"the s1kit spec's budget must be an object with keys among {', '.join(_BUDGET_FIELDS)}")
    try:
        BudgetConfig(**budget)
    except S1kitError as exc:
        raise SpecError(f"the s1kit spec's budget: {exc}") from None


def _check_tokens(tokens, vocab_size: int | None) -> dict:
    if not isinstance(tokens, dict) or set(tokens) != set(_TOKEN_FIELDS):
        raise SpecError(f"the s1kit spec's tokens must be an object with the keys {', '.join(_TOKEN_FIELDS)}")
    bound = vocab_size or _ID_BOUND
    for name in _TOKEN_FIELDS:
        ids = tokens[name]
        if not isinstance(ids, list) or len(ids) > MAX_PIECE_TOKENS:
            raise SpecError(f"the s1kit spec's tokens.{name} must be a list of at most {MAX_PIECE_TOKENS} token ids")
        if not all(type(t) is int and 0 <= t < bound for t in ids):
            raise SpecError(f"the s1kit spec's tokens.{name} holds a token id outside 0..{bound - 1}")
    # What the control loop forces must exist: an end to watch for, an end of turn to stop with (one
    # the state also watches for while thinking), the answer opener and the cap's delimiter.
    for name in ("end_of_thinking", "stop", "answer_opener", "cap_delimiter"):
        if not tokens[name]:
            raise SpecError(f"the s1kit spec's tokens.{name} is empty")
    if not set(tokens["stop"]) <= set(tokens["end_of_thinking"]):
        raise SpecError("the s1kit spec's tokens.stop must be among its tokens.end_of_thinking")
    return tokens


def replay(state: SequenceState, token_ids, reported) -> None:
    """Advance state over what the engine produced; `reported` holds each token's reported value."""
    forced = [position for position, value in enumerate(reported) if value is not None and value > FORCED_THRESHOLD]
    position = state.observe_all(token_ids, forced)
    if position is not None:
        raise S1kitError(
            f"the engine's output diverged from the budget-forcing state at output position {position} "
            f"(token {token_ids[position]}); is the server running s1kit's logits processor with "
            "--logprobs-mode processed_logits? Otherwise please report this as a bug"
        )
