"""Reward-guided search over reasoning steps: REBASE (Wu et al. 2024, arXiv 2408.00724; the s1
paper's Table 3 baseline) and step-level beam search, guided by a process reward model (reward/).

A tree grows one step at a time (budget.steps: a step ends at the step delimiter or after
``--max-step-tokens``). Each expansion is a request whose prompt is the question's prompt and its
node's tokens so far, so that siblings share their prefix (vLLM computes it once through prefix
caching; hf encodes it again per request). A tree's next depth starts when its own depth is done:
in vLLM's engine while other trees' steps still run, on hf with the next batch. The request's
state resumes the node's budget (SequenceState.resumed), so caps and Waits act on the whole trace
as in a plain run. A node whose thinking ends answers in the same request and becomes a leaf.

- **rebase**: at each depth the width left (``--width`` minus the leaves so far) is shared among
  the live nodes in proportion to softmax(reward / ``--rebase-temperature``) (budget.search); a
  node's reward is its last step's score. It stops when ``--width`` leaves are done.
- **beam**: the ``--beam-width`` best live nodes each expand ``--expansions`` times; the beam
  narrows by one for each leaf, until it has ``--beam-width`` leaves.

The leaves vote: by reward-weighted majority (the row's answer; a leaf's weight is its trace's
score, ``--prm-aggregate`` over its steps, the answer a step of its own), and the row also says what
plain majority and the best leaf answer. The budget axis is every token the tree generated
(``search_tokens``); PRM calls are counted beside it (``prm_calls``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from s1kit import metrics
from s1kit.budget.config import SamplingConfig
from s1kit.budget.forcing import context_room, render_ids, request_seed
from s1kit.budget.result import Generation
from s1kit.budget.search import beam_keep, rebase_widths
from s1kit.budget.state import BudgetTokens, Phase, SequenceState
from s1kit.budget.steps import StepPlan, split_steps, step_end_ids
from s1kit.errors import SettingError, check_positive_int, shown
from s1kit.methods.point_run import PointRun
from s1kit.methods.points import MethodPoint


@dataclass
class SearchConfig:
    """How rebase and beam grow their trees, and the PRM that guides them (and weights majority's
    and best-of-n's votes)."""

    prm: str | None = None
    """Process reward model: nano-checker (nano's step checker), s1-nano-prm (learned), a Hugging
    Face reward model (directory or id), or module:function scoring (question, steps) -> one score per step."""
    prm_aggregate: str = "min"
    """A whole trace's score from its steps' scores: min, last, mean or prod."""
    step_delimiter: str | None = None
    """Text that ends a step (default: a newline for nano tasks, a blank line otherwise); \\n and \\t
    in it are read as a newline and a tab, so --step-delimiter '\\n' works from a shell."""
    max_step_tokens: int = 256
    """rebase, beam: most tokens of one step."""
    width: list[int] | None = None
    """rebase: leaves of the tree (the total samples), swept e.g. 4,8,16 (default 16)."""
    rebase_temperature: float = 0.1
    """rebase: the softmax temperature over rewards that shares the width among live nodes (lower: greedier)."""
    beam_width: list[int] | None = None
    """beam: nodes kept per depth, and leaves, swept e.g. 2,4 (default 4)."""
    expansions: int = 4
    """beam: children per kept node."""

    def __post_init__(self) -> None:
        if self.prm_aggregate not in metrics.TRACE_AGGREGATES:
            raise SettingError("prm_aggregate", f"unknown prm_aggregate {shown(self.prm_aggregate)}; choose from "
                                                f"{', '.join(metrics.TRACE_AGGREGATES)}")
        if isinstance(self.step_delimiter, str):
            self.step_delimiter = self.step_delimiter.replace("\\n", "\n").replace("\\t", "\t")
        if self.step_delimiter is not None and not self.step_delimiter:
            raise SettingError("step_delimiter", "step_delimiter is empty; pass the text that ends a step, e.g. "
                                                 "--step-delimiter '\\n'")
        check_positive_int("max_step_tokens", self.max_step_tokens)
        check_positive_int("expansions", self.expansions)
        for name in ("width", "beam_width"):
            for value in getattr(self, name) or []:
                check_positive_int(name, value)
        t = self.rebase_temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0 or t == float("inf"):
            raise SettingError("rebase_temperature", f"rebase_temperature must be a positive number, got {shown(t)}")

    def sizes(self, method: str) -> list[int]:
        """The swept sizes: rebase's widths or beam's beam widths."""
        return (self.width or [16]) if method == "rebase" else (self.beam_width or [4])


@dataclass
class Node:
    state: SequenceState
    """The whole trace's budget state from the root to this node."""
    parent: int | None
    depth: int
    tokens: int = 0
    """Tokens this node's step generated."""
    reward: float = 0.0
    """Its last step's score (a leaf: its trace's score, as it votes)."""
    answer: str | None = None
    """A leaf's extracted answer."""

    @property
    def live(self) -> bool:
        return not self.state.done


@dataclass
class Tree:
    """One question's search."""

    question: str
    prompt_ids: list[int]
    seed: int
    nodes: list[Node] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)
    draws: int = 0
    """Expansions made so far: the next one's seed index."""
    prm_calls: int = 0
    """Traces of this tree the PRM scored."""

    def next_seed(self) -> int:
        self.draws += 1
        return request_seed(self.seed, self.draws)


def run_search(method: str, backend, questions: Sequence[str], points: Sequence[MethodPoint], base,
               sampling: SamplingConfig, seeds: Sequence[int], fmt: str, system_prompt: str | None, batch_size: int,
               config: SearchConfig, prm, extract, delimiter: str) -> list[PointRun]:
    """Every point's search for every unit; ``prm``: a CheckedPRM; ``extract``: a leaf's answer from
    its text (the task's extraction)."""
    tok = backend.tokenizer
    chat_format, prompt_ids = render_ids(backend, questions, fmt, system_prompt)
    rooms = context_room(backend, prompt_ids)
    plan = StepPlan(step_end_ids(tok, delimiter), config.max_step_tokens)
    runs = []
    for point in points:
        budget = dataclasses.replace(base, max_thinking_tokens=point.cap, num_ignore=point.num_ignore)
        tokens = BudgetTokens.build(chat_format, budget, tok)
        trees = [Tree(q, ids, seed, [Node(SequenceState(budget, tokens, max_new_tokens=room), None, 0)])
                 for q, ids, seed, room in zip(questions, prompt_ids, seeds, rooms)]
        size = int(point.rule[1])
        grow(method, backend, trees, rooms, plan, sampling, batch_size, config, size, prm, delimiter, extract)
        generations, extras = [], []
        for tree in trees:
            chosen, extra = tree_outcome(tree, tok, delimiter)
            generations.append(Generation.from_state(tree.question, len(tree.prompt_ids), tree.nodes[chosen].state,
                                                     tok, tree.seed))
            extras.append(extra)
        runs.append(PointRun(point, generations, [e["search_tokens"] for e in extras], extras))
    return runs


def grow(method: str, backend, trees: list[Tree], rooms, plan: StepPlan, sampling, batch_size: int,
         config: SearchConfig, size: int, prm, delimiter: str, extract) -> None:
    """Grow every tree to its leaves. A tree's next depth starts once its own depth is done: on a
    backend that streams (vLLM's engine) while other trees' steps still run, else one batch of every
    tree's depth at a time."""
    first = size if method == "rebase" else size * config.expansions
    waiting = [0] * len(trees)  # a tree's steps in flight
    born: list[list[int]] = [[] for _ in trees]

    def jobs(t: int, expansions: list[tuple[int, int]]) -> list[tuple]:
        tree, room, made = trees[t], rooms[t], []
        for node_index, count in expansions:
            state = tree.nodes[node_index].state
            left = None if room is None else room - len(state.output)
            for _ in range(count):
                step = state.resumed(plan, left)
                made.append((tree.prompt_ids + state.output, step, tree.next_seed(), (t, node_index, step)))
        waiting[t] += len(made)
        return made

    def done(key) -> list[tuple]:
        t, node_index, step = key
        tree = trees[t]
        parent = tree.nodes[node_index]
        child = parent.state.fork()
        child.observe_all(step.output, [i for i, f in enumerate(step.forced) if f])
        tree.nodes.append(Node(child, node_index, parent.depth + 1, tokens=len(step.output)))
        born[t].append(len(tree.nodes) - 1)
        waiting[t] -= 1
        if waiting[t]:
            return []
        new, born[t] = born[t], []
        score(trees, [(t, n) for n in new], prm, config.prm_aggregate, delimiter, backend.tokenizer, extract)
        return jobs(t, next_plan(method, tree, new, size, config))

    run_jobs(backend, [job for t in range(len(trees)) for job in jobs(t, [(0, first)])], sampling, batch_size, done)


def run_jobs(backend, jobs: list[tuple], sampling, batch_size: int, on_done) -> None:
    """Run requests ((prompt ids, state, seed, key) each) until none is left, ``on_done(key)`` giving
    the requests that follow a finished one: streamed where the backend can, else batch by batch."""
    streaming = getattr(backend, "run_streaming", None)
    if streaming is not None:
        streaming(jobs, sampling, on_done)
        return
    while jobs:
        backend.run([j[0] for j in jobs], [j[1] for j in jobs], sampling, [j[2] for j in jobs], batch_size=batch_size,
                    progress=False)
        jobs = [new for job in jobs for new in on_done(job[3])]


def score(trees, born, prm, aggregate: str, delimiter: str, tok, extract) -> None:
    """The new nodes' rewards, in one PRM call: a live node's last step, a leaf's whole trace."""
    items = []
    for t, n in born:
        node = trees[t].nodes[n]
        thinking, answer = node.state.sections()
        steps = split_steps(tok.decode(thinking), delimiter)
        if not node.live:
            text = tok.decode(answer).strip()
            node.answer = extract(tok.decode(node.state.output))
            steps.append(text)
        items.append((trees[t].question, steps or [""]))
    for (t, n), scores in zip(born, prm.score_many(items)):
        trees[t].prm_calls += 1
        node = trees[t].nodes[n]
        node.reward = scores[-1] if node.live else metrics.trace_score(scores, aggregate)
        if not node.live:
            trees[t].leaves.append(n)


def next_plan(method: str, tree: Tree, born: list[int], size: int, config: SearchConfig) -> list[tuple[int, int]]:
    """The next depth's expansions of one tree: (node, count) for its live new nodes."""
    live = [n for n in born if tree.nodes[n].live and tree.nodes[n].state.phase is Phase.THINKING]
    left = size - len(tree.leaves)
    if not live or left <= 0:
        return []
    rewards = [tree.nodes[n].reward for n in live]
    if method == "rebase":
        return [(n, c) for n, c in zip(live, rebase_widths(rewards, left, config.rebase_temperature)) if c]
    return [(live[i], config.expansions) for i in beam_keep(rewards, left)]


def tree_outcome(tree: Tree, tok, delimiter: str) -> tuple[int, dict]:
    """The node whose trace is the row's (the reward-weighted majority's best leaf), and the row's
    search fields: the leaves' answers and rewards, what plain majority and the best leaf say, the
    tokens generated, the PRM's calls and the tree itself (its nodes numbered from the root's
    first child; the root, the prompt, is not listed). Ties are broken with the unit's seed."""
    leaves, seed = tree.leaves, tree.seed
    if not leaves:
        raise RuntimeError("a search ended without leaves")
    answers = [tree.nodes[n].answer for n in leaves]
    rewards = [tree.nodes[n].reward for n in leaves]
    weighted = metrics.weighted_majority_vote(answers, rewards, seed)
    majority = metrics.majority_vote(answers, seed)
    best = leaves[metrics.best_pick(rewards, seed)]
    backing = [n for n in leaves if tree.nodes[n].answer == weighted] or [best]
    chosen = max(backing, key=lambda n: (tree.nodes[n].reward, -n))
    voter = next((n for n in leaves if tree.nodes[n].answer == majority), None)
    nodes = [{"parent": node.parent, "depth": node.depth, "tokens": node.tokens, "reward": round(node.reward, 4),
              "step": _last_step(node, tok, delimiter), **({"answer": node.answer} if not node.live else {})}
             for node in tree.nodes[1:]]
    for entry in nodes:  # the root is not listed: a node's parent counts from the first child
        entry["parent"] = None if entry["parent"] == 0 else entry["parent"] - 1
    return chosen, {
        "search_tokens": sum(node.tokens for node in tree.nodes), "prm_calls": tree.prm_calls,
        "leaves": [{"node": n - 1, "answer": tree.nodes[n].answer, "reward": round(tree.nodes[n].reward, 4)}
                   for n in leaves],
        "weighted_answer": weighted, "majority_answer": majority, "best_leaf_answer": tree.nodes[best].answer,
        "chosen_node": chosen - 1, "tree": nodes,
        # Texts of a leaf behind each other vote, graded by eval (which knows the gold) and dropped.
        "vote_texts": {"majority": None if voter is None else tok.decode(tree.nodes[voter].state.output),
                       "best_leaf": tok.decode(tree.nodes[best].state.output)},
    }


def _last_step(node: Node, tok, delimiter: str) -> str:
    steps = split_steps(tok.decode(node.state.output[len(node.state.output) - node.tokens:]), delimiter)
    return (steps[-1] if steps else "")[:200]
