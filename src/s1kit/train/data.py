"""Training examples: s1K rows rendered in a chat format, tokenized, with the loss on the assistant turn only.

An example is the prompt exactly as inference renders it (the chat template's generation prompt,
see formats.render_prompt), then the assistant turn and the end-of-turn token:

- s1: ``<|im_start|>think\\n{thinking}\\n<|im_start|>answer\\nAnswer: {attempt}<|im_end|>``, as s1's
  data/tokenization.py built it (trajectory list joined by newlines and stripped; "Answer: "
  prepended unless the attempt already has "Answer:"). With a Qwen2.5 template this is s1's
  training text token for token, without the newline the template puts after <|im_end|>.
- think-tags: ``<think>\\n{thinking}\\n</think>\\n\\n{attempt}`` then end-of-turn.

Labels are -100 on every prompt token (system, user, the assistant header) and equal the input on
every assistant token, end-of-turn included, so the model learns to stop. The prompt and the turn
are tokenized apart and concatenated, which puts the boundary exactly at the turn's first token.

Budget-forced traces: a row may say which characters of its thinking budget forcing wrote (the
optional column ``thinking_forced_spans``, [start, end) offsets into the trajectories joined by
newlines, as ``s1kit synth`` writes them). Those spans are tokenized on their own, as inference
forces them, and get label -100: the model learns what to do after a forced "Wait", not to write one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from s1kit.errors import S1kitError, shown
from s1kit.formats import CHATML_TEMPLATE, ChatFormat, resolve_format
from s1kit.jsonl import check_file, read_lines

IGNORE = -100
"""Label value the loss skips (torch's cross-entropy ignore_index)."""
COLUMNS = ("question", "thinking_trajectories", "attempt")
FORCED_COLUMN = "thinking_forced_spans"
"""Optional: [start, end) character spans of the thinking that budget forcing wrote (no loss)."""
PAD_CANDIDATES = ("<|fim_pad|>", "<|vision_pad|>", "<|finetune_right_pad_id|>", "<|endoftext|>", "<pad>", "[PAD]")
"""Never-generated tokens, tried in order; s1 padded Qwen with <|fim_pad|>."""


@dataclass(frozen=True)
class Row:
    question: str
    thinking: str
    attempt: str
    forced: tuple[tuple[int, int], ...] = ()
    """[start, end) character spans of ``thinking`` that budget forcing wrote, sorted."""


@dataclass
class Encoded:
    examples: list[dict]
    """{"input_ids", "labels"} per kept row, at most block_size tokens."""
    truncated: int
    """Rows longer than block_size, cut at the end."""
    dropped: int
    """Rows whose prompt alone fills the block: no assistant token left to train on."""
    longest: int
    """Tokens of the longest row before truncation."""
    lengths: list[int]
    """Tokens of each row before truncation."""


def load_rows(source: str, fields: dict[str, str] | None = None, split: str = "train", limit: int | None = None) -> list[Row]:
    """Rows of a JSONL file, a directory holding dataset.jsonl, or a hub dataset, checked for content."""
    fields = dict(fields or {})
    unknown = sorted(set(fields) - {*COLUMNS, FORCED_COLUMN})
    if unknown:
        raise S1kitError(f"fields maps unknown columns {unknown}; map {', '.join(COLUMNS)} (and optionally "
                         f"{FORCED_COLUMN}) onto your dataset's names")
    path = Path(source)
    if path.is_dir():
        path = check_file(path / "dataset.jsonl", "point data at a JSONL file or a `s1kit curate` output directory")
    if path.suffix == ".jsonl" or path.is_file():
        check_file(path, "pass a JSONL file, a directory holding dataset.jsonl, or a Hugging Face dataset id")
        raw = [(f"{path} line {number}", row) for number, row in read_lines(path)]
    else:
        raw = _hub_rows(source, split)
    raw = raw[:limit] if limit else raw
    if not raw:
        raise S1kitError(f"no rows in {source}; training needs rows with question, thinking_trajectories and attempt")
    rows, problems = [], []
    for index, (where, record) in enumerate(raw):
        values = {column: record.get(fields.get(column, column)) for column in COLUMNS}
        missing = [f"{fields.get(c, c)}" for c in COLUMNS if not _text(values[c])]
        if missing:
            problems.append(f"row {index} ({where}) has no text in {' or '.join(missing)}")
            continue
        # Question and attempt stay as written (s1 stripped only the assembled answer); the
        # trajectory is joined and stripped as s1 did.
        try:
            forced = _forced_spans(record.get(fields.get(FORCED_COLUMN, FORCED_COLUMN)), values["thinking_trajectories"])
        except S1kitError as exc:
            problems.append(f"row {index} ({where}): {exc}")
            continue
        rows.append(Row(values["question"], _text(values["thinking_trajectories"]), values["attempt"], forced))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise S1kitError(f"{len(problems)} of {len(raw)} rows cannot be trained on: {'; '.join(problems[:3])}{more}; "
                         "every row needs a question, thinking and an answer (map other column names with fields)")
    return rows


def _hub_rows(source: str, split: str) -> list[tuple[str, dict]]:
    from s1kit.hub import load_dataset

    dataset = load_dataset(source, split, what=f"training data {source}", extra="train",
                           local="pass a JSONL file or a directory holding dataset.jsonl (what `s1kit curate` writes)")
    return [(f"{source} ({split}) row {i}", dict(row)) for i, row in enumerate(dataset)]


def _forced_spans(value, trajectories) -> tuple[tuple[int, int], ...]:
    """The row's forced spans as offsets into its stripped thinking (what ``_text`` returns)."""
    if value is None or value == []:
        return ()
    joined = "\n".join(trajectories) if isinstance(trajectories, list) else trajectories
    lead = len(joined) - len(joined.lstrip())
    length = len(joined.strip())
    spans, previous = [], 0
    ok = isinstance(value, list)
    for span in value if ok else ():
        ok = (isinstance(span, (list, tuple)) and len(span) == 2
              and all(isinstance(x, int) and not isinstance(x, bool) for x in span))
        if not ok:
            break
        start, end = span[0] - lead, span[1] - lead
        if not previous <= start < end <= length:
            raise S1kitError(f"{FORCED_COLUMN} span {list(span)} is not inside the thinking ({len(joined)} "
                             "characters) or overlaps the one before; spans are sorted [start, end) offsets")
        spans.append((start, end))
        previous = end
    if not ok:
        raise S1kitError(f"{FORCED_COLUMN} must be a list of [start, end] character offsets, got {shown(value)}")
    return tuple(spans)


def _text(value) -> str:
    """A column as one string: s1K's thinking_trajectories is a list of strings, joined by newlines (as s1)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(value)
    return value.strip() if isinstance(value, str) else ""


def assistant_turn(row: Row, fmt: ChatFormat, answer_prefix: str | None, open_thinking: bool = True) -> str:
    """The assistant turn without its end-of-turn token."""
    if answer_prefix is None:
        answer_prefix = "Answer: " if fmt.name == "s1" else ""
    # s1: "Answer: " + attempt unless it already says "Answer:", then stripped as a whole.
    attempt = row.attempt if answer_prefix.strip() and answer_prefix.strip() in row.attempt else answer_prefix + row.attempt
    opener = fmt.think_start if open_thinking else ""
    return f"{opener}{row.thinking}\n{fmt.answer_start}{attempt.strip()}"


def end_of_turn(tokenizer) -> str:
    """The token the chat template closes an assistant turn with (<|im_end|> for ChatML)."""
    marker = "S1KIT_END_OF_TURN_PROBE"
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": "Q"}, {"role": "assistant", "content": marker}],
                                             tokenize=False)
    except Exception:  # templates that refuse a bare user/assistant pair: fall back to eos
        text = ""
    tail = text[text.rfind(marker) + len(marker):].lstrip() if marker in text else ""
    specials = sorted({*tokenizer.all_special_tokens, *(str(t) for t in tokenizer.added_tokens_decoder.values())}, key=len, reverse=True)
    for token in specials:
        if token and tail.startswith(token):
            return token
    if tokenizer.eos_token is None:
        raise S1kitError("cannot tell how the chat template ends a turn and the tokenizer has no eos token")
    return tokenizer.eos_token


def prepare_tokenizer(tokenizer, format_name: str, pad_token: str | None, name: str) -> tuple[ChatFormat, str]:
    """Pick the format, give a template-less model ChatML, and set a pad token other than end-of-turn.
    Returns the format and the end-of-turn token."""
    from s1kit.backends.hf import HFTokenizer

    adapter = HFTokenizer(tokenizer, name)
    if not adapter.has_chat_template():
        if format_name == "auto":
            raise S1kitError(f"'{name}' has no chat template, so the format cannot be told from it; set format to "
                             "s1 or think-tags (the model is then trained on, and saved with, a ChatML template)")
        if adapter.single_token_id("<|im_start|>") is None or adapter.single_token_id("<|im_end|>") is None:
            raise S1kitError(f"'{name}' has no chat template and no <|im_start|>/<|im_end|> tokens for a ChatML one; "
                             "fine-tune a chat model, or add a chat_template to its tokenizer_config.json")
        tokenizer.chat_template = CHATML_TEMPLATE
    fmt = resolve_format(format_name, adapter)
    eot = end_of_turn(tokenizer)
    tokenizer.pad_token = choose_pad_token(tokenizer, eot, fmt, pad_token, name)
    return fmt, eot


def choose_pad_token(tokenizer, eot: str, fmt: ChatFormat, requested: str | None, name: str) -> str:
    vocab = tokenizer.get_vocab()
    banned = {eot, tokenizer.eos_token, tokenizer.bos_token, *fmt.single_tokens, *fmt.end_of_thinking}
    if requested is not None:
        if requested not in vocab:
            raise S1kitError(f"pad_token {requested!r} is not in the vocabulary of '{name}'; pick one of its tokens")
        if requested in banned:
            raise S1kitError(f"pad_token {requested!r} is a token the model must learn to emit ({eot} ends a turn); "
                             "pick another, e.g. " + ", ".join(c for c in PAD_CANDIDATES if c in vocab and c not in banned))
        return requested
    candidates = [*PAD_CANDIDATES, tokenizer.pad_token, *tokenizer.all_special_tokens,
                  *(str(t) for t in tokenizer.added_tokens_decoder.values())]
    for token in candidates:
        if token and token in vocab and token not in banned:
            return token
    raise S1kitError(f"'{name}' has no token to pad with besides the ones it must learn to emit; "
                     "set pad_token to a rarely used token of its vocabulary")


def encode_rows(rows: list[Row], tokenizer, fmt: ChatFormat, eot: str, block_size: int,
                system_prompt: str | None = None, answer_prefix: str | None = None) -> Encoded:
    """Tokenize rows into {"input_ids", "labels"}, truncating at block_size and counting what was cut."""
    from s1kit.backends.hf import HFTokenizer

    adapter = HFTokenizer(tokenizer, "model")
    examples, lengths, truncated, dropped = [], [], 0, 0
    for row in rows:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": row.question}]
        prompt = adapter.apply_chat_template(messages)
        # Templates that open thinking themselves (some R1 distills) keep the opener in the prompt.
        opened = prompt.rstrip().endswith(fmt.think_start.strip())
        prompt_ids = adapter.encode(prompt)
        turn, turn_labels = _encode_turn(adapter, assistant_turn(row, fmt, answer_prefix, open_thinking=not opened) + eot,
                                         row.forced, offset=0 if opened else len(fmt.think_start))
        input_ids = prompt_ids + turn
        labels = [IGNORE] * len(prompt_ids) + turn_labels
        lengths.append(len(input_ids))
        if len(input_ids) > block_size:
            truncated += 1
            input_ids, labels = input_ids[:block_size], labels[:block_size]
            if all(label == IGNORE for label in labels):
                dropped += 1
                continue
        examples.append({"input_ids": input_ids, "labels": labels})
    if not examples:
        raise S1kitError(f"every prompt fills block_size {block_size} on its own: nothing left to train on; raise block_size")
    return Encoded(examples, truncated, dropped, max(lengths), lengths)


def _encode_turn(adapter, turn: str, forced: tuple[tuple[int, int], ...], offset: int) -> tuple[list[int], list[int]]:
    """Token ids and labels of the assistant turn; ``forced`` spans (offsets into the thinking, which
    starts at ``offset`` in ``turn``) are tokenized alone, as inference forces them, and get no loss."""
    if not forced:
        ids = adapter.encode(turn)
        return ids, list(ids)
    ids, labels, position = [], [], 0
    for start, end in forced:
        before = adapter.encode(turn[position:offset + start]) if offset + start > position else []
        span = adapter.encode(turn[offset + start:offset + end])
        ids += before + span
        labels += before + [IGNORE] * len(span)
        position = offset + end
    rest = adapter.encode(turn[position:])
    return ids + rest, labels + rest
