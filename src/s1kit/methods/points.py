"""The points of each method: which budgets, caps, ignores and instructions an evaluation has."""

from __future__ import annotations

from dataclasses import dataclass

from s1kit.errors import S1kitError, shown
from s1kit.methods import PARALLEL, SEARCH, forces
from s1kit.methods.conditional import LONG, SHORT, step_instruction, steps_for, token_instruction


@dataclass(frozen=True)
class MethodPoint:
    """One point of a method's curve."""

    budget: int | None
    """The thinking budget the point aims at; Control is measured against it (None: no budget)."""
    cap: int | None
    """The cap budget forcing applies (None: the model thinks as long as it likes)."""
    num_ignore: int = 0
    """Ends of thinking suppressed with the wait string (budget forcing's extension)."""
    variant: str = ""
    """Class-conditional: short, long, or default (no instruction)."""
    instruction: str = ""
    """Added to the question after a blank line, as the s1 evaluation does ("{question}\\n\\nThink for up to N tokens.")."""
    wait_string: str | None = None
    """The point's own wait string, when a sweep has several (None: the run's)."""
    rule: tuple[str, float] | None = None
    """probe-exit: the exit rule, ("agree", K) or ("confidence", P); rebase and beam: the tree's size,
    ("width", W) or ("beam", B)."""

    def key(self) -> tuple:
        return (self.budget or 0, self.num_ignore, self.variant)

    @property
    def label(self) -> str:
        if self.variant:
            return self.variant
        name = "none" if self.budget is None else str(self.budget)
        return name if not self.num_ignore else f"{name}, {self.num_ignore} ignores"


def wait_label(wait: str) -> str:
    return f"wait {wait!r}" if wait else "no string"


def method_points(method: str, budgets: list[int] | None, num_ignore: list[int], tokens_per_step: int,
                  rules: list[tuple[str, float]] = (), waits: list[str] = ("Wait",),
                  moments: list[tuple[str, float]] = (), sizes: list[int] = ()) -> list[MethodPoint]:
    """The points of a method; settings it cannot use are errors that say what to pass instead.
    ``rules``: probe-exit's exit rules to sweep; ``sizes``: a search's tree sizes."""
    forced = forces(method)
    if not forced and num_ignore != [0]:
        hint = f", or use {method}+bf" if method in ("token-conditional", "step-conditional") else ""
        raise S1kitError(f"--num-ignore {num_ignore} is budget forcing's extension and {method} does not force; "
                         f"drop it{hint}")
    if method == "class-conditional":
        if budgets:
            raise S1kitError("class-conditional states no budget (short or long thinking); drop --budgets")
        return [MethodPoint(None, None, variant=v, instruction=i) for v, i in (("default", ""), ("short", SHORT), ("long", LONG))]
    if method in PARALLEL:
        if method == "deepconf" and len(num_ignore) > 1:
            raise S1kitError(f"deepconf scales over samples: pass at most one --num-ignore value, got {shown(num_ignore)}")
        if budgets and len(budgets) > 1:
            raise S1kitError(f"{method} scales over samples, not budgets: pass at most one --budgets value "
                             f"(a cap on each sample), got {shown(budgets)}")
    if method == "budget-forcing" and len(waits) > 1:
        # s1's Table 4: no extension once, then each wait string at each number of ignores.
        return [MethodPoint(b, b, k, variant=wait_label(w) if k else "", wait_string=w if k else None)
                for b in (budgets or [None]) for k in num_ignore for w in (waits if k else waits[:1])]
    if method == "budget-forcing" or method in PARALLEL:
        return [MethodPoint(b, b, k) for b in (budgets or [None]) for k in num_ignore]
    if method == "alpha-one":
        for b in budgets or []:
            for kind, value in moments:
                if kind == "alpha_tokens" and value > b:
                    raise S1kitError(f"--alpha-tokens {value:g} lies past the cap {b}: the thinking would end before its "
                                     "alpha moment; lower it or raise --budgets")
        return [MethodPoint(b, b, 0, variant=f"alpha {value:g}" if kind == "alpha" else f"alpha at {value:g} tokens",
                            rule=(kind, value)) for b in (budgets or [None]) for kind, value in moments]
    if method in SEARCH:
        name = "width" if method == "rebase" else "beam"
        return [MethodPoint(b, b, k, variant=f"{name} {size}", rule=(name, size))
                for b in (budgets or [None]) for k in num_ignore for size in sizes]
    if method == "no-thinking":
        if budgets:
            raise S1kitError("no-thinking does not think, so it has no thinking budget; drop --budgets")
        return [MethodPoint(None, None, 0, variant="no thinking")]
    if method == "probe-exit":
        return [MethodPoint(b, b, k, variant=f"{rule[0]} {rule[1]:g}", rule=rule)
                for b in (budgets or [None]) for k in num_ignore for rule in rules]
    if not budgets:
        raise S1kitError(f"{method} needs budgets to aim at; pass e.g. --budgets 512,1024,2048")
    if method == "rejection":
        return [MethodPoint(b, None) for b in budgets]
    if method.startswith("token-conditional"):
        return [MethodPoint(b, b if forced else None, k, instruction=token_instruction(b)) for b in budgets for k in num_ignore]
    if method.startswith("step-conditional"):
        points = []
        for b in budgets:
            steps = steps_for(b, tokens_per_step)
            limit = steps * tokens_per_step
            points += [MethodPoint(limit, limit if forced else None, k, instruction=step_instruction(steps)) for k in num_ignore]
        if len({p.key() for p in points}) < len(points):
            raise S1kitError(f"--budgets {budgets} give the same number of steps of {tokens_per_step} tokens twice; "
                             "pass budgets that differ by at least one step")
        return points
    raise S1kitError(f"unknown method '{method}'")
