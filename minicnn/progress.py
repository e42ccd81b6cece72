"""A progress bar on stderr, with rate and time left (no dependency).

On a terminal the bar redraws itself in place (``\\r``). Anywhere else — a
log file, a pipe, a CI job — a redraw would leave a line full of carriage
returns, so the bar prints a few plain lines instead: one at the start, one
at each tenth of the work (at most one every ``PLAIN_EVERY`` seconds), and
one at the end.

Example:
    >>> import io
    >>> log = io.StringIO()                        # not a terminal: plain lines
    >>> bar = Progress(3, "demo", stream=log)
    >>> for _ in range(3):
    ...     bar.update()
    >>> bar.close()
    >>> "\\r" in log.getvalue(), log.getvalue().splitlines()[0]
    (False, 'demo: 0/3')
"""

import sys
import time

#: Seconds between two plain lines (not on a terminal), except the last one.
PLAIN_EVERY = 5.0


def is_terminal(stream):
    """True when ``stream`` is an interactive terminal (``isatty``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):          # no isatty, or a closed file
        return False


class Progress:
    """``[#####.....] 50/100 epoch 1  12.3 it/s  4s left  loss 0.52``.

    Args:
        total: number of steps; desc: label; enabled: False prints nothing;
        stream: where to print (stderr by default, so results on stdout stay clean).
    """

    def __init__(self, total, desc="", enabled=True, stream=None, width=24):
        self.total, self.desc, self.enabled = max(int(total), 1), desc, enabled
        self.stream = stream or sys.stderr
        self.width, self.n, self.start, self.last = width, 0, time.perf_counter(), 0.0
        self.info, self.closed = "", False
        self.terminal = is_terminal(self.stream)
        self.tenth, self.last_line = 0, self.start  # the last tenth printed, and when
        if self.enabled and not self.terminal:
            self._line(f"{self.desc}: 0/{self.total}")

    def update(self, n=1, info=None):
        """Advance by ``n`` steps; ``info`` is extra text such as the loss."""
        self.n += n
        if info is not None:
            self.info = info
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.terminal:
            if now - self.last > 0.2 or self.n >= self.total:
                self.last = now
                self._draw(now)
        elif self._plain_due(now):
            self.last_line = now
            self._line(self._text(now))

    def _plain_due(self, now):
        """A new tenth of the work is done, and the last line is old enough."""
        tenth = min(10, 10 * self.n // self.total)
        if tenth <= self.tenth or self.n >= self.total:
            return False                           # the last line is close()'s
        if now - self.last_line < PLAIN_EVERY:
            return False
        self.tenth = tenth
        return True

    def _text(self, now):
        elapsed = now - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.n) / rate if rate > 0 else 0.0
        return (f"{self.desc}: {self.n}/{self.total} {rate:.1f} it/s "
                f"{left:.0f}s left {self.info}").rstrip()

    def _draw(self, now):
        done = min(self.n / self.total, 1.0)
        bar = "#" * int(done * self.width) + "." * (self.width - int(done * self.width))
        text = self._text(now).replace(f"{self.desc}: ", f"{self.desc} [{bar}] ", 1)
        self.stream.write(f"\r{text}   ")
        self.stream.flush()

    def _line(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self):
        """Finish: end the bar's line (terminal) or print the last plain line."""
        if not self.enabled or self.closed:
            return
        self.closed = True
        now = time.perf_counter()
        if self.terminal:
            self._draw(now)
            self.stream.write("\n")
            self.stream.flush()
        else:
            self._line(f"{self.desc}: {self.n}/{self.total} done in {now - self.start:.1f} s "
                       f"{self.info}".rstrip())
