"""coursekit.gru (NumPy) against torch.nn.GRU on the CPU, float32, one thread each.

    python benchmarks/bench_gru.py [--repeats 30]

Prints a table of median times and the ratio coursekit / torch, for forward and for forward + backward. Both sides
run alternately in the same process, so machine load affects them alike. Targets: forward <= 1.3x torch,
forward + backward <= 2x torch.
"""

import argparse
import statistics
import time

import numpy as np
import torch

import coursekit  # noqa: F401  (limits NumPy's BLAS to one thread)
from coursekit import gru

T, B, I, H = 100, 32, 64, 128
TARGETS = {"forward": 1.3, "forward + backward": 2.0}


def paired_medians(ours, theirs, repeats):
    """Median seconds of each, timed alternately (ours, theirs, ours, ...) so that drifting load hits both alike."""
    for _ in range(3):  # warm-up: allocator, BLAS buffers, autograd
        ours()
        theirs()
    times = {ours: [], theirs: []}
    for _ in range(repeats):
        for fn in (ours, theirs):
            start = time.perf_counter()
            fn()
            times[fn].append(time.perf_counter() - start)
    return statistics.median(times[ours]), statistics.median(times[theirs])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    module = torch.nn.GRU(I, H)
    params = {k: v.astype(np.float32) for k, v in gru.params_from_torch(module).items()}
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((T, B, I)).astype(np.float32)
    h0 = np.zeros((B, H), np.float32)
    dhs = rng.standard_normal((T, B, H)).astype(np.float32)
    xs_t, h0_t, dhs_t = torch.from_numpy(xs), torch.from_numpy(h0[None]), torch.from_numpy(dhs)

    def numpy_forward():
        gru.forward(xs, h0, params)

    def numpy_forward_backward():
        hs, cache = gru.forward(xs, h0, params)
        gru.backward(dhs, cache)

    def torch_forward():
        with torch.no_grad():
            module(xs_t, h0_t)

    def torch_forward_backward():
        x = xs_t.clone().requires_grad_(True)
        out, _ = module(x, h0_t)
        out.backward(dhs_t)

    # Both implementations must compute the same thing before we time them.
    with torch.no_grad():
        expected = module(xs_t, h0_t)[0].numpy()
    assert np.max(np.abs(gru.forward(xs, h0, params)[0] - expected)) < 1e-4

    print(f"GRU, float32, T={T}, B={B}, I={I}, H={H}, one thread, median of {args.repeats} runs")
    print(f"{'pass':<22}{'coursekit (ms)':>16}{'torch (ms)':>12}{'ratio':>8}{'target':>9}")
    failed = False
    for name, ours, theirs in (("forward", numpy_forward, torch_forward),
                               ("forward + backward", numpy_forward_backward, torch_forward_backward)):
        ours_s, theirs_s = paired_medians(ours, theirs, args.repeats)
        ratio = ours_s / theirs_s
        ok = ratio <= TARGETS[name]
        failed |= not ok
        print(f"{name:<22}{ours_s * 1e3:>16.2f}{theirs_s * 1e3:>12.2f}{ratio:>7.2f}x{'<= ' + str(TARGETS[name]):>9}"
              f"  {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
