"""Progress away from a terminal: plain lines on stderr at most every so often, and one at the end."""

from __future__ import annotations

import io

import pytest

from s1kit.progress import Lines, progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("steps, every, lines", [
    ([(1, 1.0)] * 5, 30.0, ["job: 5/5 seq (100%), 5 s"]),  # quick work: only the closing line
    ([(2, 20.0), (2, 20.0), (1, 5.0)], 30.0, ["job: 4/5 seq (80%), 40 s", "job: 5/5 seq (100%), 45 s"]),
    ([(5, 40.0)], 30.0, ["job: 5/5 seq (100%), 40 s"]),  # the last update printed it: close adds nothing
    ([(5, 40.0)], None, []),  # disabled
])
def test_lines_come_at_most_every_interval_and_at_the_end(steps, every, lines):
    clock, out = Clock(), io.StringIO()
    bar = Lines(5, "job", "seq", every=every, clock=clock, stream=out)
    for n, seconds in steps:
        clock.now += seconds
        bar.update(n)
    bar.close()
    assert out.getvalue().splitlines() == lines


def test_a_resumed_count_starts_from_its_initial_value(capsys):
    bar = progress(10, "eval", "unit", initial=4)  # stderr is captured: not a terminal
    bar.update(6)
    bar.close()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("eval: 10/10 unit (100%), ")
    assert "\r" not in captured.err


@pytest.mark.parametrize("bar", [False, True])
def test_training_logs_go_to_stderr_as_one_line(bar, capsys):
    """transformers prints log dicts on stdout; s1kit's callback writes one line on stderr instead."""
    transformers = pytest.importorskip("transformers", reason="training needs the [train] extra")
    from types import SimpleNamespace

    from s1kit.train.trainer import log_lines_callback

    callback = log_lines_callback(transformers, bar=bar)()
    state = SimpleNamespace(is_world_process_zero=True, global_step=3, max_steps=10)
    if bar:
        callback.on_train_begin(None, SimpleNamespace(is_world_process_zero=True, max_steps=10), None)
    callback.on_log(None, state, None, logs={"loss": 1.23456, "learning_rate": 0.001, "total_flos": 9.0})
    out, err = capsys.readouterr()
    assert out == ""
    assert "s1kit train: step 3/10: loss 1.235, learning_rate 0.001" in err and "total_flos" not in err
