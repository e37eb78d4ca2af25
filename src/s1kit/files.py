"""Output files written whole or not at all: a reader (a later run, a resume) sees the old file or
the new one, never half of one, however the writer stops (kill -9 included).

Each file is written to a temporary file beside it, flushed to the disk, then renamed over the
target; a rename within a directory is atomic.

Nothing is written through a link found at an output path (someone else may have planted it, to
have a command overwrite the file it points to): a whole file replaces the link itself, and an
append (:func:`open_append`) or a lock file refuses it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from s1kit.errors import S1kitError

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
        os.chmod(temporary, _kept_mode(path))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _kept_mode(path: Path) -> int:
    """The mode a rewritten ``path`` gets (mkstemp makes it private, 0600): the permissions the
    replaced regular file had, else 0644. Read with lstat, so a link's target lends nothing; and
    never a setuid, setgid or sticky bit, which an output has no business carrying."""
    try:
        old = os.lstat(path)
    except FileNotFoundError:
        return 0o644
    return old.st_mode & 0o777 if stat.S_ISREG(old.st_mode) else 0o644


def open_regular(path: str | Path, flags: int, name: str, fix: str) -> int:
    """A descriptor of the regular file at ``path`` opened with ``flags`` (O_CREAT makes it), never
    through a link; O_NONBLOCK keeps a FIFO found there from blocking. A link there, or anything but
    a regular file, is one line naming the file as ``name`` and ending with how to ``fix`` it."""
    flags |= os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise S1kitError(f"{name} is a symbolic link; {fix}") from None
        if exc.errno in (errno.EISDIR, errno.ENXIO, errno.EOPNOTSUPP):
            raise S1kitError(f"{name} is not a regular file; {fix}") from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise S1kitError(f"{name} is not a regular file; {fix}")
    return descriptor


def open_append(path: str | Path):
    """``path`` opened to append UTF-8 text (made if need be): a regular file, never a link's target."""
    descriptor = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, str(path),
                              "remove it or pass another output path")
    return os.fdopen(descriptor, "a", encoding="utf-8")


def write_text(path: str | Path, text: str) -> None:
    """``text`` as the whole content of ``path`` (UTF-8)."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
