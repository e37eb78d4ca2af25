"""Running a function under a time limit, from any thread.

Grading calls libraries that can run for as long as they like on a pathological answer (sympy on
``9^{9^{9^{9^{9}}}}``), so every such call goes through :func:`call_with_time_limit`, which gives
back the function's result or :data:`TIMED_OUT`. math-verify's own limit uses ``signal.alarm``
(whole seconds, main thread only, and it hides the timeout), so s1kit switches it off and enforces
this one:

- in the main thread, ``signal.setitimer`` raises an exception that derives from ``BaseException``
  (so no ``except Exception`` in sympy or math-verify swallows it); a timer that pytest-timeout or
  the caller had armed is restored afterwards. Limit: a signal is handled between Python bytecodes,
  so one long call into C (say one huge integer power inside CPython) finishes before it fires;
- in any other thread (signals are main-thread only), the call goes to a small pool of child
  Python processes (:class:`WorkerPool`), one call at a time each, which apply the same signal
  limit in their own main thread; if a child has not answered ``timeout + 2`` seconds later it is
  killed (which also covers the C-call case) and a fresh one starts on the next call. A child
  costs its warm-up to start (about a second to import sympy), once; a call then costs a pipe
  round trip. The function travels by name, so it must be a module-level one; its arguments and
  result travel as JSON. POSIX only.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from s1kit.errors import S1kitError


class _TimedOut:
    def __repr__(self) -> str:
        return "TIMED_OUT"


TIMED_OUT = _TimedOut()
"""What a call past its time limit gives back (None is a result some functions return)."""

_WORKER_START_SECONDS = 120.0
_WORKER_GRACE_SECONDS = 2.0


def call_with_time_limit(fn, seconds: float, *args, workers: WorkerPool):
    """``fn(*args)``, or TIMED_OUT after ``seconds``: under a timer in the main thread, in one of
    ``workers``' processes from any other thread."""
    if timer_usable():
        return call_with_timer(fn, seconds, *args)
    return workers.call(fn, seconds, *args)


def timer_usable() -> bool:
    """Whether this thread can time a call with SIGALRM: the main thread, on POSIX, unless a handler
    was set outside Python (getsignal is then None: leave it alone)."""
    return (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
            and signal.getsignal(signal.SIGALRM) is not None)


class _TimeLimit(BaseException):
    """Raised by SIGALRM inside a timed call; not an Exception, so that no library swallows it."""


def call_with_timer(fn, seconds: float, *args):
    """fn(*args) in the main thread, or TIMED_OUT after ``seconds``."""
    armed = [True]

    def on_alarm(signum, frame):
        if armed[0]:
            raise _TimeLimit

    def disarm():
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_delay:  # pytest-timeout's or the caller's timer, less the time we spent
            signal.setitimer(signal.ITIMER_REAL, max(outer_delay - (time.monotonic() - start), 1e-3), outer_interval)

    start = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    # Repeats every 0.1 s until disarmed, in case some bare `except:` swallows the first one.
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        try:
            return fn(*args)
        finally:
            disarm()
    except _TimeLimit:
        if armed[0]:  # the alarm landed inside `finally` before it disarmed
            disarm()
        return TIMED_OUT


def _name_of(fn) -> str:
    """``module:qualified.name``, how a child process finds ``fn``."""
    if "<" in fn.__qualname__:  # a lambda or a local function: no child can import it
        raise TypeError(f"{fn.__qualname__} cannot run in a worker process; pass a module-level function")
    return f"{fn.__module__}:{fn.__qualname__}"


def _named(name: str):
    module, _, qualname = name.partition(":")
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class Worker:
    """A child Python process that runs timed calls in its main thread (:func:`serve`)."""

    def __init__(self, warm_up=None):
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])  # the folder holding the s1kit package
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (src, env.get("PYTHONPATH"))))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from s1kit.grading.time_limit import serve; serve()",
             _name_of(warm_up) if warm_up else ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        if self._read(_WORKER_START_SECONDS) != "ready":
            self.close()
            raise S1kitError("the grading worker process did not start; run grading in the main thread")

    def call(self, fn, args: list, timeout: float, wait: float | None = None):
        """The child's ``fn(*args)`` under ``timeout``; TIMED_OUT (and the child killed) when it ran
        out of time, or when no reply came ``wait`` seconds later (default ``timeout + 2``)."""
        request = json.dumps([_name_of(fn), args, timeout]) + "\n"
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except OSError:  # the child died while idle (killed from outside, out of memory)
            self.close()
            return TIMED_OUT
        reply = self._read(timeout + _WORKER_GRACE_SECONDS if wait is None else wait)
        if not (isinstance(reply, list) and len(reply) == 1):
            self.close()
            return TIMED_OUT
        return reply[0]

    def _read(self, seconds: float):
        """The child's next reply, or None when none came within ``seconds``."""
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):  # a pipe to a killed child may refuse the last flush
                stream.close()


class WorkerPool:
    """Idle :class:`Worker` processes, reused; at most one per core at work at once."""

    def __init__(self, warm_up=None):
        self.warm_up = warm_up
        """A module-level function each child runs before its first call (the imports it needs)."""
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(os.cpu_count() or 1)
        atexit.register(lambda: [worker.close() for worker in self._idle])

    def call(self, fn, seconds: float, *args):
        """``fn(*args)`` in an idle worker (or a new one), or TIMED_OUT; dead workers are dropped."""
        with self._slots:
            with self._lock:
                while self._idle and not self._idle[-1].alive:
                    self._idle.pop().close()
                worker = self._idle.pop() if self._idle else None
            worker = worker or Worker(self.warm_up)
            result = worker.call(fn, list(args), seconds)
            if worker.alive:
                with self._lock:
                    self._idle.append(worker)
            return result


def serve() -> None:
    """A worker's loop: one JSON request per line in, one reply per line out. ``[name, args,
    timeout]`` gets ``[result]``, or null when the call ran out of time. The warm-up function's
    name, if any, is the first command-line argument."""
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what libraries print goes to stderr, not into the protocol
    if len(sys.argv) > 1 and sys.argv[1]:
        _named(sys.argv[1])()  # import and warm up before saying ready
    print(json.dumps("ready"), file=protocol, flush=True)
    for line in sys.stdin:
        name, args, timeout = json.loads(line)
        result = call_with_timer(_named(name), timeout, *args)
        print(json.dumps(None if result is TIMED_OUT else [result]), file=protocol, flush=True)
