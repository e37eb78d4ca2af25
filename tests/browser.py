"""A real browser for the viewer's tests: Debian's Chromium driven by Playwright.

`make test` installs Chromium in the background (tests/install-chromium.sh) while the other tests
run; :func:`chromium` waits for that install, and fails naming its log when it failed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
INSTALL_STATE = Path(os.environ.get("S1KIT_CHROMIUM_STATE", ROOT / ".venv" / "chromium-install"))
"""Where tests/install-chromium.sh writes chromium.log and chromium.done (make test passes it)."""
INSTALL_WAIT_S = 600

# As root Chromium needs --no-sandbox; the networking flags stop it from calling hosts this closed
# network refuses (the page itself fetches nothing).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> Path:
    """The Chromium binary, once the background install (if one is running) is done."""
    done, log = INSTALL_STATE / "chromium.done", INSTALL_STATE / "chromium.log"
    if not CHROMIUM.exists() and log.exists():
        deadline = time.monotonic() + INSTALL_WAIT_S
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(1)
        if not done.exists():
            pytest.fail(f"Chromium was still installing after {INSTALL_WAIT_S} s; see {log}")
        status = done.read_text().strip()
        if status != "0" or not CHROMIUM.exists():
            pytest.fail(f"installing Chromium failed (exit status {status}); see {log}")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; `make test` installs it (apt-get install chromium)")
    return CHROMIUM
