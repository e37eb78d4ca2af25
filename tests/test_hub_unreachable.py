"""A Hugging Face hub that does not answer costs one try, not a minute of retries: the command
fails at once with its usual one line, and says it worked offline.

The hub is a local port that accepts connections and closes them unanswered, and counts them. A
real process each: the hub libraries read HF_ENDPOINT and HF_HUB_OFFLINE when they are imported.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

pytest.importorskip("huggingface_hub", reason="hub look-ups need huggingface_hub (the [hf] extra)")


class SilentHub:
    """127.0.0.1:port, closing every connection without an answer; ``connections`` counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.mark.parametrize("args, message", [
    (["generate", "What is 2+2?", "--model", "no-such-org/no-such-model"],
     "unknown model 'no-such-org/no-such-model': it is not a built-in alias"),
    (["eval", "--task", "aime24", "--model", "s1-nano", "--out", "run"],
     "aime24: could not reach the Hugging Face hub for HuggingFaceH4/aime_2024"),
], ids=["model", "dataset"])
def test_an_unreachable_hub_is_tried_once(tmp_path, args, message):
    hub = SilentHub()
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "S1KIT_DATA_DIR")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf-home"))
    try:
        done = subprocess.run([sys.executable, "-m", "s1kit", *args], capture_output=True, text=True, timeout=120,
                              env=env, cwd=tmp_path)
    finally:
        hub.sock.close()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and lines[-1] == errors[0], done.stderr
    assert f"warning: the Hugging Face hub at {hub.url} does not answer" in done.stderr
    assert "Retrying" not in done.stderr and "Traceback" not in done.stderr
    assert hub.connections == 1
