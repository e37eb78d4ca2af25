"""Loading a dataset from the Hugging Face hub, with errors that say what went wrong and what to do.

One place for every hub read (benchmark tasks, curation pools, training data): gated datasets,
an unreachable or offline hub, and a missing dataset or split each get their own message, ending
with the local-file alternative the caller names.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1kit.errors import S1kitError, require


def load_dataset(hub_id: str, split: str, config: str | None = None, *, what: str, local: str,
                 extra: str = "eval", gated: bool = False):
    """``datasets.load_dataset(hub_id, config, split=split)``; failures become an :class:`S1kitError`.

    ``what`` names the thing being loaded in messages ("aime24", "pool"); ``local`` says how to use
    a local file instead; ``gated`` marks a dataset known to need an access request.
    """
    datasets = require("datasets", extra)
    try:
        return datasets.load_dataset(hub_id, config, split=split)
    except OSError as exc:  # gated, not found and offline errors all derive from OSError
        raise hub_error(exc, hub_id, what=what, local=local, gated=gated) from exc
    except ValueError as exc:  # an unknown split or config
        raise S1kitError(f"{what}: {hub_id} has no split {split!r}"
                         f"{f' in config {config!r}' if config else ''} ({exc}); pick one it has, or {local}") from None


def hub_error(exc: OSError, hub_id: str, *, what: str, local: str, gated: bool = False) -> S1kitError:
    from huggingface_hub.utils import GatedRepoError

    url = f"https://huggingface.co/datasets/{hub_id}"
    chain = list(_chain(exc))
    status = {getattr(getattr(e, "response", None), "status_code", None) for e in chain}
    if any(isinstance(e, GatedRepoError) for e in chain) or "gated" in str(exc).lower() or (gated and status & {401, 403}):
        return S1kitError(
            f"{what}: the hub dataset {hub_id} is gated and this login has no access to it ({exc}); "
            f"request access on {url}, log in with `hf auth login` (or set HF_TOKEN), or {local}"
        )
    if any(isinstance(e, (ConnectionError, TimeoutError)) or "Offline" in type(e).__name__ for e in chain):
        return S1kitError(f"{what}: could not reach the Hugging Face hub for {hub_id} ({exc}); work offline: {local}")
    return S1kitError(f"{what}: could not load {hub_id} from the hub ({type(exc).__name__}: {exc}); check {url}, or {local}")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__
