"""What the harness measures and the judge enforces besides the values: inputs unmodified (NumPy and torch),
NumPy output where asked, dtype kept, the seed honoured, the sequential depth of a scan."""

import itertools

import numpy as np
import torch

from coursekit import harness
from coursekit.checking import Case, Item, call_learner, judge


def test_a_shrinking_resize_of_a_caller_tensor_is_seen():
    out = harness.invoke_with_tensors(lambda t: t.resize_(2), np.arange(6.0))
    assert out.measures["tensor_args_changed"] == 1
    assert harness.invoke_with_tensors(lambda t: t * 2, np.arange(6.0)).measures["tensor_args_changed"] == 0


def test_a_tensor_output_is_recorded_and_refused_where_numpy_is_asked():
    item = Item(name="test_f", target="f", points=1, make_cases=lambda rng, hidden: [Case("x", (np.ones(3),))],
                reference=lambda x: 2 * x, numpy_output=True)
    cases = item.make_cases(None, False)
    verdict = judge(item, cases, call_learner(item, lambda x: torch.from_numpy(2 * x), cases))
    assert not verdict.passed and "returned a torch tensor" in verdict.message
    assert judge(item, cases, call_learner(item, lambda x: 2 * x, cases)).passed


def test_float32_in_float64_out_fails_at_values_that_are_otherwise_right():
    item = Item(name="test_f", target="f", points=1, reference=lambda x: 2 * x,
                make_cases=lambda rng, hidden: [Case("f32", (np.ones(3, np.float32),), rtol=1e-4, atol=1e-5)])
    cases = item.make_cases(None, False)
    verdict = judge(item, cases, call_learner(item, lambda x: (2 * x).astype(np.float64), cases))
    assert "float64 although the inputs are float32" in verdict.message


def _scan(a, b, h0):
    A, B = np.array(a, dtype=np.result_type(a, b, h0)), np.array(b, dtype=np.result_type(a, b, h0))
    B[0] = a[0] * h0 + b[0]
    k = 1
    while k < len(A):
        B[k:], A[k:] = A[k:] * B[:-k] + B[k:], A[k:] * A[:-k]
        k *= 2
    return B


def _accumulate(a, b, h0):
    M = np.zeros(a.shape + (2, 2), dtype=np.result_type(a, b))
    M[..., 0, 0], M[..., 0, 1], M[..., 1, 1] = a, b, 1
    P = np.array(list(itertools.accumulate(M, lambda P, Q: np.matmul(Q, P))))
    return P[..., 0, 0] * h0 + P[..., 0, 1]


def test_the_sequential_depth_tells_a_scan_from_a_c_level_chain():
    rng = np.random.default_rng(0)
    a, b, h0 = rng.uniform(0, 1, (256, 2)), rng.standard_normal((256, 2)), rng.standard_normal(2)
    scan = harness.invoke_measuring_depth(_scan, a, b, h0)
    chain = harness.invoke_measuring_depth(_accumulate, a, b, h0)
    assert scan.measures["sequential_depth"] <= 2 * 8 + 4  # two operations per pass, log2(256) passes
    assert chain.measures["sequential_depth"] >= 256
    np.testing.assert_allclose(scan.output, chain.output, rtol=1e-12)
    lost = harness.invoke_measuring_depth(lambda a, b, h0: np.asarray(a, dtype=float), a, b, h0)
    assert lost.measures["sequential_depth"] == -1  # plain floats: unmeasured, never a false alarm
