"""Wall-clock timing for the notebooks' small speed comparisons (notebooks 06 and 07).

The notebooks compare two ways of computing the same thing (a loop against a scan, an RNN against a GRU) on a
machine that other programs may share. :func:`median_seconds` times a call a few times after a warm-up and keeps
the median, which ignores the occasional slow run; comparisons should be made between timings taken in the same
session (ratios), never against numbers from another machine. The benchmarks/ scripts do the careful versions.
"""

import statistics
import time


def median_seconds(fn, *, repeats=5, warmup=1):
    """Call ``fn()`` ``warmup`` times untimed (caches, allocators, lazy imports), then ``repeats`` times timed;
    return the median duration in seconds."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)
