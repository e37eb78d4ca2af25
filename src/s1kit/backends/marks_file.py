"""Which tokens the engine forced in place of an end of thinking, told through a small file.

The replay of a budget-forced reply follows from its tokens alone except at one kind of position:
where the model picked an end of thinking and the engine forced the wait string (or the answer
opener) instead, which looks exactly like text the model wrote. Per-token logprobs can carry that
mark (forcing_channel.py), but they cost the server's front end work on every token. A request
that makes one sequence on an engine on the same host uses this channel instead:

- the server names a directory in ``$S1KIT_MARKS_DIR`` (``s1kit serve`` makes one per server);
- the request's spec carries a random key; the engine's processor creates ``DIR/KEY`` when it takes
  the request, and appends ``POSITION 1`` each time it forces a replacement there (``POSITION 0``
  when a later pass over the same position decides otherwise: partial prefills are redone);
- the front end reads the file after the tokens arrive and deletes it when the reply is done.

The engine writes a mark before it samples the token, and the token reaches the front end only
after that step, so a reader that has a token always finds its mark. Writes are a few per request,
not one per token.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from s1kit.errors import S1kitError

ENV = "S1KIT_MARKS_DIR"
SPEC_KEY = "marks"
"""Key of the marks file's name in a request's spec (forcing_channel.request_spec)."""
_KEY = re.compile(r"[0-9a-f]{32}")
SERVER_PREFIX = "s1kit-marks-"
"""``s1kit serve``'s directories are SERVER_PREFIX + the server's PID."""


def configured_dir() -> Path | None:
    """The directory this process's server shares with its engine, or None (no marks files)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def new_key() -> str:
    return secrets.token_hex(16)


def file_for(directory: Path, key) -> Path | None:
    """The marks file of ``key``, or None when the key is not one this channel makes (a client
    naming its own spec cannot point the engine at any other file)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return None
    return directory / key


class MarksWriter:
    """The engine's side for one sequence: a mark per position, written only when it changes."""

    def __init__(self, path: Path):
        self.path = path
        self.written: dict[int, bool] = {}
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another tensor-parallel rank, or a request resumed after preemption

    def note(self, position: int, replaced: bool) -> None:
        """The decision at ``position``: whether the engine forced a replacement for an end there."""
        if self.written.get(position, False) == replaced:
            return
        self.written[position] = replaced
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return  # the front end is done with this request (the client went away)
            raise
        try:
            os.write(fd, f"{position} {int(replaced)}\n".encode())
        finally:
            os.close(fd)


def read_marks(path: Path) -> set[int]:
    """Positions the engine forced a replacement at; one line if the engine never made the file."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise S1kitError(f"the engine wrote no marks file {path}: the engine and the server's front end must share "
                         f"a host and ${ENV}, and the engine must load s1kit's logits processor") from None
    marks: dict[int, bool] = {}
    for line in text.split("\n")[:-1]:  # a last line still being written ends with no newline
        position, _, value = line.partition(" ")
        marks[int(position)] = value == "1"
    return {position for position, replaced in marks.items() if replaced}


def prepare_dir(directory: Path) -> None:
    """Make the directory (only this user may read it)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def remove_dir(directory: Path) -> None:
    """Remove the directory if nothing is left in it (a user's own directory with other files stays)."""
    try:
        directory.rmdir()
    except OSError:
        pass


def server_dir(pid: int | None) -> Path:
    """A server's own directory: in memory (/dev/shm) where the host has it, else the temp dir.
    None: the one a command line printed for a plain ``vllm serve`` names (no PID in it)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / (f"{SERVER_PREFIX}{pid}" if pid is not None else SERVER_PREFIX.rstrip("-"))


def remove_stale_dirs(base: Path) -> None:
    """Remove the directories of this user's servers that are gone (killed before their shutdown)."""
    for path in base.glob(f"{SERVER_PREFIX}*"):
        pid = path.name[len(SERVER_PREFIX):]
        if not pid.isdigit() or not path.is_dir() or path.stat().st_uid != os.getuid() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
