"""The one timer every benchmark script uses (each runs in its own process)."""

import statistics
import time


def median_ms(step, repeat):
    """Median wall time of ``step()`` over ``repeat`` calls, in ms, after one warm-up call
    (which pages in the weights and the buffers)."""
    step()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)
