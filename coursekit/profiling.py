"""What one call of a torch module costs: its median time and the operators it runs (notebook 04).

Notebook 04 times nn.RNN, nn.GRU and nn.LSTM and finds the CPU GRU slower than the LSTM although it has 3/4 of the
parameters. The reason is not the arithmetic but the kernels: PyTorch's CPU build runs the LSTM through one oneDNN
call per layer and direction (``aten::mkldnn_rnn_layer``) while the GRU is decomposed into a few small operators
per time step. :func:`aten_ops` counts those operators; :func:`median_call_ms` times a call on the CPU or on CUDA.

torch is imported inside the functions, so importing this module imports nothing heavy.
"""

import statistics
import time
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class OpCount:
    """The ATen operators one call ran, as the torch profiler records them (nested calls included).

    total: number of operator calls; by_name: calls per operator name; slowest: the operator with the largest
    self CPU time (its own time, without the operators it called), e.g. ``"aten::mkldnn_rnn_layer"``.
    """

    total: int
    by_name: dict
    slowest: str

    def most_common(self, n=3):
        """The n most frequently called operators, [(name, calls), ...]."""
        return Counter(self.by_name).most_common(n)


def aten_ops(fn):
    """Run ``fn()`` once under the torch profiler and count the ATen operators it called (CPU side).

    ``fn()`` is called once before, unprofiled, so that one-time work (lazy initialisation, first allocations)
    does not decide which operator looks slowest. On CUDA the count is what the CPU dispatched: each operator
    then launches one or more GPU kernels.
    """
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    if not events:
        raise ValueError("fn() ran no ATen operator; pass a function that calls a torch module, e.g. "
                         "lambda: gru(x)")
    by_name = {e.key: int(e.count) for e in events}
    slowest = max(events, key=lambda e: e.self_cpu_time_total).key
    return OpCount(total=sum(by_name.values()), by_name=by_name, slowest=slowest)


def median_call_ms(fn, *, device="cpu", repeats=5, warmup=1, min_sample_s=0.002):
    """Median duration of one ``fn()`` call in milliseconds, after ``warmup`` untimed calls.

    On the CPU this is the *process* time (CPU time of this process), which other programs on a shared machine
    disturb far less than the wall-clock time; with one torch thread it is the work done. On CUDA, kernels run
    asynchronously, so the wall-clock time is taken between two ``torch.cuda.synchronize()`` calls (the process
    time would only measure the launches).

    Each of the ``repeats`` samples times enough calls in a row to last at least ``min_sample_s`` (found by
    doubling, like ``timeit``'s autorange), so a coarse process clock (some sandboxes tick every few milliseconds)
    still gives a non-zero time per call.
    """
    import torch

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    on_cuda = torch.device(device).type == "cuda"
    clock = time.perf_counter if on_cuda else time.process_time

    def timed(number):
        """(clock seconds, wall seconds) of `number` calls in a row."""
        if on_cuda:
            torch.cuda.synchronize(device)
        start, wall = clock(), time.perf_counter()
        for _ in range(number):
            fn()
        if on_cuda:
            torch.cuda.synchronize(device)
        return clock() - start, time.perf_counter() - wall

    for _ in range(warmup):
        fn()
    number = 1
    while number < 1024:
        spent, wall = timed(number)
        if spent >= min_sample_s or wall >= 0.1:  # long enough; or it waits rather than computes (sleep, I/O)
            break
        number *= 2
    return 1000.0 * statistics.median(timed(number)[0] / number for _ in range(repeats))
