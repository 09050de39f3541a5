"""coursekit.scan: the Hillis-Steele scan equals the loop (NumPy and torch, values and gradients), bad shapes are
named, and the Python line counter tells a loop over time from a scan."""

import math
import sys

import numpy as np
import pytest

from coursekit.scan import count_python_lines, linear_recurrence_loop, linear_recurrence_scan


def by_hand(a, b, h0):
    """The recurrence written out independently: h_t = a_t h_{t-1} + b_t."""
    hs = np.empty(np.broadcast_shapes(a.shape, b.shape))
    h = h0
    for t in range(len(a)):
        h = a[t] * h + b[t]
        hs[t] = h
    return hs


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 1000])
@pytest.mark.parametrize("shape", [(), (3,), (2, 4)])
def test_scan_and_loop_equal_the_recurrence(T, shape):
    rng = np.random.default_rng(T)
    a, b, h0 = rng.uniform(-1, 1, (T, *shape)), rng.standard_normal((T, *shape)), rng.standard_normal(shape)
    expected = by_hand(a, b, h0)
    assert np.max(np.abs(linear_recurrence_loop(a, b, h0) - expected)) == 0.0
    assert np.allclose(linear_recurrence_scan(a, b, h0), expected, rtol=1e-12, atol=1e-12)


def test_scan_handles_resets_and_underflow():
    """a_t = 0 forgets everything before t; long products of small a underflow to 0 without nan."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.05, (3000, 2))
    a[::7] = 0.0
    b, h0 = rng.standard_normal((3000, 2)), rng.standard_normal(2)
    hs = linear_recurrence_scan(a, b, h0)
    assert np.all(np.isfinite(hs))
    assert np.allclose(hs, by_hand(a, b, h0), rtol=1e-12, atol=1e-12)
    assert np.array_equal(hs[7], b[7])  # a_7 = 0: h_7 = b_7 exactly


def test_scan_does_not_modify_its_inputs_and_keeps_float32():
    rng = np.random.default_rng(1)
    a, b, h0 = (rng.uniform(0, 1, (20, 3)).astype(np.float32), rng.standard_normal((20, 3)).astype(np.float32),
                rng.standard_normal(3).astype(np.float32))
    copies = a.copy(), b.copy(), h0.copy()
    hs = linear_recurrence_scan(a, b, h0)
    assert hs.dtype == np.float32
    for original, copy in zip((a, b, h0), copies):
        assert np.array_equal(original, copy)


def test_torch_scan_matches_loop_in_values_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    T, B, H = 37, 2, 3
    leaves = [torch.tensor(v, requires_grad=True) for v in (rng.uniform(0, 1, (T, B, H)),
                                                            rng.standard_normal((T, B, H)),
                                                            rng.standard_normal((B, H)))]
    weights = torch.tensor(rng.standard_normal((T, B, H)))
    results = []
    for run in (linear_recurrence_loop, linear_recurrence_scan):
        for leaf in leaves:
            leaf.grad = None
        hs = run(*leaves)
        (hs * weights).sum().backward()
        results.append([hs.detach().numpy()] + [leaf.grad.numpy().copy() for leaf in leaves])
    for loop_value, scan_value in zip(*results):
        assert np.allclose(loop_value, scan_value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape, h_shape, message", [
    ((5, 3), (5, 4), (3,), "must be equal"),
    ((5, 3), (5, 3), (4,), "h0 has shape"),
    ((0, 3), (0, 3), (3,), "T >= 1"),
])
def test_bad_shapes_are_named(a_shape, b_shape, h_shape, message):
    for run in (linear_recurrence_loop, linear_recurrence_scan):
        with pytest.raises(ValueError, match=message):
            run(np.ones(a_shape), np.ones(b_shape), np.ones(h_shape))


# ----------------------------------------------------------------------------------------------------------------
# count_python_lines
# ----------------------------------------------------------------------------------------------------------------

def test_a_loop_runs_at_least_T_lines_and_the_scan_O_log_T():
    rng = np.random.default_rng(3)
    for T in (64, 1024, 4096):
        a, b, h0 = rng.uniform(0, 1, (T, 2)), rng.standard_normal((T, 2)), np.zeros(2)
        _, loop_lines = count_python_lines(by_hand, a, b, h0)
        hs, scan_lines = count_python_lines(linear_recurrence_scan, a, b, h0)
        assert loop_lines >= 2 * T  # the for line and the body, once per step
        assert scan_lines <= 10 * math.ceil(math.log2(T)) + 30
        assert np.allclose(hs, by_hand(a, b, h0))


def test_library_lines_are_not_counted_but_helpers_and_lambdas_are():
    x = np.arange(12.0).reshape(3, 4)

    def with_numpy_python_code():
        return np.stack([x, x]), np.pad(x, 1)  # np.stack and np.pad are Python functions inside NumPy

    _, lines = count_python_lines(with_numpy_python_code)
    assert lines == 1

    def helper(v):
        return v + 1

    def calls_helper_in_a_comprehension():
        return [helper(v) for v in range(50)]

    _, lines = count_python_lines(calls_helper_in_a_comprehension)
    assert lines >= 100  # 50 comprehension steps + 50 helper bodies

    _, lines = count_python_lines(lambda: list(map(lambda v: v * 2, range(30))))
    assert lines >= 30


def test_the_previous_tracer_is_restored_and_the_result_returned():
    events = []

    def tracer(frame, event, arg):
        events.append(event)
        return None

    before = sys.gettrace()  # e.g. a coverage tool's
    sys.settrace(tracer)
    try:
        result, lines = count_python_lines(lambda a, b=0: a + b, 2, b=3)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(before)
    assert (result, lines) == (5, 1)


def test_the_tracer_is_removed_when_the_function_raises():
    def broken():
        raise KeyError("boom")

    before = sys.gettrace()
    with pytest.raises(KeyError):
        count_python_lines(broken)
    assert sys.gettrace() is before
