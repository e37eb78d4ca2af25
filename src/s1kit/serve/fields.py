"""The thinking-budget fields of one request, read and checked before vLLM sees it.

A request may name them at the top level (the OpenAI SDK's ``extra_body``) or inside
``vllm_xargs``; a top-level field wins. What it leaves out comes from the server's defaults, and a
request that names none of them on a server with no budget defaults is not budget-forced at all.
``reasoning_effort`` picks a cap from the server's effort levels; an explicit
``max_thinking_tokens`` wins over it.

Every problem is a :class:`RequestError` naming the field, which the server answers with an HTTP
400 in OpenAI's error shape.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY
from s1kit.budget.config import BudgetConfig
from s1kit.errors import S1kitError, check_positive_int, json_kind, shown

BUDGET_FIELDS = ("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "wait_string", "answer_prefix",
                 "max_answer_tokens")
"""Per-request fields, named as BudgetConfig's."""
EFFORT_FIELD = "reasoning_effort"
COUNTS = ("max_thinking_tokens", "min_thinking_tokens", "num_ignore", "max_answer_tokens")
TEXTS = ("wait_string", "answer_prefix")
EFFORT_EXAMPLE = "low=512,medium=2048,high=8192"


class RequestError(ValueError):
    """A request the server refuses: ``param`` is the offending field."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ServerBudget:
    """What the server applies to requests: its default budget and its effort levels."""

    defaults: BudgetConfig = field(default_factory=BudgetConfig)
    forced_by_default: bool = False
    """Whether requests that name no budget field are forced with ``defaults`` (the server was
    started with a cap, a minimum or ignores)."""
    effort: dict[str, int] = field(default_factory=lambda: parse_effort(EFFORT_EXAMPLE))
    """reasoning_effort level -> max_thinking_tokens."""
    thinking_limit: int | None = None
    """No request thinks longer than this: a larger cap is refused, and a request without a cap
    gets this one (so every request is forced). None: no ceiling."""

    @classmethod
    def from_settings(cls, effort: str, max_thinking_tokens_limit: int | None = None, **budget) -> ServerBudget:
        defaults = BudgetConfig(**budget)
        levels = parse_effort(effort)
        limit = max_thinking_tokens_limit
        if limit is not None:
            check_positive_int("max_thinking_tokens_limit", limit, "; pass --max-thinking-tokens-limit N with N >= 1")
            if defaults.max_thinking_tokens is not None and defaults.max_thinking_tokens > limit:
                raise S1kitError(f"max_thinking_tokens ({defaults.max_thinking_tokens}) is above max_thinking_tokens_limit "
                                 f"({limit}); lower it or raise the limit")
            levels = {level: min(cap, limit) for level, cap in levels.items()}  # effort is coarse: the ceiling holds
        forced = (defaults.max_thinking_tokens is not None or defaults.min_thinking_tokens > 0
                  or defaults.num_ignore > 0 or limit is not None)
        return cls(defaults, forced, levels, limit)


def parse_effort(text: str) -> dict[str, int]:
    """'low=512,high=8192' -> {'low': 512, 'high': 8192}; one line naming a bad part."""
    levels: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        name, _, value = part.partition("=")
        if not part:
            continue
        if not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise S1kitError(f"{part!r} in --effort {text!r} is not level=TOKENS; pass e.g. --effort {EFFORT_EXAMPLE}")
        levels[name.strip()] = int(value)
    return levels


def strip_client_spec(body: dict) -> bool:
    """Remove an s1kit spec a client put in ``vllm_xargs``: only the server makes specs. Whether
    one was there."""
    xargs = body.get("vllm_xargs")
    if not isinstance(xargs, dict) or EXTRA_ARGS_KEY not in xargs:
        return False
    del xargs[EXTRA_ARGS_KEY]
    if not xargs:
        body.pop("vllm_xargs")
    return True


def named_fields(body: dict) -> list[str]:
    """The budget fields (and reasoning_effort) a request body names, without taking them."""
    xargs = body.get("vllm_xargs") if isinstance(body.get("vllm_xargs"), dict) else {}
    return [name for name in (*BUDGET_FIELDS, EFFORT_FIELD) if name in body or name in xargs]


def check_near_misses(body: dict, known: frozenset[str] = frozenset()) -> None:
    """A field that is no field of the request (``known``: vLLM's) nor a budget field, but close to
    a budget field's name, is a typo that would be ignored: refuse it, naming the field meant."""
    xargs = body.get("vllm_xargs") if isinstance(body.get("vllm_xargs"), dict) else {}
    for name in [*(k for k in body if k not in known), *xargs]:
        if not isinstance(name, str) or name in BUDGET_FIELDS or name == EFFORT_FIELD:
            continue
        close = difflib.get_close_matches(name, BUDGET_FIELDS, n=1, cutoff=0.85)
        if close:
            raise RequestError(name, f"unknown field {name[:80]!r}; did you mean {close[0]!r}?")


def take_fields(body: dict) -> dict:
    """Remove the budget fields and reasoning_effort from a request body (top level and
    ``vllm_xargs``) and return the ones it named; vLLM never sees them."""
    xargs = body.get("vllm_xargs")
    named = {}
    for name in (*BUDGET_FIELDS, EFFORT_FIELD):
        if isinstance(xargs, dict) and name in xargs:
            named[name] = xargs.pop(name)
        if name in body:
            named[name] = body.pop(name)
    if isinstance(xargs, dict) and not xargs:
        body.pop("vllm_xargs")
    return named


def request_budget(named: dict, server: ServerBudget) -> BudgetConfig | None:
    """The budget one request runs under, or None when it is not forced."""
    if not named and not server.forced_by_default:
        return None
    values = {}
    for name in COUNTS:
        if name in named:
            value = named[name]
            if value is None and name == "max_thinking_tokens":
                values[name] = None
                continue
            low = 1 if name in ("max_thinking_tokens", "max_answer_tokens") else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise RequestError(name, f"{name} must be an integer >= {low}, got {shown(value)}")
            values[name] = value
    for name in TEXTS:
        if name in named:
            if not isinstance(named[name], str):
                raise RequestError(name, f"{name} must be a string, got {shown(named[name])}")
            values[name] = named[name]
    if EFFORT_FIELD in named:
        level = named[EFFORT_FIELD]
        if not isinstance(level, str):
            raise RequestError(EFFORT_FIELD, f"{EFFORT_FIELD} must be a string, one of "
                                             f"{', '.join(server.effort) or 'no levels'}; got {json_kind(level)}")
        if level not in server.effort:
            raise RequestError(EFFORT_FIELD, f"unknown {EFFORT_FIELD} {level[:80]!r}; this server knows "
                                             f"{', '.join(server.effort) or 'no levels'} (start it with --effort)")
        values.setdefault("max_thinking_tokens", server.effort[level])
    merged = {**vars(server.defaults), **values}  # plain values: asdict's deep copy is not needed
    limit = server.thinking_limit
    if limit is not None:
        if merged["max_thinking_tokens"] is None:
            merged["max_thinking_tokens"] = limit
        elif merged["max_thinking_tokens"] > limit:
            raise RequestError("max_thinking_tokens", f"max_thinking_tokens ({merged['max_thinking_tokens']}) is above "
                                                      f"this server's limit ({limit}); ask for at most {limit}")
    cap, least = merged["max_thinking_tokens"], merged["min_thinking_tokens"]
    if cap is not None and least > cap:
        raise RequestError("min_thinking_tokens", f"min_thinking_tokens ({least}) is above max_thinking_tokens ({cap}); "
                                                  "lower one of them")
    if (merged["num_ignore"] or least) and not merged["wait_string"]:
        raise RequestError("wait_string", "wait_string is empty but thinking must be extended; send e.g. \"Wait\"")
    return BudgetConfig(**merged)
