"""coursekit.mingru: the scan and the loop agree, the torch module matches the NumPy model (values and gradients),
and importing the module does not import torch."""

import subprocess
import sys

import numpy as np
import pytest

from coursekit import mingru
from coursekit.activations import sigmoid


def by_hand(xs, h0, params):
    """minGRU step by step, written out from the paper's formulas."""
    h, hs = h0, []
    for x in xs:
        z = sigmoid(x @ params["W_z"].T + params["b_z"])
        candidate = x @ params["W_h"].T + params["b_h"]
        h = (1 - z) * h + z * candidate
        hs.append(h)
    return np.stack(hs)


@pytest.mark.parametrize("T, B, I, H", [(1, 1, 1, 1), (5, 3, 2, 4), (33, 2, 4, 3)])
def test_scan_forward_equals_the_formulas(T, B, I, H):
    rng = np.random.default_rng(T)
    params = mingru.init_params(I, H, rng=rng)
    xs, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
    expected = by_hand(xs, h0, params)
    assert np.allclose(mingru.forward(xs, h0, params), expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(mingru.forward(xs, h0, params, sequential=True), expected, rtol=1e-12, atol=1e-12)


def test_bad_inputs_are_named():
    params = mingru.init_params(3, 4, rng=0)
    with pytest.raises(ValueError, match="expected \\(T, B, I\\) with I = 3"):
        mingru.forward(np.zeros((5, 2, 4)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match="h0 has shape"):
        mingru.forward(np.zeros((5, 2, 3)), np.zeros((2, 5)), params)
    with pytest.raises(KeyError, match="b_h"):
        mingru.forward(np.zeros((5, 2, 3)), np.zeros((2, 4)), {k: v for k, v in params.items() if k != "b_h"})


def test_import_does_not_load_torch():
    code = "import coursekit.mingru, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_torch_module_matches_numpy_and_the_loop_gradients():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    T, B, I, H = 19, 3, 2, 5
    layer = mingru.MinGRU(I, H).double()
    params = mingru.params_from_torch(layer)
    rng = np.random.default_rng(0)
    xs, h0, weights = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((T, B, H))

    hs = layer(torch.tensor(xs), torch.tensor(h0))
    assert np.allclose(hs.detach().numpy(), by_hand(xs, h0, params), rtol=1e-12, atol=1e-12)
    zero_start = layer(torch.tensor(xs))
    assert np.allclose(zero_start.detach().numpy(), by_hand(xs, np.zeros((B, H)), params), rtol=1e-12, atol=1e-12)

    def gradients(recurrence):
        layer.zero_grad()
        z = torch.sigmoid(layer.linear_z(torch.tensor(xs)))
        out = recurrence(1 - z, z * layer.linear_h(torch.tensor(xs)), torch.tensor(h0))
        (out * torch.tensor(weights)).sum().backward()
        return [p.grad.clone() for p in layer.parameters()]

    from coursekit.scan import linear_recurrence_loop, linear_recurrence_scan
    for scan_grad, loop_grad in zip(gradients(linear_recurrence_scan), gradients(linear_recurrence_loop)):
        assert torch.allclose(scan_grad, loop_grad, rtol=1e-12, atol=1e-12)


def test_regressor_reads_the_last_state():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    model = mingru.MinGRURegressor(2, 4, 1).double()
    xs = torch.randn(6, 3, 2, dtype=torch.float64)
    expected = model.head(model.rnn(xs)[-1])
    assert model(xs).shape == (3, 1)
    assert torch.equal(model(xs), expected)
    assert mingru.MinGRURegressor.__module__ == "coursekit.mingru"
