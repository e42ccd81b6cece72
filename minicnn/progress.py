"""A progress bar on stderr, with rate and time left (no dependency).

Example:
    >>> bar = Progress(3, "demo", enabled=False)
    >>> for _ in range(3):
    ...     bar.update()
    >>> bar.close()
"""

import sys
import time


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
        self.info = ""

    def update(self, n=1, info=None):
        """Advance by ``n`` steps; ``info`` is extra text such as the loss."""
        self.n += n
        if info is not None:
            self.info = info
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.2 or self.n >= self.total):
            self.last = now
            self._draw(now)

    def _draw(self, now):
        done = min(self.n / self.total, 1.0)
        bar = "#" * int(done * self.width) + "." * (self.width - int(done * self.width))
        elapsed = now - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.n) / rate if rate > 0 else 0.0
        self.stream.write(f"\r{self.desc} [{bar}] {self.n}/{self.total} "
                          f"{rate:.1f} it/s {left:.0f}s left {self.info}   ")
        self.stream.flush()

    def close(self):
        """Finish the line."""
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
