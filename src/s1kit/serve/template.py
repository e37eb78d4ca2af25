"""The chat template a budget-forced chat request is rendered with: the model's own, with the
thinking opener after the assistant turn when the request sets ``s1kit_think``.

That is what ``s1kit generate`` renders (formats.render_prompt), so a chat request to the server
and a local run start from the same tokens. Requests without the variable render exactly as the
model's template does. A template whose assistant turn already opens thinking (some R1-distill
templates end with ``<think>\\n``) is left as it is.
"""

from __future__ import annotations

import json

from s1kit.serve.requests import THINK_KWARG


def opens_thinking(tokenizer, fmt) -> bool:
    """Whether the model's own template already ends the assistant turn with the thinking opener."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    return text.rstrip().endswith(fmt.think_start.strip())


def thinking_template(template: str, opener: str) -> str:
    """``template`` followed by the opener when the assistant turn is open and the request asks."""
    # An expression, not raw text: chat templates render with trim_blocks, which would eat a
    # newline written after a block tag.
    return (template + "{% if add_generation_prompt and " + THINK_KWARG + " is defined and " + THINK_KWARG
            + " %}{{ " + json.dumps(opener) + " }}{% endif %}")
