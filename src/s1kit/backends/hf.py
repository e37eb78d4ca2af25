"""transformers backend: batched KV-cache decoding with budget forcing (one batch: hf_batch.py).

It runs probes beside the sequences (``probes_beside``): a probe branches off its sequence's KV
cache, so it never re-encodes the context.
"""

from __future__ import annotations

from collections.abc import Sequence

from s1kit.backends.hf_batch import run_batch
from s1kit.budget.config import SamplingConfig
from s1kit.errors import S1kitError, require
from s1kit.models import load_causal_lm, load_tokenizer


class HFTokenizer:
    """Adapter from a transformers tokenizer to :class:`s1kit.tokenizers.TokenizerLike`."""

    def __init__(self, tokenizer, name: str, extra_eos: Sequence[int] = ()):
        self.hf = tokenizer
        self.name = name
        eos = {tokenizer.eos_token_id, *extra_eos}
        eos.discard(None)
        self.eos_token_ids = frozenset(eos)
        self._vocab = tokenizer.get_vocab()
        # A fast tokenizer's decode with special tokens kept and no clean-up is its backend's
        # decode; called directly, it skips a per-id type check that costs most of the time of
        # the short decodes a reply's sections and spans make.
        self._backend = getattr(tokenizer, "backend_tokenizer", None)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False)

    def decode(self, ids: Sequence[int]) -> str:
        if self._backend is not None:
            return self._backend.decode(list(ids), skip_special_tokens=False)
        return self.hf.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def single_token_id(self, text: str) -> int | None:
        if text in self._vocab:
            return self._vocab[text]
        ids = self.encode(text)
        return ids[0] if len(ids) == 1 and self.decode(ids) == text else None

    def has_chat_template(self) -> bool:
        return bool(getattr(self.hf, "chat_template", None))

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if not self.has_chat_template():
            raise S1kitError(
                f"'{self.name}' has no chat template; use an instruct/chat model, or set "
                "tokenizer.chat_template in its tokenizer_config.json"
            )
        return self.hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _check_device(torch, device: str) -> None:
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise S1kitError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise S1kitError(f"device '{device}' asked for, but torch sees no CUDA GPU; use --device cpu (or auto)")


def tokenizer_with_generation_eos(path: str, name: str) -> HFTokenizer:
    """The tokenizer in ``path`` with the end-of-turn ids of its generation_config.json added (what
    the hf backend stops at), for code that has no model object: an HTTP client, the server.
    Raises the loader's OSError or ValueError when ``path`` holds no tokenizer."""
    transformers = require("transformers", "hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(path)
    try:
        eos = transformers.GenerationConfig.from_pretrained(path).eos_token_id
    except (OSError, ValueError):
        eos = None  # no generation_config.json: the tokenizer's eos is all there is
    return HFTokenizer(hf_tok, name=name, extra_eos=[] if eos is None else [eos] if isinstance(eos, int) else list(eos))


def _generation_eos(model) -> list[int]:
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        return []
    return [eos] if isinstance(eos, int) else list(eos)


class HFBackend:
    """A transformers causal LM (any hub id, local directory, or built-in alias)."""

    name = "hf"
    records_scores = True
    """It records a state's TokenScores when the state asks (probes, confidence methods)."""
    probes_beside = True
    """Probes run beside their sequences (hf_batch.py), not after them."""

    def __init__(self, model: str = "smollm2-135m", device: str = "auto", dtype: str = "auto", model_obj=None, tokenizer_obj=None):
        torch = require("torch", "hf")
        self.torch = torch
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        _check_device(torch, self.device)
        if model_obj is not None:
            self.model, hf_tok = model_obj, tokenizer_obj
        else:
            dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
            if dtype == "auto":
                # fp32 on CPU: greedy outputs then match across backends token for token.
                torch_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
            elif dtype in dtypes:
                torch_dtype = dtypes[dtype]
            else:
                raise S1kitError(f"unknown dtype '{dtype}'; choose from auto, {', '.join(dtypes)}")
            hf_tok = load_tokenizer(model)
            self.model = load_causal_lm(model, torch_dtype)
            self.model.to(self.device)
        self.model.eval()
        self.tokenizer = HFTokenizer(hf_tok, name=model if isinstance(model, str) else "model", extra_eos=_generation_eos(self.model))
        self.pad_id = hf_tok.pad_token_id if hf_tok.pad_token_id is not None else min(self.tokenizer.eos_token_ids)
        self.context_length = getattr(self.model.config, "max_position_embeddings", None)

    def text_mode(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to stop: the model lives in this process and goes with the object."""

    def _choose(self, logits, rows: list[int], sampling: SamplingConfig, generators: list):
        """The model's pick for each active row: argmax, or a draw from that row's own generator."""
        torch = self.torch
        if sampling.greedy:
            return logits.argmax(-1).tolist()
        probs = torch.softmax(logits.float() / sampling.temperature, dim=-1)
        if sampling.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # Keep a token if the mass before it is below top_p (the top token always stays).
            drop = sorted_probs.cumsum(-1) - sorted_probs >= sampling.top_p
            sorted_probs = sorted_probs.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        return [int(torch.multinomial(probs[j], 1, generator=generators[r])) for j, r in enumerate(rows)]

    def run(self, prompt_ids, states, sampling: SamplingConfig, seeds, batch_size: int = 16, progress: bool = True) -> None:
        from s1kit.progress import progress as counter

        order = sorted(range(len(prompt_ids)), key=lambda i: -len(prompt_ids[i]))  # similar lengths share a batch
        bar = counter(len(prompt_ids), "generating", "seq", enabled=progress)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            run_batch(self, [prompt_ids[i] for i in idx], [states[i] for i in idx], sampling, [seeds[i] for i in idx], bar)
        bar.close()
