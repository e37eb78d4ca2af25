"""Process reward models from Hugging Face checkpoints, in the two shapes they are published in.

- **Reward head** (Qwen2.5-Math-PRM, Zhang et al. 2025, "The Lessons of Developing Process Reward
  Models in Mathematical Reasoning"): a token-classification model. The steps are the assistant's
  reply, each followed by the step tag (``<extra_0>``); a step's score is the probability of label 1
  at its tag (the sigmoid of the logit where there is one label).
- **Good-token LM** (Math-Shepherd, Wang et al. 2024, "Math-Shepherd: Verify and Reinforce LLMs
  Step-by-step without Human Annotations"): a causal LM read at each step's tag ``ки``; a step's score
  is softmax([logit of "+", logit of "-"])[0] for the token after the tag.

A checkpoint can say which shape it is, and its tokens, in its config.json: ``s1kit_prm``
("token-classification"), ``s1kit_step_tag``, ``s1kit_good_token``, ``s1kit_bad_token``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from s1kit.errors import S1kitError, check_positive_int, require, shown
from s1kit.models import describe_load_failure, resolve_model

REWARD_HEAD = "token-classification"
GOOD_TOKEN = "good-token"
QWEN_PRM_TAG = "<extra_0>"
QWEN_PRM_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
"""The system prompt Qwen2.5-Math-PRM was trained under (its model card)."""
MATH_SHEPHERD_TAG = "ки"
_REPLY = "S1KITREPLYPLACEHOLDER"
"""Stands in for the reply while the chat template is rendered: the reply then goes in verbatim,
even under a template that trims or rewrites message contents."""


@dataclass(frozen=True)
class Layout:
    """How a question and its steps become the text a PRM reads."""

    step_tag: str
    """Written after every step; the PRM is read at its token."""
    tag_id: int
    """The token the PRM is read at: the tag's last token (the whole tag where it is one token)."""
    chat: bool
    """The steps are the assistant's reply under the tokenizer's chat template (reward heads)."""
    after_question: str
    """Between the question and the first step, where there is no chat template."""
    between_steps: str
    """Between one step's tag and the next step."""
    step_to_tag: str
    """Between a step and its tag (Math-Shepherd writes "step ки")."""


class HFPRM:
    """A Hugging Face PRM: one score in [0, 1] per step, read at the steps' tags in one forward pass
    (causal models score a step from it and what precedes it only)."""

    def __init__(self, name: str, shape: str, model, tokenizer, layout: Layout, device: str, batch_size: int,
                 good_bad: tuple[int, int] | None = None):
        self.name = name
        self.shape = shape
        self.model = model
        self.tokenizer = tokenizer
        self.layout = layout
        self.device = device
        self.batch_size = batch_size
        self.good_bad = good_bad
        self.max_positions = _max_positions(model.config)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = pad if pad is not None else 0  # masked out and after every real token: any id does

    @property
    def step_tag(self) -> str:
        return self.layout.step_tag

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return self.score_many([(question, list(steps))])[0]

    def score_many(self, items: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        """Scores of several traces, ``batch_size`` at a time (traces of similar length together)."""
        encoded = [self._encode(question, list(steps)) for question, steps in items]
        results: list[list[float]] = [[] for _ in encoded]
        order = sorted((i for i, (_, tags) in enumerate(encoded) if tags), key=lambda i: len(encoded[i][0]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            for i, scores in zip(rows, self._forward([encoded[i] for i in rows])):
                results[i] = scores
        return results

    def text(self, question: str, steps: list[str]) -> tuple[str, str, str]:
        """What the PRM reads, in three parts: before the steps, the steps with their tags, after them."""
        layout = self.layout
        reply = layout.between_steps.join(step + layout.step_to_tag + layout.step_tag for step in steps)
        if not layout.chat:
            return question + layout.after_question, reply, ""
        messages = [{"role": "system", "content": QWEN_PRM_SYSTEM}, {"role": "user", "content": question},
                    {"role": "assistant", "content": _REPLY}]
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
        parts = rendered.split(_REPLY)
        if len(parts) != 2:
            raise S1kitError(f"--prm {self.name}: its chat template does not write the assistant's reply once, as "
                             "given; fix the template in its tokenizer_config.json")
        return parts[0], reply, parts[1]

    def _encode(self, question: str, steps: list[str]) -> tuple[list[int], list[int]]:
        """The trace's token ids, and the positions of its steps' tags (one per step)."""
        if not steps:
            return [], []
        before, reply, after = self.text(question, steps)
        # A chat template writes its own special tokens; plain text gets the tokenizer's (a BOS).
        special = not self.layout.chat

        def ids(text: str) -> list[int]:
            return self.tokenizer(text, add_special_tokens=special)["input_ids"]

        # Tags are counted in the reply only: a question (or the template) may hold the tag's token too.
        start, end = len(ids(before)), len(ids(before + reply))
        tokens = ids(before + reply + after)
        tags = [p for p in range(start, min(end, len(tokens))) if tokens[p] == self.layout.tag_id]
        if len(tags) != len(steps):
            raise self._tag_count_error(steps, len(tags))
        if self.max_positions is not None and len(tokens) > self.max_positions:
            raise S1kitError(f"--prm {self.name}: a trace of {len(tokens)} tokens exceeds the model's "
                             f"{self.max_positions} positions; score shorter traces (fewer or shorter steps) or "
                             "use a PRM with a longer context")
        return tokens, tags

    def _tag_count_error(self, steps: list[str], found: int) -> S1kitError:
        tag = self.layout.step_tag
        inside = next((n for n, step in enumerate(steps, 1) if tag in step), None)
        if inside is not None:
            return S1kitError(f"--prm {self.name}: step {inside} contains the step tag {tag!r} itself, so its steps "
                              "cannot be told apart; remove the tag from the steps or split them elsewhere")
        token = self.tokenizer.convert_ids_to_tokens(self.layout.tag_id)
        return S1kitError(f"--prm {self.name}: found {found} of the step tag {tag!r} (token {token!r}) in a trace "
                          f"of {len(steps)} steps; the steps hold that token, or the tag tokenizes differently "
                          "next to them: make the tag one special token of the tokenizer, or set "
                          "s1kit_step_tag in the model's config.json to one")

    def _forward(self, batch: list[tuple[list[int], list[int]]]) -> list[list[float]]:
        torch = require("torch", "hf")
        width = max(len(tokens) for tokens, _ in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (tokens, _) in enumerate(batch):  # padded on the right: real tokens keep their positions
            input_ids[row, :len(tokens)] = torch.tensor(tokens)
            mask[row, :len(tokens)] = 1
        rows = torch.tensor([row for row, (_, tags) in enumerate(batch) for _ in tags])
        cols = torch.tensor([p for _, tags in batch for p in tags])
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)).logits
            at_tags = logits[rows.to(self.device), cols.to(self.device)].float()
            if self.good_bad is not None:
                scores = at_tags[:, list(self.good_bad)].softmax(-1)[:, 0]
            elif at_tags.shape[-1] == 1:
                scores = at_tags[:, 0].sigmoid()
            else:
                scores = at_tags.softmax(-1)[:, 1]
        flat = scores.cpu().tolist()
        out, taken = [], 0
        for _, tags in batch:
            out.append(flat[taken:taken + len(tags)])
            taken += len(tags)
        return out


def load_hf_prm(name_or_path: str, device: str = "cpu", step_tag: str | None = None, batch_size: int = 8) -> HFPRM:
    """The PRM in a checkpoint (built-in alias, local directory or hub id), its shape read from its config:
    a token-classification reward head or a causal LM read at a good and a bad token."""
    transformers = require("transformers", "hf")
    torch = require("torch", "hf")
    check_positive_int("batch_size", batch_size)
    if step_tag is not None and (not isinstance(step_tag, str) or not step_tag):
        raise S1kitError(f"--prm {name_or_path}: the step tag must be non-empty text, got {shown(step_tag)}; pass "
                         "the text written after each step, e.g. '<extra_0>'")
    device = _device(torch, name_or_path, device)
    path = resolve_model(name_or_path)
    try:
        config = transformers.AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(name_or_path, exc).naming("--prm") from None
    shape = _shape(name_or_path, config)  # before the tokenizer loads: a wrong checkpoint fails at once
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(name_or_path, exc).naming("--prm") from None
    good_bad = None
    if shape == REWARD_HEAD:
        layout = head_layout(name_or_path, tokenizer, config, step_tag)
        auto = transformers.AutoModelForTokenClassification
    else:
        tag = step_tag or getattr(config, "s1kit_step_tag", None) or MATH_SHEPHERD_TAG
        layout = Layout(tag, _tag_id(name_or_path, tokenizer, tag), chat=False, after_question=" ",
                        between_steps="\n", step_to_tag=" ")
        good_bad = (_judgement_token(name_or_path, tokenizer, config, "s1kit_good_token", "+"),
                    _judgement_token(name_or_path, tokenizer, config, "s1kit_bad_token", "-"))
        if good_bad[0] == good_bad[1]:
            raise S1kitError(f"--prm {name_or_path}: its good and bad tokens are the same token; set "
                             "s1kit_good_token and s1kit_bad_token in its config.json to two different tokens")
        auto = transformers.AutoModelForCausalLM
    if shape == REWARD_HEAD and config.num_labels not in (1, 2):
        raise S1kitError(f"--prm {name_or_path}: its reward head has {config.num_labels} labels; a PRM head has 2 "
                         "(bad, good) or 1 (a logit)")
    model = _load_model(auto, name_or_path, path, torch.bfloat16 if device.startswith("cuda") else torch.float32)
    model.to(device)
    model.eval()
    prm = HFPRM(name_or_path, shape, model, tokenizer, layout, device, batch_size, good_bad)
    check_template(prm)
    return prm


def head_layout(name: str, tokenizer, config, step_tag: str | None = None) -> Layout:
    """How a reward head reads a trace: after each step its tag (``step_tag``, else the config's
    s1kit_step_tag, else <extra_0> where the tokenizer has it as one token, else a blank line), the
    steps as the assistant's reply where the tokenizer has a chat template. Training a reward head
    (train/prm.py) encodes its rows with this same layout."""
    tag = step_tag or getattr(config, "s1kit_step_tag", None)
    if tag is None:
        tag = QWEN_PRM_TAG if _single_token(tokenizer, QWEN_PRM_TAG) is not None else "\n\n"
    return Layout(tag, _tag_id(name, tokenizer, tag), chat=bool(tokenizer.chat_template), after_question="\n\n",
                  between_steps="", step_to_tag="")


def check_template(prm: HFPRM) -> None:
    """A chat template that cannot write a system, user and assistant message fails here, once, not
    in the middle of a search or a training run."""
    if not prm.layout.chat:
        return
    try:
        prm.text("question", ["step"])
    except S1kitError:
        raise
    except Exception as exc:  # jinja's errors, or the template's own raise_exception
        raise S1kitError(f"--prm {prm.name}: its chat template fails on a system, user and assistant "
                         f"message ({type(exc).__name__}: {exc}); fix the template in its "
                         "tokenizer_config.json") from None


def _device(torch, name: str, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise S1kitError(f"--prm {name}: unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise S1kitError(f"--prm {name}: device {device!r} asked for, but torch sees no CUDA GPU; use cpu (or auto)")
    return device


def _shape(name: str, config) -> str:
    declared = getattr(config, "s1kit_prm", None)
    if declared is not None:
        if declared != REWARD_HEAD:
            raise S1kitError(f"--prm {name}: its config.json says s1kit_prm {declared!r}; the only value is "
                             f"{REWARD_HEAD!r} (a causal LM needs none)")
        return REWARD_HEAD
    architectures = list(getattr(config, "architectures", None) or [])
    if any(arch.endswith("ForTokenClassification") for arch in architectures):
        return REWARD_HEAD
    if any(arch.endswith("ForCausalLM") for arch in architectures):
        return GOOD_TOKEN
    listed = ", ".join(architectures) or "a config that lists no architectures"
    raise S1kitError(f"--prm {name}: {listed} is neither a token-classification reward head nor a causal LM; "
                     "pass a checkpoint whose architecture ends in ForTokenClassification or ForCausalLM (or "
                     f"whose config.json says \"s1kit_prm\": \"{REWARD_HEAD}\"), or a Python scorer module:function")


def _single_token(tokenizer, text: str) -> int | None:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 and ids[0] != tokenizer.unk_token_id else None


def _tag_id(name: str, tokenizer, tag: str) -> int:
    ids = tokenizer.encode(tag, add_special_tokens=False)
    if not ids:
        raise S1kitError(f"--prm {name}: the step tag {tag!r} encodes to no tokens; set s1kit_step_tag in its "
                         "config.json to a token of its tokenizer")
    return ids[-1]


def _judgement_token(name: str, tokenizer, config, key: str, default: str) -> int:
    token = getattr(config, key, None) or default
    found = _single_token(tokenizer, token)
    if found is None:
        ids = tokenizer.encode(token, add_special_tokens=False)
        raise S1kitError(f"--prm {name}: {key} {token!r} is {len(ids)} tokens of its tokenizer ({ids}); set {key} "
                         "in its config.json to a single token")
    return found


def _load_model(auto, name: str, path: str, dtype):
    try:
        model, info = auto.from_pretrained(path, dtype=dtype, output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(name, exc).naming("--prm") from None
    # A head the checkpoint does not hold would be random: its scores would mean nothing.
    missing = sorted(info.get("missing_keys", ())) + sorted(str(key) for key in info.get("mismatched_keys", ()))
    if missing:
        raise S1kitError(f"--prm {name}: the checkpoint has no weights for {', '.join(missing[:3])} of a "
                         f"{type(model).__name__}; it is not a PRM of that shape (check its config.json)")
    return model


def _max_positions(config) -> int | None:
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None
