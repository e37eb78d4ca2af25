"""Output files written whole or not at all: a reader (a later run, a resume) sees the old file or
the new one, never half of one, however the writer stops (kill -9 included).

Each file is written to a temporary file beside it, flushed to the disk, then renamed over the
target; a rename within a directory is atomic.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


TEMPORARY = re.compile(r"\..+\.tmp(\.[^.]*)?")
"""The names of :func:`replacing`'s temporary files: ``.NAME.RANDOM.tmp.EXT``, hidden beside NAME."""


def is_temporary(path: str | Path) -> bool:
    """A temporary file of :func:`replacing`, as a kill leaves it: never an output."""
    return TEMPORARY.fullmatch(Path(path).name) is not None


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same extension, for writers that go by it) to write in the
    block; it replaces ``path`` when the block ends without an error, and is removed otherwise."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        written = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(written)  # on the disk before the rename makes it the file
        finally:
            os.close(written)
        # mkstemp makes the file private (0600); keep the mode the replaced file had.
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """``text`` as the whole content of ``path`` (UTF-8)."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
