#!/usr/bin/env bash
# Debian's Chromium for the viewer's browser tests (tests/test_view_browser.py), installed in the
# background while the rest of the suite runs: `make test` starts this, then pytest. The tests wait
# for STATE/chromium.done (apt's exit status) and name STATE/chromium.log when it failed.
# A no-op when /usr/bin/chromium is already there. Playwright's own browser download is never used
# (no internet on the project's machines; Debian's apt is reachable).
set -u
state="${1:?usage: tests/install-chromium.sh STATE_DIR}"
mkdir -p "$state"
rm -f "$state/chromium.done" "$state/chromium.log"
if [ -x /usr/bin/chromium ]; then
    echo 0 > "$state/chromium.done"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    # The browser tests then skip, naming what to install (CI runs as root on Debian and never skips).
    echo "Chromium is absent and cannot be installed here (apt-get as root); the browser tests will skip" >&2
    exit 0
fi
: > "$state/chromium.log"  # before pytest starts: the tests wait only while this log exists
(
    (
        export DEBIAN_FRONTEND=noninteractive
        date
        apt-get update -q && apt-get install -y -q chromium chromium-driver
        status=$?
        date
        exit $status
    ) >> "$state/chromium.log" 2>&1
    echo $? > "$state/chromium.done.tmp" && mv "$state/chromium.done.tmp" "$state/chromium.done"
) < /dev/null > /dev/null 2>&1 &
echo "installing Chromium in the background for the browser tests (log: $state/chromium.log)"
