"""Which tokens the engine forced in place of an end of thinking, told through a small file.

The replay of a budget-forced reply follows from its tokens alone except at one kind of position:
where the model picked an end of thinking and the engine forced the wait string (or the answer
opener) instead, which looks exactly like text the model wrote. Per-token logprobs can carry that
mark (forcing_channel.py), but they cost the server's front end work on every token. A request
that makes one sequence on an engine on the same host uses this channel instead:

- the server names a directory in ``$S1KIT_MARKS_DIR`` (``s1kit serve`` makes one per server, with a
  random name; its front end takes only a real directory of its own user that no one else may
  enter, so another local user can neither plant nor read one);
- the request's spec carries a random key; the engine's processor creates ``DIR/KEY`` when it takes
  the request, and appends ``POSITION 1`` each time it forces a replacement there (``POSITION 0``
  when a later pass over the same position decides otherwise: partial prefills are redone);
- the front end reads the file after the tokens arrive and deletes it when the reply is done.

The engine writes a mark before it samples the token, and the token reaches the front end only
after that step, so a reader that has a token always finds its mark. Writes are a few per request,
not one per token. Every open refuses a link and never blocks (``O_NOFOLLOW | O_NONBLOCK``), takes
only a regular file, and every read is bounded: a file that is not one the engine wrote is an
error, never a path to another file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from s1kit.errors import S1kitError

ENV = "S1KIT_MARKS_DIR"
SPEC_KEY = "marks"
"""Key of the marks file's name in a request's spec (forcing_channel.request_spec)."""
_KEY = re.compile(r"[0-9a-f]{32}")
SERVER_PREFIX = "s1kit-marks-"
"""``s1kit serve``'s directories are SERVER_PREFIX + the server's PID + "-" + random characters."""
MAX_BYTES = 1 << 22
"""Most bytes a marks file may hold: a few short lines per forced replacement."""
_SAFE_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
log = logging.getLogger("s1kit.marks_file")


def configured_dir() -> Path | None:
    """The directory this process's server shares with its engine, or None (no marks files)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def new_key() -> str:
    return secrets.token_hex(16)


def is_key(key) -> bool:
    """Whether ``key`` is one :func:`new_key` makes: nothing else may name a file."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def file_for(directory: Path, key) -> Path | None:
    """The marks file of ``key``, or None when the key is not one this channel makes (a client
    naming its own spec cannot point the engine at any other file)."""
    return directory / key if is_key(key) else None


class MarksWriter:
    """The engine's side for one sequence: a mark per position, written only when it changes.

    It runs inside the engine's step, so it never raises: a file it cannot write is logged, and the
    front end, which then misses marks, reports the reply as failed."""

    def __init__(self, path: Path):
        self.path = path
        self.written: dict[int, bool] = {}
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE_OPEN, 0o600))
        except FileExistsError:
            pass  # another tensor-parallel rank, or a request resumed after preemption
        except OSError as exc:
            log.error("s1kit: cannot make the marks file %s (%s)", path, exc.strerror)

    def note(self, position: int, replaced: bool) -> None:
        """The decision at ``position``: whether the engine forced a replacement for an end there."""
        if self.written.get(position, False) == replaced:
            return
        self.written[position] = replaced
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | _SAFE_OPEN)
        except OSError as exc:
            if exc.errno != errno.ENOENT:  # ENOENT: the front end is done with this request
                log.error("s1kit: cannot open the marks file %s (%s)", self.path, exc.strerror)
            return
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.write(fd, f"{position} {int(replaced)}\n".encode())
            else:
                log.error("s1kit: the marks file %s is not a regular file; not written", self.path)
        except OSError as exc:
            log.error("s1kit: cannot write the marks file %s (%s)", self.path, exc.strerror)
        finally:
            os.close(fd)


def read_marks(path: Path) -> set[int]:
    """Positions the engine forced a replacement at; one line if the engine never made the file or
    the file is not one it wrote."""
    try:
        fd = os.open(path, os.O_RDONLY | _SAFE_OPEN)
    except FileNotFoundError:
        raise S1kitError(f"the engine wrote no marks file {path}: the engine and the server's front end must share "
                         f"a host and ${ENV}, and the engine must load s1kit's logits processor") from None
    except OSError as exc:
        raise S1kitError(f"the marks file {path} cannot be opened ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise S1kitError(f"the marks file {path} is not a regular file")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise S1kitError(f"the marks file {path} holds more than {MAX_BYTES} bytes; the engine writes a few lines")
    marks: dict[int, bool] = {}
    for line in data.split(b"\n")[:-1]:  # a last line still being written ends with no newline
        position, _, value = line.partition(b" ")
        if not position.isdigit() or value not in (b"0", b"1"):
            raise S1kitError(f"the marks file {path} holds a line the engine does not write")
        marks[int(position)] = value == b"1"
    return {position for position, replaced in marks.items() if replaced}


def check_dir(directory: Path) -> None:
    """Make ``directory`` if it is not there; refuse one that is not a real directory of this user
    that only this user may enter (another local user could plant files or read them there)."""
    try:
        directory.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise S1kitError(f"${ENV}={directory} is not a directory (a link or a file); name a private directory or unset it")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise S1kitError(f"${ENV}={directory} belongs to uid {info.st_uid} with mode {stat.S_IMODE(info.st_mode):o}; "
                         f"it must be this user's (uid {os.getuid()}) with mode 700: name a private directory or unset it")


def remove_dir(directory: Path) -> None:
    """Remove the directory if nothing is left in it (a user's own directory with other files stays)."""
    try:
        directory.rmdir()
    except OSError:
        pass


def base_dir() -> Path:
    """Where servers' directories go: in memory (/dev/shm) where the host has it, else the temp dir."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def make_server_dir(pid: int) -> Path:
    """A new private directory for the server of ``pid``, with a name no one can guess beforehand."""
    return Path(tempfile.mkdtemp(prefix=f"{SERVER_PREFIX}{pid}-", dir=base_dir()))


def server_dirs(pid: int, base: Path | None = None) -> list[Path]:
    """The directories made for the server of ``pid``."""
    return sorted((base or base_dir()).glob(f"{SERVER_PREFIX}{pid}-*"))


def remove_stale_dirs(base: Path) -> None:
    """Remove the directories of this user's servers that are gone (killed before their shutdown)."""
    for path in base.glob(f"{SERVER_PREFIX}*"):
        pid = path.name[len(SERVER_PREFIX):].partition("-")[0]
        try:
            info = path.lstat()
        except OSError:
            continue
        if not pid.isdigit() or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or _alive(int(pid)):
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
