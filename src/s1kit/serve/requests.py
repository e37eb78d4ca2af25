"""One budget-forced request on the server: its budget into vLLM, its results back out.

In: the request's budget fields become the same spec the HTTP client sends
(:mod:`s1kit.backends.forcing_channel`), in ``vllm_xargs``, so s1kit's logits processor forces it
inside the engine. The request also asks for what the replay needs: the output's token ids and,
where the budget extends thinking (a forced Wait looks like one the model wrote), which positions
the engine forced in place of an end, one of three ways (forced.py). A chat request gets the
thinking opener through the chat template (see template.py).

Out: the returned tokens are replayed through the same :class:`~s1kit.budget.state.SequenceState`,
which gives the thinking, the answer, the counts and the forced spans exactly as ``s1kit generate``
reports them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from s1kit.backends.forcing_channel import EXTRA_ARGS_KEY, replay, request_spec, sign
from s1kit.budget.config import BudgetConfig
from s1kit.budget.result import Generation
from s1kit.budget.state import BudgetTokens, SequenceState
from s1kit.errors import S1kitError, shown
from s1kit.serve.fields import RequestError, ServerBudget, request_budget, take_fields
from s1kit.serve.forced import CHAT, COMPLETIONS, TOKEN_ID, FromTokens, choose

THINK_KWARG = "s1kit_think"
"""Chat-template variable that opens thinking at the end of the prompt (template.py)."""


@dataclass
class Budgeted:
    """A request the server forces, and what its client asked to see."""

    budget: BudgetConfig
    tokens: BudgetTokens
    max_new_tokens: int | None
    logprobs: bool
    """The client asked for logprobs: keep them in the reply."""
    token_ids: bool
    """The client asked for tokens as ids in its logprobs."""
    forced_positions: FromTokens = dataclasses.field(default_factory=FromTokens)
    """How the reply tells which positions the engine forced in place of an end (forced.py)."""
    id_lists: bool = False
    """The client asked for the prompt's and the output's ids (``return_token_ids``): keep them."""
    include_reasoning: bool = True
    """False: the client asked for the answer alone (chat's ``include_reasoning``)."""
    answering: bool = False
    """The prompt already ended the thinking (a completions prompt): the output is all answer."""
    stop: tuple[str, ...] = ()
    """The request's stop strings: vLLM ends the request at one and leaves it out of the text."""
    keep_stop: bool = False
    """The client asked for the stop string in the text (``include_stop_str_in_output``)."""

    def state(self) -> SequenceState:
        state = SequenceState(self.budget, self.tokens, max_new_tokens=self.max_new_tokens)
        return state.begin_answer() if self.answering else state

    def entries(self, choice: dict, endpoint: str, offset: int = 0) -> tuple[list[int], list[float | None]]:
        """The token ids in one choice (a reply, or a stream chunk whose first token is output
        position ``offset``) and each one's mark for the replay."""
        return self.forced_positions.entries(choice, endpoint, offset)


UNSUPPORTED = {
    "response_format": "structured output masks the tokens budget forcing must write",
    "structured_outputs": "structured output masks the tokens budget forcing must write",
    "use_beam_search": "beam search keeps no one sequence for the budget to follow",
    "echo": "the echoed prompt would be read as the start of the thinking",
    "thinking_token_budget": "it is vLLM's own cap; send max_thinking_tokens instead",
    "min_tokens": "it hides the ends of thinking the budget decides on; send min_thinking_tokens instead",
}
"""Request options that cannot be combined with a thinking budget, and why."""


def unsupported(body: dict) -> RequestError | None:
    """The refusal for an option ``body`` combines with a budget, if any."""
    for name, why in UNSUPPORTED.items():
        value = body.get(name)
        if value in (None, False, 0, {}) or (name == "response_format" and isinstance(value, dict)
                                              and value.get("type") == "text"):
            continue
        return RequestError(name, f"{name} cannot be combined with a thinking budget: {why}")
    return None


def prepare(body: dict, endpoint: str, server: ServerBudget, tokenizer, fmt, context: int | None = None,
            marks_dir: Path | None = None, secret: str | None = None) -> Budgeted | None:
    """Rewrite ``body`` in place for budget forcing; None (and ``body`` as it was) when the request
    is not forced. Raises RequestError for a bad field. ``context``: the server's context length;
    ``marks_dir``: the directory the engine writes marks files to (None: marks come as logprobs);
    ``secret``: the server's signing secret (forcing_channel.sign)."""
    budget = request_budget(take_fields(body), server)
    if budget is None:
        return None
    refusal = unsupported(body)
    if refusal is not None:
        raise refusal
    temperature = body.get("temperature", 1.0)  # OpenAI's default
    if budget.extends_without_string and (not isinstance(temperature, (int, float)) or temperature != 0):
        raise RequestError("wait_string", "an empty wait_string extends thinking only with temperature 0 (the engine "
                                          "cannot tell where a drawn end was suppressed); send temperature 0 or a wait string")
    try:  # a wait string that encodes to nothing, or holds an end of thinking
        tokens = budget_tokens(fmt, dataclasses.astuple(budget), tokenizer)
    except S1kitError as exc:
        raise RequestError("wait_string", str(exc)) from None
    limit_field = "max_completion_tokens" if endpoint == CHAT and body.get("max_completion_tokens") is not None else "max_tokens"
    limit = body.get(limit_field)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RequestError(limit_field, f"{limit_field} must be an integer >= 1, got {shown(limit)}")
    room = None
    if endpoint == COMPLETIONS and context is not None:
        prompt_tokens = prompt_length(body, tokenizer)
        room = None if prompt_tokens is None else max(context - prompt_tokens, 1)
    seed = body.get("seed")
    request = Budgeted(budget, tokens, limit if limit is not None else room,
                       logprobs=bool(body.get("logprobs")) if endpoint == CHAT
                       else body.get("logprobs") is not None, token_ids=bool(body.get("return_tokens_as_token_ids")),
                       id_lists=bool(body.get("return_token_ids")),
                       # vLLM would hide the ids and logprobs the replay needs: s1kit leaves the thinking out itself.
                       include_reasoning=body.pop("include_reasoning", True) is not False,
                       answering=endpoint == COMPLETIONS and closes_thinking(body.get("prompt"), fmt, tokenizer),
                       stop=stop_strings(body), keep_stop=body.get("include_stop_str_in_output") is True)
    state = request.state()
    spec = request_spec(state, seed if isinstance(seed, int) and not isinstance(seed, bool) else None)
    request.forced_positions = choose(state, body, endpoint, request.logprobs, marks_dir)
    request.forced_positions.ask(body, endpoint, spec)
    if limit is None and endpoint == COMPLETIONS and state.request_tokens() is not None:
        # vLLM's default for completions is 16 tokens: give a forced request room for its whole
        # output, within what the context holds after the prompt (chat's default already runs to
        # the end of the context).
        body[limit_field] = state.request_tokens()
    xargs = body.get("vllm_xargs") if isinstance(body.get("vllm_xargs"), dict) else {}
    xargs[EXTRA_ARGS_KEY] = json.dumps(sign(spec, secret) if secret else spec)
    body["vllm_xargs"] = xargs
    if endpoint == CHAT:
        kwargs = body.get("chat_template_kwargs") if isinstance(body.get("chat_template_kwargs"), dict) else {}
        body["chat_template_kwargs"] = {**kwargs, THINK_KWARG: True}
    return request


def prompt_length(body: dict, tokenizer) -> int | None:
    """Tokens of a completions request's longest prompt, counted as vLLM counts them (special
    tokens added unless the request says otherwise); None for a prompt s1kit cannot count."""
    prompt = body.get("prompt")
    prompts = prompt if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int) else [prompt]
    hf = getattr(tokenizer, "hf", None)
    lengths = []
    for one in prompts:
        if isinstance(one, str):
            lengths.append(len(hf(one, add_special_tokens=body.get("add_special_tokens", True) is not False)["input_ids"])
                           if hf is not None else len(tokenizer.encode(one)))
        elif isinstance(one, list) and all(isinstance(t, int) for t in one):
            lengths.append(len(one))
        else:
            return None
    return max(lengths, default=None)


def closes_thinking(prompt, fmt, tokenizer) -> bool:
    """Whether a completions prompt already ended its thinking (its last thinking opener is
    followed by the answer's opener): its output is then all answer."""
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        prompt = tokenizer.decode(prompt)
    if not isinstance(prompt, str):
        return False
    opened = prompt.rfind(fmt.think_start.strip())
    return opened >= 0 and prompt.find(fmt.answer_start.strip(), opened + len(fmt.think_start.strip())) >= 0


def stop_strings(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    return tuple(s for s in stops if isinstance(s, str) and s)


@functools.lru_cache(maxsize=256)
def budget_tokens(fmt, budget: tuple, tokenizer) -> BudgetTokens:
    """BudgetTokens.build for a budget given as a tuple of its fields: the same few budgets come
    again and again, and each build encodes four strings."""
    return BudgetTokens.build(fmt, BudgetConfig(*budget), tokenizer)


def result(state: SequenceState, tokenizer, request: Budgeted | None = None, choice: dict | None = None) -> Generation:
    """What the replayed state produced, as ``s1kit generate`` reports it; where vLLM ended the
    ``choice`` at one of the request's stops, its texts end there too and its finish reason is "stop"."""
    generation = Generation.from_state("", 0, state, tokenizer, None)
    stop = vllm_stop(choice or {}, state)
    if stop is None:
        return generation
    thinking, answer = generation.thinking, generation.answer
    if isinstance(stop, int):  # a stop token id: in the output, not in its text (as vLLM writes it)
        thinking_ids, answer_ids = state.sections()
        if answer_ids and answer_ids[-1] == stop:
            answer = tokenizer.decode(answer_ids[:-1])
        elif not answer_ids and thinking_ids and thinking_ids[-1] == stop:
            thinking = tokenizer.decode(thinking_ids[:-1])
    else:
        thinking, answer = cut_at_stop(thinking, answer, (stop,), request is not None and request.keep_stop)
    return dataclasses.replace(generation, thinking=thinking, answer=answer, finish_reason="stop")


def vllm_stop(choice: dict, state: SequenceState) -> str | int | None:
    """The stop string or stop token id vLLM ended ``choice`` at, where the budget's own state did
    not end it (an end of turn is the state's own)."""
    reason = choice.get("stop_reason")
    if choice.get("finish_reason") != "stop" or state.done or isinstance(reason, bool):
        return None
    return reason if isinstance(reason, (str, int)) else None


def cut_at_stop(thinking: str, answer: str, stops: tuple[str, ...], keep: bool) -> tuple[str, str]:
    """The texts up to the first stop string, the first section that holds one first (vLLM checks
    the output as it grows); ``keep``: the stop string stays."""
    for section in (0, 1):
        texts = (thinking, answer)
        found = [(texts[section].find(s), s) for s in stops if s in texts[section]]
        if found:
            at, stop = min(found)
            cut = texts[section][: at + (len(stop) if keep else 0)]
            return (cut, "") if section == 0 else (thinking, cut)
    return thinking, answer


def extension(generation: Generation) -> dict:
    """The ``s1kit`` field of a choice: how the budget shaped it."""
    return {"thinking_tokens": generation.thinking_tokens, "answer_tokens": generation.answer_tokens,
            "waits_inserted": generation.waits_inserted, "forced_end": generation.forced_end,
            "finish_reason": generation.finish_reason, "forced_spans": generation.forced_spans}


def client_id_lists(data: dict, request: Budgeted) -> None:
    """Drop the id lists the replay asked for and the client did not (from a reply or a chunk)."""
    if request.id_lists:
        return
    data.pop("prompt_token_ids", None)
    for choice in data.get("choices") or []:
        choice.pop("token_ids", None)
        choice.pop("prompt_token_ids", None)


def client_logprobs(choice: dict, request: Budgeted, endpoint: str, tokenizer) -> None:
    """Leave the choice's logprobs as its client asked: none, or with tokens as text unless ids
    were asked for."""
    if not request.logprobs:
        choice["logprobs"] = None
        return
    if request.token_ids or not choice.get("logprobs"):
        return
    logprobs = choice["logprobs"]
    if endpoint == CHAT:
        for entry in logprobs.get("content") or []:
            entry["token"] = _as_text(entry.get("token"), tokenizer)
    else:
        logprobs["tokens"] = [_as_text(t, tokenizer) for t in logprobs.get("tokens") or []]


def _as_text(token, tokenizer):
    if isinstance(token, str) and token.startswith(TOKEN_ID):
        return tokenizer.decode([int(token[len(TOKEN_ID):])])
    return token


def finish_reply(reply: dict, request: Budgeted, endpoint: str, tokenizer) -> dict:
    """A whole (non-streamed) reply with every choice replayed: thinking in ``reasoning_content``
    and ``reasoning``, the answer in ``content`` (chat), the ``s1kit`` field, the finish reason, and
    ``usage.completion_tokens_details.reasoning_tokens``."""
    thinking = 0
    for choice in reply.get("choices") or []:
        state = request.state()
        replay(state, *request.entries(choice, endpoint))
        generation = result(state, tokenizer, request, choice)
        thinking += generation.thinking_tokens
        if endpoint == CHAT:
            message = choice.setdefault("message", {})
            thinking_text = generation.thinking if request.include_reasoning else None
            message.update(reasoning_content=thinking_text, reasoning=thinking_text, content=generation.answer)
        choice["finish_reason"] = generation.finish_reason
        choice["s1kit"] = extension(generation)
        client_logprobs(choice, request, endpoint, tokenizer)
    set_reasoning_tokens(reply, thinking)
    client_id_lists(reply, request)
    return reply


def set_reasoning_tokens(reply: dict, thinking: int) -> None:
    usage = reply.get("usage")
    if isinstance(usage, dict):
        details = usage.get("completion_tokens_details") or {}
        usage["completion_tokens_details"] = {**details, "reasoning_tokens": thinking}
