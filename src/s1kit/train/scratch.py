"""A model trained from scratch: a tokenizer built with `tokenizers` and a model config from a file.

The built-in tokenizers are byte-level: one token per UTF-8 byte (so digits are single tokens and
any text encodes), plus the ChatML special tokens ``<|endoftext|>`` (padding), ``<|im_start|>``
and ``<|im_end|>`` (end of turn), at the ids SmolLM2 gives them. The s1 format
(``<|im_start|>think`` ... ``<|im_start|>answer``) is then expressible as it is, and the tokenizer
saves as an ordinary ``tokenizer.json`` that transformers, vLLM and every s1kit backend load.

- ``bytes``: just that (259 tokens).
- ``bpe:N``: a byte-level BPE of at most N tokens trained on the run's training texts: runs of
  letters merge into words (``assistant``, ``think``, ``Answer``), while digits, spaces and
  punctuation stay single bytes, so numbers keep one token per digit. Shorter sequences train faster.
- ``bytes-tags``: also one merged token for each tagged item ``A1`` ... ``L9`` of s1kit's synth
  problems (367 tokens). A model then reads an item's tag and value from one position, so finding
  item C in a list is one attention lookup instead of a two-layer induction circuit; a 3M-parameter
  model trained from scratch learns it several times faster on a CPU.

A model config is a YAML (or JSON) mapping: ``model_type`` (default ``llama``) and the fields of
that transformers config class. Vocabulary size and special-token ids come from the tokenizer.
Unknown keys and shapes that cannot work are refused with one line before anything is built.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from s1kit.errors import S1kitError, check_positive_int, one_line, require
from s1kit.formats import CHATML_TEMPLATE

TAG_MERGES = tuple((tag, digit) for tag in "ABCDEFGHIJKL" for digit in "123456789")
BUILTIN_TOKENIZERS = {"bytes": (), "bytes-tags": TAG_MERGES}
"""Built-in tokenizer name -> the byte pairs it merges into single tokens."""
PAD, BOS_TURN, END_TURN = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (PAD, BOS_TURN, END_TURN)
POSITIVE_FIELDS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                   "num_key_value_heads", "head_dim", "max_position_embeddings")


def build_byte_tokenizer(merges=()):
    """A byte-level tokenizer with the ChatML tokens as a transformers fast tokenizer (deterministic:
    no training); ``merges`` are pairs of single-byte characters that become one token each."""
    tokenizers = require("tokenizers", "train")
    transformers = require("transformers", "train")
    from tokenizers import decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    vocab.update({symbol: len(SPECIAL_TOKENS) + i for i, symbol in enumerate(alphabet)})
    for left, right in merges:
        vocab[left + right] = len(vocab)
    # The whole text is one pre-token (no regex split), so a listed pair merges wherever it occurs.
    core = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=list(merges)))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    return _wrap(transformers, core)


def _wrap(transformers, core):
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=END_TURN, pad_token=PAD, unk_token=None, bos_token=None,
        model_max_length=1 << 20, clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def train_bpe_tokenizer(texts, vocab_size: int):
    """A byte-level BPE trained on ``texts`` with `tokenizers`: runs of letters merge into words
    (``assistant``, ``think``, ``Answer``); digits, spaces and punctuation stay one byte each, so
    numbers keep one token per digit. The ChatML tokens come first, at ids 0, 1, 2."""
    tokenizers = require("tokenizers", "train")
    transformers = require("transformers", "train")
    from tokenizers import Regex, decoders, models, pre_tokenizers, trainers

    core = tokenizers.Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[^A-Za-z]"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(texts, trainer)
    return _wrap(transformers, core)


def bpe_size(spec: str) -> int | None:
    """N of a ``bpe:N`` spec (a BPE of at most N tokens trained on the training texts), else None."""
    if not spec.startswith("bpe:"):
        return None
    size = spec[4:]
    if not size.isdigit() or not len(SPECIAL_TOKENS) + 256 <= int(size) <= 1 << 20:
        raise S1kitError(f"tokenizer {spec!r}: write bpe:N with N from {len(SPECIAL_TOKENS) + 256} "
                         "(the bytes and ChatML tokens) up, e.g. bpe:400")
    return int(size)


def load_tokenizer(spec: str, texts=None):
    """A built-in tokenizer by name, ``bpe:N`` trained on ``texts``, or the tokenizer saved in a
    directory (tokenizer.json and its config)."""
    if spec in BUILTIN_TOKENIZERS:
        return build_byte_tokenizer(BUILTIN_TOKENIZERS[spec])
    size = bpe_size(spec)
    if size is not None:
        if texts is None:
            raise S1kitError(f"tokenizer {spec!r} is trained on the training data, and none was given")
        return train_bpe_tokenizer(texts, size)
    path = Path(spec)
    if not path.is_dir():
        raise S1kitError(f"tokenizer {spec!r} is neither a built-in tokenizer ({', '.join(BUILTIN_TOKENIZERS)}) "
                         "nor a directory; pass tokenizer: bytes, bpe:N, or a directory holding tokenizer.json")
    if not (path / "tokenizer.json").is_file():
        raise S1kitError(f"tokenizer directory {spec} holds no tokenizer.json; save one with "
                         "tokenizer.save_pretrained(DIR), or use tokenizer: bytes")
    transformers = require("transformers", "train")
    try:
        return transformers.AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise S1kitError(f"could not load the tokenizer in {spec}: {one_line(exc)}") from None


def read_model_config(path: str | Path) -> dict:
    """The mapping a model config file holds (YAML or JSON), checked to be a mapping."""
    file = Path(path)
    if not file.is_file():
        raise S1kitError(f"model_config {path} does not exist; point it at a YAML file such as recipes/nano/model.yaml")
    yaml = require("yaml", "train")
    from s1kit.recipes import parse_yaml, yaml_problem

    try:
        data = parse_yaml(file.read_text(encoding="utf-8"), f"model_config {path}")  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise S1kitError(f"model_config {path} is not valid YAML or JSON: {yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise S1kitError(f"model_config {path} must be a mapping of config fields, got {type(data).__name__}")
    return data


def model_config(values: dict, tokenizer, where: str = "model_config"):
    """A transformers config from ``values`` for ``tokenizer``: vocabulary and special ids from it."""
    from s1kit.recipes import check_keys

    transformers = require("transformers", "train")
    values = dict(values)
    model_type = values.pop("model_type", "llama")
    try:
        config_class = transformers.AutoConfig.for_model(model_type).__class__
    except ValueError:
        raise S1kitError(f"{where}: unknown model_type {model_type!r}; use a transformers model type such as llama, "
                         "qwen2 or mistral") from None
    known = [name for name in inspect.signature(config_class.__init__).parameters if name not in ("self", "kwargs")]
    check_keys(values, known, config_class.__name__, where, detail=f" for model_type {model_type}")
    for name in POSITIVE_FIELDS:
        value = values.get(name)
        if value is not None:
            check_positive_int(f"{where}: {name}", value)
    hidden, heads = values.get("hidden_size"), values.get("num_attention_heads")
    if hidden and heads and hidden % heads:
        raise S1kitError(f"{where}: hidden_size {hidden} is not divisible by num_attention_heads {heads}; "
                         f"pick a multiple of {heads} (e.g. {hidden // heads * heads or heads}) or another head count")
    kv_heads = values.get("num_key_value_heads")
    if heads and kv_heads and heads % kv_heads:
        raise S1kitError(f"{where}: num_attention_heads {heads} is not divisible by num_key_value_heads {kv_heads}")
    size = len(tokenizer)
    if values.get("vocab_size", size) < size:
        raise S1kitError(f"{where}: vocab_size {values['vocab_size']} is smaller than the tokenizer's {size} tokens; "
                         "leave vocab_size out (it is taken from the tokenizer)")
    values.setdefault("vocab_size", size)
    ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
           "bos_token_id": tokenizer.bos_token_id}
    values.update({key: value for key, value in ids.items() if key in known})
    try:
        return config_class(**values)
    except (TypeError, ValueError) as exc:  # transformers' own checks (e.g. strict dataclass validators)
        message = " ".join(str(exc).split())
        raise S1kitError(f"{where}: {message[:300]}") from None


def chatml_texts(rows, answer_prefix: str | None, system_prompt: str | None = None):
    """Each training row as the whole text a ChatML model sees in the s1 format (what bpe:N trains on)."""
    from s1kit.formats import FORMATS
    from s1kit.train.data import assistant_turn

    for row in rows:
        system = f"{BOS_TURN}system\n{system_prompt}{END_TURN}\n" if system_prompt else ""
        yield (f"{system}{BOS_TURN}user\n{row.question}{END_TURN}\n{BOS_TURN}assistant\n"
               + assistant_turn(row, FORMATS["s1"], answer_prefix) + END_TURN)


def new_model(config, seed: int):
    """A randomly initialised causal LM of ``config``, the same weights for the same seed."""
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    return model


def describe(model) -> str:
    return f"{model.config.model_type} model with {sum(p.numel() for p in model.parameters()):,} parameters"
