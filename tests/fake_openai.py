"""A small OpenAI-compatible server on 127.0.0.1 for command-line tests.

Its behaviour comes from the first part of the URL path, so one server serves every case:
``{url}/ok/v1`` answers every completion with "four" (plain text, usage figures, no token ids:
s1kit goes by text rounds), ``{url}/malformed/v1`` answers completions with ``{"id": "x"}``, and
``{url}/slow/v1`` answers them after ``SLOW_SECONDS``. The model list is the same everywhere.
Every request's path and Authorization header are kept in ``seen``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "fake-model"
SLOW_SECONDS = 3.0


def count_tokens(text: str) -> int:
    """The server's token count: special tokens, words, punctuation and spaces count one each."""
    return len(re.findall(r"<\|[^|]+\|>|\w+|[^\w\s]|\s", text))


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that hung up first (it timed out on the slow path): nothing to report, and
        nowhere to report it (stderr may be a test's captured stream by then)."""


class FakeOpenAI:
    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        """(path, Authorization header) of every request."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.seen.append((self.path, self.headers.get("Authorization", "")))
                if self.path.endswith("/v1/models"):
                    return self.answer({"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 4096}]})
                self.send_error(404)

            def do_POST(self):
                fake.seen.append((self.path, self.headers.get("Authorization", "")))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                mode = self.path.split("/")[1]
                if not self.path.endswith("/v1/completions"):
                    return self.send_error(404)
                if mode == "malformed":
                    return self.answer({"id": "x"})
                if mode == "slow":
                    time.sleep(SLOW_SECONDS)
                prompt = body["prompt"] if isinstance(body["prompt"], str) else ""
                text = "!" if body.get("max_tokens") == 1 else "four"
                usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": count_tokens(text), "total_tokens": 0}
                self.answer({"id": "c", "object": "text_completion", "created": 0, "model": body["model"], "usage": usage,
                             "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}]})

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
