"""Chat formats for thinking models: where thinking starts, what ends it, how the answer opens.

- ``s1``: the format s1-32B and s1.1-32B were trained on (Qwen2.5 chat template). The assistant
  turn opens with ``<|im_start|>think\\n``; the model ends thinking by emitting ``<|im_start|>``
  (or ``<|im_end|>``); the answer section opens with ``<|im_start|>answer\\n``.
- ``think-tags``: ``<think>`` ... ``</think>`` as DeepSeek-R1 distills, QwQ and Qwen3 use.
- ``auto``: think-tags when the tokenizer has ``<think>`` and ``</think>`` as single tokens, else s1
  when it has ``<|im_start|>`` and ``<|im_end|>``.

End-of-thinking delimiters must be single tokens, so that the decode loop can see the model
choosing them; strings the loop forces (answer opener, wait string, answer prefix) may be any text.
"""

from __future__ import annotations

from dataclasses import dataclass

from s1kit.errors import S1kitError
from s1kit.tokenizers import TokenizerLike


@dataclass(frozen=True)
class ChatFormat:
    name: str
    think_start: str
    """Appended to the rendered prompt to open thinking (not counted as thinking)."""
    end_of_thinking: tuple[str, ...]
    """Single tokens by which the model ends its thinking; end-of-turn tokens count too."""
    answer_start: str
    """Forced after thinking ends to open the answer section."""
    single_tokens: tuple[str, ...]
    """Strings the tokenizer must hold as single tokens for this format to work."""
    cap_separator: str = "\n"
    """Forced before answer_start when the cap cuts thinking mid-line (s1 forces a newline)."""


FORMATS: dict[str, ChatFormat] = {
    "s1": ChatFormat(
        name="s1",
        think_start="<|im_start|>think\n",
        end_of_thinking=("<|im_start|>", "<|im_end|>"),
        answer_start="<|im_start|>answer\n",
        single_tokens=("<|im_start|>", "<|im_end|>"),
    ),
    "think-tags": ChatFormat(
        name="think-tags",
        think_start="<think>\n",
        end_of_thinking=("</think>",),
        answer_start="</think>\n\n",
        single_tokens=("<think>", "</think>"),
    ),
}
FORMAT_CHOICES = (*FORMATS, "auto")

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML (Qwen's turns) without a default system prompt, as a Jinja chat template: given to models
that have none (trained from scratch, or fine-tuned from a base model)."""


def render_chatml(messages: list[dict[str, str]]) -> str:
    """What :data:`CHATML_TEMPLATE` renders for ``messages``, with the assistant turn opened."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def answer_delimiters() -> tuple[str, ...]:
    """The texts that open the answer section in some format (``<|im_start|>answer``, ``</think>``)."""
    return tuple(fmt.answer_start.strip() for fmt in FORMATS.values())


def _missing_delimiters(fmt: ChatFormat, tokenizer: TokenizerLike) -> list[str]:
    return [d for d in fmt.single_tokens if tokenizer.single_token_id(d) is None]


def check_format_name(name: str) -> None:
    if name not in FORMAT_CHOICES:
        raise S1kitError(f"unknown format '{name}'; choose from {', '.join(FORMAT_CHOICES)}")


def resolve_format(name: str, tokenizer: TokenizerLike) -> ChatFormat:
    """The format called name, checked against what the tokenizer can express."""
    check_format_name(name)
    if name == "auto":
        for candidate in ("think-tags", "s1"):
            fmt = FORMATS[candidate]
            if not _missing_delimiters(fmt, tokenizer):
                return fmt
        raise S1kitError(
            f"cannot pick a format for '{tokenizer.name}': its tokenizer has neither <think>/</think> "
            "nor <|im_start|>/<|im_end|> as single tokens; pass --format s1 or --format think-tags "
            "with a model that has them"
        )
    fmt = FORMATS[name]
    missing = _missing_delimiters(fmt, tokenizer)
    if missing:
        others = [n for n in FORMAT_CHOICES if n != name]
        raise S1kitError(
            f"the tokenizer of '{tokenizer.name}' cannot express format '{name}': "
            f"{', '.join(repr(m) for m in missing)} is not a single token; choose --format from {', '.join(others)}"
        )
    return fmt


def render_prompt(question: str, fmt: ChatFormat, tokenizer: TokenizerLike, system_prompt: str | None = None) -> str:
    """The prompt text for one question: the chat template's assistant turn, then the thinking opener.

    With a Qwen2.5 template and the s1 format this is byte-for-byte the prompt of the s1 reference.
    Templates that already open thinking (some R1-distill templates end with ``<think>\\n``) are
    not given a second opener.
    """
    if not question or not question.strip():
        raise S1kitError("empty prompt; every prompt needs some text")
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": question})
    text = tokenizer.apply_chat_template(messages)
    if text.rstrip().endswith(fmt.think_start.strip()):
        return text
    return text + fmt.think_start
