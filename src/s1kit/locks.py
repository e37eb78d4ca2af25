"""One writer per output: a lock on a run directory (or an output file) while a command writes it.

The lock is an advisory ``flock`` on a small file beside the outputs, which names the PID that
holds it. The operating system drops the lock when its process ends, however it ends (kill -9
included), so a lock file left by a dead process is simply taken over; a live holder makes the
second command stop with one line naming its PID. A link, or anything but a regular file, at the
lock's path is refused, never opened through (see s1kit.files).

Whoever takes the lock also removes the temporary files a killed writer left (see s1kit.files):
while it holds the lock no other writer of that output is running, so they are nobody's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from s1kit.errors import S1kitError
from s1kit.files import is_temporary, open_regular

LOCK_NAME = ".s1kit.lock"


def lock_path(target: Path) -> Path:
    """Where the lock of ``target`` lives: inside a directory, beside a file."""
    return target / LOCK_NAME if target.is_dir() else target.with_name(f".{target.name}.lock")


def remove_leftovers(target: Path) -> None:
    """Remove the temporary files of ``target`` (in a directory; beside a file) that a killed
    writer left behind."""
    if target.is_dir():
        leftovers = [entry for entry in target.iterdir() if is_temporary(entry)]
    else:
        leftovers = [entry for entry in target.parent.glob(f".{target.name}.*") if is_temporary(entry)]
    for entry in leftovers:
        with contextlib.suppress(OSError):
            entry.unlink()


def open_lock_file(path: Path) -> int:
    """The lock file at ``path`` opened for reading and writing (made if need be), never through a
    link: the lock's truncation would empty the file a planted link points to."""
    try:
        return open_regular(path, os.O_RDWR | os.O_CREAT, f"the lock file {path}",
                            "remove it (s1kit makes its own) and run again")
    except OSError as exc:
        raise S1kitError(f"cannot write the lock file {path} ({exc.strerror}); pass an output path you can write") from None


@contextlib.contextmanager
def locked(target: str | Path, command: str):
    """Hold the lock of ``target`` (an existing directory, or a file path) while the block runs."""
    path = lock_path(Path(target))
    with os.fdopen(open_lock_file(path), "r+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise S1kitError(f"{target} is in use by {holder}; wait for it to finish, or pass another output path") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()} ({command})\n")
        handle.flush()
        remove_leftovers(Path(target))
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
