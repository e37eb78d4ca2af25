"""Servers on loopback for tests: a subprocess, healthy before it is used, stopped by its PID."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start(command: list[str], log_path, env=None) -> subprocess.Popen:
    """Start a server process, its output in ``log_path``; :func:`wait_healthy` waits for it."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_healthy(server: subprocess.Popen, port: int, log_path, timeout: float = 240) -> None:
    def tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])

    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            pytest.fail(f"{server.args[:4]} exited with {server.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server was not healthy after {timeout:.0f} s:\n{tail()}")
        time.sleep(1)


def stop(server: subprocess.Popen, port: int) -> None:
    """Stop the server by its PID; its port must be free afterwards."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)
    assert not port_open(port), f"port {port} still answers after the server stopped"


@contextlib.contextmanager
def running(command: list[str], port: int, log_path, env=None, timeout: float = 240):
    """Run ``command`` (a server on ``port``, its output in ``log_path``) until the block ends."""
    server = start(command, log_path, env)
    try:
        wait_healthy(server, port, log_path, timeout)
        yield server
    finally:
        stop(server, port)
