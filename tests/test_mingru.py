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


def test_g_is_positive_continuous_and_log_g_is_its_log():
    x = np.array([-800.0, -30.0, -1.0, -1e-9, 0.0, 1e-9, 2.0, 1e6])
    assert np.all(mingru.g(x) > 0) and mingru.g(0.0) == 0.5
    assert np.allclose(mingru.g(x), np.where(x >= 0, x + 0.5, 1 / (1 + np.exp(-np.clip(x, -700, 0)))))
    assert abs(mingru.g(-1e-9) - mingru.g(1e-9)) < 1e-8  # continuous at 0
    safe = x > -700  # below that g underflows to 0 in float64; log_g still gives the right number
    assert np.allclose(mingru.log_g(x[safe]), np.log(mingru.g(x[safe])), rtol=1e-12, atol=1e-12)
    assert mingru.log_g(-800.0) == pytest.approx(-800.0, rel=1e-12)


@pytest.mark.parametrize("T, B, I, H", [(1, 1, 1, 1), (7, 3, 2, 4), (200, 2, 3, 5)])
def test_log_space_forward_equals_the_plain_positive_forward(T, B, I, H):
    rng = np.random.default_rng(T)
    params = mingru.init_params(I, H, rng=rng)
    xs, h0 = rng.standard_normal((T, B, I)), mingru.g(rng.standard_normal((B, H)))
    hs = mingru.forward_log_space(xs, h0, params)
    h, expected = h0, []
    for x in xs:  # the paper's sequential mode, written out
        z = sigmoid(x @ params["W_z"].T + params["b_z"])
        h = (1 - z) * h + z * mingru.g(x @ params["W_h"].T + params["b_h"])
        expected.append(h)
    assert np.all(hs > 0)
    assert np.allclose(hs, np.stack(expected), rtol=1e-10, atol=0)
    assert np.allclose(mingru.forward(xs, h0, params, positive=True), hs, rtol=1e-10, atol=0)
    assert not np.allclose(mingru.forward(xs, h0, params), hs)  # the linear candidate is a different model


def test_log_space_scan_survives_products_that_underflow():
    # a_t = 1e-3 for 400 steps: A_t = 1e-1200 underflows, so dividing by cumprod(a) breaks; the log scan does not.
    T = 400
    log_a, b = np.full((T, 2), np.log(1e-3)), np.full((T, 2), 0.5)
    from coursekit.scan import linear_recurrence_loop
    expected = linear_recurrence_loop(np.exp(log_a), b, np.ones(2))
    with np.errstate(all="ignore"):
        A = np.cumprod(np.exp(log_a), axis=0)
        shortcut = A * (1.0 + np.cumsum(b / A, axis=0))
    assert not np.all(np.isfinite(shortcut))
    assert np.allclose(np.exp(mingru.log_space_scan(log_a, np.log(b), np.zeros(2))), expected, rtol=1e-12)


def test_log_space_forward_refuses_a_non_positive_start():
    params = mingru.init_params(2, 3, rng=0)
    with pytest.raises(ValueError, match="h0 > 0"):
        mingru.forward_log_space(np.zeros((4, 1, 2)), np.array([[0.5, 0.0, 0.2]]), params)
