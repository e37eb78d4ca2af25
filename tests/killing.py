"""kill -9 at chosen points of real `s1kit` processes, without paying for torch's import each time.

A helper process imports the heavy modules once, then forks a fresh child for every run; the child
runs the `s1kit` command line. It is killed with SIGKILL (or sent another signal) in one of two ways:

- by the test, after a delay or once a condition holds: any point of the work, a long write included;
- by itself, at a chosen change under a watched path (a file opened for writing, a rename, a
  removal, a directory made or removed), by its number or by what it changes: the boundaries
  between writes, which a timer almost never hits. At an open for writing it first does to the file
  what the open would do (truncate or create it), so a writer that overwrites a file in place is
  caught with that file empty.

The helper reaps a child only when the test says so, so a signal can never reach a reused PID.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclass
class Run:
    returncode: int
    """The exit code; minus the signal's number when a signal ended it (as subprocess reports)."""
    stdout: str
    stderr: str
    changes: list[str] | None
    """The changes it made under the watched path, for a run that ended by itself: "event path",
    the path relative to the watched one (e.g. "open checkpoint-2/trainer_state.json")."""
    killed_at: str | None
    """The change it was killed at, if it killed itself."""
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


class Forker:
    """Runs `s1kit ARGS` in children forked from one process that imported ``preload`` once."""

    def __init__(self, preload: Sequence[str], logs: Path):
        self.logs = Path(logs)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.count = 0
        # Idle OpenMP threads sleep instead of spinning: spinning ones, on a machine shared with
        # other work, made torch many times slower.
        self.process = subprocess.Popen([sys.executable, __file__, *preload], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1,
                                       env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})

    def run(self, argv: Sequence[str], *, watch: Path | None = None, kill_at_change: int | str | None = None,
            kill_after: float | None = None, when: Callable[[], bool] | None = None,
            send: signal.Signals = signal.SIGKILL, timeout: float = 300) -> Run:
        """One run of `s1kit ARGV`: to its end, or until a signal ends it (``send`` after
        ``kill_after`` seconds or once ``when()`` holds; SIGKILL by itself at ``kill_at_change``
        under ``watch``: its number, or the first whose description (as in :attr:`Run.changes`)
        holds this text)."""
        self.count += 1
        out, err = self.logs / f"{self.count}.out", self.logs / f"{self.count}.err"
        self._send({"argv": [str(a) for a in argv], "watch": str(watch) if watch else None,
                    "kill_at_change": kill_at_change, "stdout": str(out), "stderr": str(err)})
        pid, start = self._receive()["pid"], time.monotonic()
        child = os.pidfd_open(pid)  # refers to this child until it is reaped
        pending, overran = kill_after is not None or when is not None, False
        try:
            while not select.select([child], [], [], 0.005)[0]:
                elapsed = time.monotonic() - start
                if elapsed >= timeout and not overran:
                    pending, overran = True, True
                    send = signal.SIGKILL
                if pending and (overran or (elapsed >= kill_after if kill_after is not None else when())):
                    try:
                        signal.pidfd_send_signal(child, send)
                    except ProcessLookupError:  # it ended just now
                        pass
                    pending = False
        finally:
            os.close(child)
        seconds = time.monotonic() - start
        self._send({"reap": pid})
        ended = self._receive()
        assert not overran, f"s1kit {' '.join(map(str, argv))} ran over {timeout} s: {err.read_text()[-2000:]}"
        return Run(ended["returncode"], out.read_text(), err.read_text(), ended["changes"], ended["killed_at"], seconds)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the helper ends at the end of its input
            self.process.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def _receive(self) -> dict:
        line = self.process.stdout.readline()
        assert line, "the forking helper died"
        return json.loads(line)


class Changes:
    """An audit hook counting changes under ``watch``; at change ``kill_at`` the process SIGKILLs itself."""

    def __init__(self, watch: str, kill_at: int | str | None, record: str):
        self.watch, self.kill_at, self.record = os.path.abspath(watch), kill_at, record
        self.changes: list[str] = []
        self.killing = False  # the hook's own file operations are not the run's changes

    def __call__(self, event: str, args: tuple) -> None:
        if self.killing:
            return
        if event == "open":
            path, flags = args[0], args[2]
            if not flags & WRITE_FLAGS:
                return
        elif event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "sqlite3.connect",
                       "os.truncate", "shutil.copyfile"):
            path, flags = args[0], 0
            if event in ("os.rename", "shutil.copyfile") and not self._watched(path):
                path = args[1]
        else:
            return
        if not self._watched(path) or event == "os.mkdir" and os.path.isdir(path):  # makedirs(exist_ok=True)
            return
        self.changes.append(f"{event} {os.path.relpath(os.path.abspath(os.fsdecode(path)), self.watch)}")
        if self.kill_at == len(self.changes) or isinstance(self.kill_at, str) and self.kill_at in self.changes[-1]:
            self.killing = True
            self.save(killed_at=self.changes[-1])
            if flags & (os.O_CREAT | os.O_TRUNC) and not os.path.isdir(path):
                try:  # what the open does to the file, before anything is written to it
                    os.close(os.open(path, flags & (WRITE_FLAGS | os.O_EXCL)))
                except OSError:
                    pass
            os.kill(os.getpid(), signal.SIGKILL)

    def save(self, killed_at: str | None = None) -> None:
        with open(self.record, "w") as record:  # not under the watched path: no change of its own
            json.dump({"changes": None if killed_at else self.changes, "killed_at": killed_at}, record)

    def _watched(self, path) -> bool:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        path = os.path.abspath(os.fsdecode(path))
        return path == self.watch or path.startswith(self.watch + os.sep)


def child(request: dict) -> None:
    """The forked child: run the command line with its output in files, then leave without cleanup."""
    code, changes = 1, None
    # Ctrl-C as a terminal delivers it: a suite started as a background job inherits SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        if request["watch"]:
            changes = Changes(request["watch"], request["kill_at_change"], request["stderr"] + ".changes")
            sys.addaudithook(changes)
        from s1kit.cli import main

        sys.argv = ["s1kit", *request["argv"]]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if changes is not None:
            changes.save()
        os._exit(code)


def helper(preload: Sequence[str]) -> None:
    """Import ``preload``, then fork a child per request; reap it when asked."""
    for name in preload:
        importlib.import_module(name)
    import s1kit.cli  # noqa: F401

    reply = sys.stdout
    while line := sys.stdin.readline():
        request = json.loads(line)
        reply.flush()
        pid = os.fork()
        if pid == 0:
            child(request)
        reply.write(json.dumps({"pid": pid}) + "\n")
        reply.flush()
        assert json.loads(sys.stdin.readline()) == {"reap": pid}
        _, status = os.waitpid(pid, 0)
        record = Path(request["stderr"] + ".changes")
        changes = json.loads(record.read_text()) if record.exists() else {"changes": None, "killed_at": None}
        reply.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status), **changes}) + "\n")
        reply.flush()


if __name__ == "__main__":
    helper(sys.argv[1:])
