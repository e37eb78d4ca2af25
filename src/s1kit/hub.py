"""Loading a dataset from the Hugging Face hub, with errors that say what went wrong and what to do.

One place for every hub read (benchmark tasks, curation pools, training data): gated datasets,
an unreachable or offline hub, and a missing dataset or split each get their own message, ending
with the local-file alternative the caller names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from s1kit.errors import S1kitError, one_line, require

PROBE_SECONDS = 5.0
"""How long the one try to reach the hub may take."""

_reachable: bool | None = None
"""Whether this process found the hub reachable (None: not tried yet)."""


def offline_unless_reachable() -> None:
    """Before the first hub look-up of this process, try once to reach the hub. When it does not
    answer, the hub libraries work offline from here on, as with HF_HUB_OFFLINE=1: what the local
    cache holds still loads, and anything else fails at once with the usual message, instead of
    after huggingface_hub's retries (up to a minute of "Retrying in 8s" per file)."""
    global _reachable
    if _reachable is not None:
        return
    try:
        from huggingface_hub import constants
        from huggingface_hub.utils import get_session
    except ImportError:
        return  # no hub library, so nothing will look anything up there
    if constants.HF_HUB_OFFLINE:
        _reachable = False
        return
    try:
        get_session().head(constants.ENDPOINT, timeout=PROBE_SECONDS)
        _reachable = True
    except Exception as exc:  # whatever the HTTP client raises: no answer means unreachable
        _reachable = False
        work_offline()
        print(f"warning: the Hugging Face hub at {constants.ENDPOINT} does not answer ({type(exc).__name__}: "
              f"{one_line(exc, 200)}); working offline: only models and datasets in the local cache load",
              file=sys.stderr)


def work_offline() -> None:
    """Offline mode for the hub libraries: those loaded read it now, those loaded later and child
    processes (vLLM's engine) read it from the environment."""
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        sys.modules["datasets"].config.HF_HUB_OFFLINE = True


def load_dataset(hub_id: str, split: str, config: str | None = None, *, what: str, local: str,
                 extra: str = "eval", gated: bool = False):
    """``datasets.load_dataset(hub_id, config, split=split)``; failures become an :class:`S1kitError`.

    ``what`` names the thing being loaded in messages ("aime24", "pool"); ``local`` says how to use
    a local file instead; ``gated`` marks a dataset known to need an access request.
    """
    datasets = require("datasets", extra)
    offline_unless_reachable()
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
