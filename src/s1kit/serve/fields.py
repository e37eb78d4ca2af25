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

import dataclasses
import difflib
import functools
from dataclasses import dataclass

from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY
from s1kit.budget.config import BudgetConfig
from s1kit.errors import S1kitError, SettingError, check_positive_int, json_kind
from s1kit.settings import group

BUDGET_FIELDS = tuple(f.name for f in dataclasses.fields(BudgetConfig))
"""Per-request fields: BudgetConfig's."""
EFFORT_FIELD = "reasoning_effort"
EFFORT_EXAMPLE = "low=512,medium=2048,high=8192"


class RequestError(ValueError):
    """A request the server refuses: ``param`` is the offending field."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ServerBudget:
    """What the server applies to requests: its default budget, its effort levels and its ceiling
    (the settings of --additional-config, besides the format)."""

    defaults: BudgetConfig = group(BudgetConfig)
    """The budget of requests that name none of its fields: defaults, not limits (a request may ask
    for another; see max_thinking_tokens_limit for a ceiling). With no cap, minimum or ignores here,
    such a request reaches vLLM untouched."""
    effort: str = EFFORT_EXAMPLE
    """reasoning_effort levels and their thinking caps, e.g. low=512,medium=2048,high=8192."""
    max_thinking_tokens_limit: int | None = None
    """Ceiling on every request's thinking: a request that asks for a larger cap gets a 400, and one
    that names none is capped here (every request is then forced), and effort levels above it give
    it. None: requests may ask for any cap."""

    def __post_init__(self) -> None:
        limit, cap = self.max_thinking_tokens_limit, self.defaults.max_thinking_tokens
        if limit is not None:
            check_positive_int("max_thinking_tokens_limit", limit)
            if cap is not None and cap > limit:
                raise SettingError("max_thinking_tokens", f"max_thinking_tokens ({cap}) is above "
                                                          f"max_thinking_tokens_limit ({limit}); lower it or raise the limit")
        self.levels  # noqa: B018 - a bad --effort stops the server before it starts

    @classmethod
    def from_settings(cls, effort: str, max_thinking_tokens_limit: int | None = None, **budget) -> ServerBudget:
        return cls(BudgetConfig(**budget), effort, max_thinking_tokens_limit)

    @functools.cached_property
    def levels(self) -> dict[str, int]:
        """reasoning_effort level -> max_thinking_tokens (at most the ceiling: effort is coarse)."""
        levels, limit = parse_effort(self.effort), self.max_thinking_tokens_limit
        return levels if limit is None else {level: min(cap, limit) for level, cap in levels.items()}

    @functools.cached_property
    def forced_by_default(self) -> bool:
        """Whether requests that name no budget field are forced (the server was started with a
        cap, a minimum, ignores or a ceiling)."""
        d = self.defaults
        return (d.max_thinking_tokens is not None or d.min_thinking_tokens > 0 or d.num_ignore > 0
                or self.max_thinking_tokens_limit is not None)


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
    """The budget one request runs under, or None when it is not forced. BudgetConfig checks the
    values (its messages, naming the field); the server adds its effort levels and its ceiling."""
    if not named and not server.forced_by_default:
        return None
    values = {name: named[name] for name in BUDGET_FIELDS if name in named}
    if EFFORT_FIELD in named:
        level, levels = named[EFFORT_FIELD], server.levels
        if not isinstance(level, str):
            raise RequestError(EFFORT_FIELD, f"{EFFORT_FIELD} must be a string, one of "
                                             f"{', '.join(levels) or 'no levels'}; got {json_kind(level)}")
        if level not in levels:
            raise RequestError(EFFORT_FIELD, f"unknown {EFFORT_FIELD} {level[:80]!r}; this server knows "
                                             f"{', '.join(levels) or 'no levels'} (start it with --effort)")
        values.setdefault("max_thinking_tokens", levels[level])
    try:
        budget = BudgetConfig(**{**vars(server.defaults), **values})  # plain values: asdict's deep copy is not needed
        limit = server.max_thinking_tokens_limit
        if limit is not None and budget.max_thinking_tokens is None:
            budget = dataclasses.replace(budget, max_thinking_tokens=limit)
    except SettingError as exc:
        raise RequestError(exc.field, str(exc)) from None
    if limit is not None and budget.max_thinking_tokens > limit:
        raise RequestError("max_thinking_tokens", f"max_thinking_tokens ({budget.max_thinking_tokens}) is above "
                                                  f"this server's limit ({limit}); ask for at most {limit}")
    return budget
