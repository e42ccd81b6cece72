"""minicnn/progress.py: a redrawn bar on a terminal, a few plain lines anywhere else."""

import io

from minicnn import progress
from minicnn.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_bar(stream, total=1000):
    bar = Progress(total, "work", stream=stream)
    for k in range(total):
        bar.update(info=f"loss {k}")
    bar.close()
    return stream.getvalue()


def test_not_a_terminal_gets_plain_lines_without_carriage_returns():
    text = run_bar(io.StringIO())
    lines = text.splitlines()
    assert "\r" not in text
    assert lines[0] == "work: 0/1000"                     # the start
    assert lines[-1].startswith("work: 1000/1000 done in ") and lines[-1].endswith("loss 999")
    assert 2 <= len(lines) <= 12                           # the start, tenths, the end


def test_plain_lines_come_at_tenths_no_more_often_than_every_few_seconds(monkeypatch):
    clock = iter(range(10_000))                            # one second per call
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))
    lines = run_bar(io.StringIO(), total=100).splitlines()
    middle = lines[1:-1]
    assert [line.split()[1] for line in middle] == [f"{10 * k}/100" for k in range(1, 10)]
    monkeypatch.setattr(progress, "PLAIN_EVERY", 1e9)       # a fast job: start and end only
    assert len(run_bar(io.StringIO(), total=100).splitlines()) == 2


def test_a_terminal_gets_one_redrawn_line():
    text = run_bar(Terminal(), total=50)
    assert text.startswith("\rwork [") and text.count("\n") == 1 and text.endswith("\n")
    assert "50/50" in text.rsplit("\r", 1)[1]


def test_disabled_prints_nothing_and_close_is_idempotent():
    stream = io.StringIO()
    bar = Progress(3, "quiet", enabled=False, stream=stream)
    bar.update()
    bar.close()
    assert stream.getvalue() == ""
    loud = Progress(3, "loud", stream=stream)
    loud.close()
    loud.close()
    assert stream.getvalue().count("done in") == 1
