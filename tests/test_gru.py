"""coursekit.gru against torch.nn.GRU / GRUCell (float64), numerical gradients, and the papers' equations."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from coursekit import gru
from coursekit.activations import sigmoid
from coursekit.gradcheck import check_gradient
from coursekit.gradcheck import numerical_gradient as _numerical_gradient

TOL = 1e-10
# (T, B, I, H): typical shapes plus the edge cases T=1, B=1, H=1, I=1
SHAPES = [(5, 3, 4, 6), (1, 2, 3, 4), (4, 1, 3, 2), (3, 2, 5, 1), (6, 2, 1, 3), (2, 4, 7, 7)]


@pytest.fixture(autouse=True)
def float64_torch():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def numerical_gradient(f, x, df):
    """Fourth-order centred differences: accurate enough for a 1e-7 relative tolerance on small entries too."""
    return _numerical_gradient(f, x, df, h=1e-4, order=4)


def max_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def torch_grads(module, layer=0, reverse=False):
    """The .grad of one layer/direction's parameters, as a params-style dict."""
    suffix = "" if isinstance(module, torch.nn.GRUCell) else f"_l{layer}" + ("_reverse" if reverse else "")
    stacked = [getattr(module, f"{n}{suffix}").grad.numpy() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return gru._unstacked(*stacked)


@pytest.mark.parametrize("T,B,I,H", SHAPES)
def test_forward_and_backward_match_torch_gru(T, B, I, H):
    rng = np.random.default_rng(T * 1000 + B * 100 + I * 10 + H)
    module = torch.nn.GRU(I, H)
    params = gru.params_from_torch(module)
    xs, h0, dhs = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((T, B, H))

    hs, cache = gru.forward(xs, h0, params)
    dxs, dh0, grads = gru.backward(dhs, cache)

    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    out, h_n = module(xs_t, h0_t)
    out.backward(torch.tensor(dhs))
    assert max_err(hs, out.detach()) <= TOL
    assert max_err(hs[-1], h_n[0].detach()) <= TOL
    assert max_err(dxs, xs_t.grad) <= TOL
    assert max_err(dh0, h0_t.grad[0]) <= TOL
    expected = torch_grads(module)
    assert grads.keys() == set(gru.PARAM_KEYS)
    for key in gru.PARAM_KEYS:
        assert max_err(grads[key], expected[key]) <= TOL, key


@pytest.mark.parametrize("B,I,H", [(3, 4, 5), (1, 2, 1), (2, 1, 3)])
def test_cell_matches_torch_gru_cell(B, I, H):
    rng = np.random.default_rng(B + 10 * I + 100 * H)
    cell = torch.nn.GRUCell(I, H)
    params = gru.params_from_torch(cell)
    x, h, dh = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    h_next, cache = gru.cell_forward(x, h, params)
    dx, dh_prev, grads = gru.cell_backward(dh, cache)

    x_t, h_t = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    out = cell(x_t, h_t)
    out.backward(torch.tensor(dh))
    assert max_err(h_next, out.detach()) <= TOL
    assert max_err(dx, x_t.grad) <= TOL
    assert max_err(dh_prev, h_t.grad) <= TOL
    expected = torch_grads(cell)
    for key in gru.PARAM_KEYS:
        assert max_err(grads[key], expected[key]) <= TOL, key


def bidirectional_backward(xs, h0, layer_params, douts):
    """Backward of one bidirectional layer, composed from gru.forward/backward (what nn.GRU does)."""
    params_fwd, params_bwd = layer_params
    H = douts.shape[2] // 2
    _, cache_f = gru.forward(xs, h0[0], params_fwd)
    _, cache_b = gru.forward(xs[::-1], h0[1], params_bwd)
    dxs_f, dh0_f, grads_f = gru.backward(douts[:, :, :H], cache_f)
    dxs_b, dh0_b, grads_b = gru.backward(np.ascontiguousarray(douts[::-1, :, H:]), cache_b)
    return dxs_f + dxs_b[::-1], np.stack([dh0_f, dh0_b]), (grads_f, grads_b)


@pytest.mark.parametrize("T,B,I,H", [(5, 3, 4, 3), (1, 1, 2, 1)])
def test_bidirectional_three_layers_forward_and_backward_match_torch(T, B, I, H):
    rng = np.random.default_rng(7 + T)
    L = 3
    module = torch.nn.GRU(I, H, num_layers=L, bidirectional=True)
    layers = [(gru.params_from_torch(module, l), gru.params_from_torch(module, l, reverse=True)) for l in range(L)]
    xs, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((2 * L, B, H))
    douts = rng.standard_normal((T, B, 2 * H))

    outputs, h_n = gru.stacked_forward(xs, layers, h0)
    xs_t, h0_t = torch.tensor(xs, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out_t, h_n_t = module(xs_t, h0_t)
    assert outputs.shape == (T, B, 2 * H) and h_n.shape == (2 * L, B, H)
    assert max_err(outputs, out_t.detach()) <= TOL
    assert max_err(h_n, h_n_t.detach()) <= TOL

    # Backward, layer by layer from the top: only the last layer's outputs receive the loss gradient.
    out_t.backward(torch.tensor(douts))
    layer_inputs = [xs]
    for l in range(L - 1):
        layer_inputs.append(gru.stacked_forward(layer_inputs[-1], [layers[l]], h0[2 * l:2 * l + 2])[0])
    d = douts
    for l in reversed(range(L)):
        d, dh0, (grads_f, grads_b) = bidirectional_backward(layer_inputs[l], h0[2 * l:2 * l + 2], layers[l], d)
        assert max_err(dh0, h0_t.grad[2 * l:2 * l + 2]) <= TOL
        for grads, reverse in ((grads_f, False), (grads_b, True)):
            expected = torch_grads(module, l, reverse)
            for key in gru.PARAM_KEYS:
                assert max_err(grads[key], expected[key]) <= TOL, (l, reverse, key)
    assert max_err(d, xs_t.grad) <= TOL


def test_unidirectional_stack_and_bidirectional_layout_match_torch():
    rng = np.random.default_rng(3)
    T, B, I, H = 4, 2, 3, 5
    module = torch.nn.GRU(I, H, num_layers=2)
    xs = rng.standard_normal((T, B, I))
    outputs, h_n = gru.stacked_forward(xs, [gru.params_from_torch(module, l) for l in range(2)])
    out_t, h_n_t = module(torch.tensor(xs))
    assert max_err(outputs, out_t.detach()) <= TOL and max_err(h_n, h_n_t.detach()) <= TOL

    bi = torch.nn.GRU(I, H, bidirectional=True)
    outputs, h_n = gru.bidirectional_forward(xs, gru.params_from_torch(bi), gru.params_from_torch(bi, reverse=True))
    out_t, h_n_t = bi(torch.tensor(xs))
    assert max_err(outputs, out_t.detach()) <= TOL and max_err(h_n, h_n_t.detach()) <= TOL
    # The backward direction ends at t = 0, which is why output[-1, :, H:] is not its final state.
    assert max_err(h_n[1], outputs[0, :, H:]) == 0.0
    assert max_err(h_n[1], outputs[-1, :, H:]) > 1e-3


# ------------------------------------------------------------------------------------------------------------
# Numerical gradient checks (both reset placements)
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset", ["after", "before"])
def test_cell_backward_numerical(reset):
    rng = np.random.default_rng(11)
    B, I, H = 3, 4, 5
    params = gru.init_params(I, H, rng=rng)
    x, h, dh = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dx, dh_prev, grads = gru.cell_backward(dh, gru.cell_forward(x, h, params, reset=reset)[1])

    check_gradient(dx, numerical_gradient(lambda v: gru.cell_forward(v, h, params, reset=reset)[0], x, dh),
                   name="dx")
    check_gradient(dh_prev, numerical_gradient(lambda v: gru.cell_forward(x, v, params, reset=reset)[0], h, dh),
                   name="dh_prev")
    for key in gru.PARAM_KEYS:
        numeric = numerical_gradient(lambda v: gru.cell_forward(x, h, {**params, key: v}, reset=reset)[0],
                                     params[key].copy(), dh)
        check_gradient(grads[key], numeric, name=key)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_bptt_numerical(reset):
    rng = np.random.default_rng(12)
    T, B, I, H = 6, 2, 3, 4
    params = gru.init_params(I, H, rng=rng)
    xs, h0, dhs = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((T, B, H))
    dxs, dh0, grads = gru.backward(dhs, gru.forward(xs, h0, params, reset=reset)[1])

    check_gradient(dxs, numerical_gradient(lambda v: gru.forward(v, h0, params, reset=reset)[0], xs, dhs),
                   name="dxs")
    check_gradient(dh0, numerical_gradient(lambda v: gru.forward(xs, v, params, reset=reset)[0], h0, dhs),
                   name="dh0")
    for key in gru.PARAM_KEYS:
        numeric = numerical_gradient(lambda v: gru.forward(xs, h0, {**params, key: v}, reset=reset)[0],
                                     params[key].copy(), dhs)
        check_gradient(grads[key], numeric, name=key)


def test_the_check_fails_on_a_wrong_gradient():
    """The numerical check above is not vacuous: it rejects the GRU gradient without the direct path z * dh."""
    rng = np.random.default_rng(13)
    params = gru.init_params(3, 4, rng=rng)
    x, h, dh = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h_next, cache = gru.cell_forward(x, h, params)
    _, dh_prev, _ = gru.cell_backward(dh, cache)
    z = cache[1][2]
    with pytest.raises(AssertionError):
        check_gradient(dh_prev - dh * z, numerical_gradient(lambda v: gru.cell_forward(x, v, params)[0], h, dh))


# ------------------------------------------------------------------------------------------------------------
# The papers' equations, transcribed independently
# ------------------------------------------------------------------------------------------------------------

def cho_step(x, h, W, U, Wz, Uz, Wr, Ur, bz, br, b, bu):
    """Cho et al. 2014, eq. 5-8, for a batch of row vectors: reset before the product, h = z h + (1 - z) h~."""
    r = 1 / (1 + np.exp(-(x @ Wr.T + h @ Ur.T + br)))
    z = 1 / (1 + np.exp(-(x @ Wz.T + h @ Uz.T + bz)))
    h_tilde = np.tanh(x @ W.T + (r * h) @ U.T + b + bu)
    return z * h + (1 - z) * h_tilde


def test_reset_before_is_cho_et_al():
    rng = np.random.default_rng(21)
    T, B, I, H = 5, 3, 4, 6
    p = gru.init_params(I, H, rng=rng)
    xs, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
    hs, _ = gru.forward(xs, h0, p, reset="before")
    h = h0
    for t in range(T):
        h = cho_step(xs[t], h, p["W_in"], p["W_hn"], p["W_iz"], p["W_hz"], p["W_ir"], p["W_hr"],
                     p["b_iz"] + p["b_hz"], p["b_ir"] + p["b_hr"], p["b_in"], p["b_hn"])
        assert max_err(hs[t], h) <= TOL
    # and the placement matters: PyTorch's "after" is a different function of the same weights
    assert max_err(gru.forward(xs, h0, p, reset="after")[0], hs) > 1e-3


def seed_convention_step(x, h, p):
    """The seed tutorial / Chung et al. 2014: h' = z n + (1 - z) h (z near 1 takes the new candidate)."""
    z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
    r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
    return z * n + (1 - z) * h


def test_update_gate_conventions_convert_exactly():
    rng = np.random.default_rng(22)
    p = gru.init_params(4, 5, rng=rng)
    x, h = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    pytorch_out = gru.cell_forward(x, h, p)[0]
    assert max_err(seed_convention_step(x, h, gru.flip_update_gate(p)), pytorch_out) <= TOL
    assert max_err(seed_convention_step(x, h, p), pytorch_out) > 1e-3  # the conventions really differ
    round_trip = gru.flip_update_gate(gru.flip_update_gate(p))
    assert all(np.array_equal(round_trip[k], p[k]) for k in p)
    assert not np.array_equal(gru.flip_update_gate(p)["W_iz"], p["W_iz"])  # and the input was not modified


# ------------------------------------------------------------------------------------------------------------
# Parameters, bridges, dtypes, errors
# ------------------------------------------------------------------------------------------------------------

def test_init_params_like_pytorch():
    params = gru.init_params(7, 16, rng=0)
    assert set(params) == set(gru.PARAM_KEYS)
    bound = 1 / 4
    for key, value in params.items():
        expected_shape = (16, 7) if key.startswith("W_i") else (16, 16) if key.startswith("W_h") else (16,)
        assert value.shape == expected_shape and value.dtype == np.float64
        assert np.all(np.abs(value) <= bound)
    everything = np.concatenate([v.ravel() for v in params.values()])
    assert everything.max() > 0.9 * bound and everything.min() < -0.9 * bound  # really spread over the range
    assert gru.init_params(2, 3, rng=0, dtype=np.float32)["W_hn"].dtype == np.float32
    assert np.array_equal(gru.init_params(2, 3, rng=5)["W_ir"], gru.init_params(2, 3, rng=5)["W_ir"])


def test_params_round_trip_through_torch_modules():
    params = gru.init_params(3, 4, rng=1)
    upper_layer = gru.init_params(8, 4, rng=2)  # layer 1 of a bidirectional GRU reads 2H = 8 features
    for params, module, kwargs in (
            (upper_layer, torch.nn.GRU(3, 4, num_layers=2, bidirectional=True), {"layer": 1, "reverse": True}),
            (params, torch.nn.GRUCell(3, 4), {})):
        gru.params_to_torch(params, module, **kwargs)
        back = gru.params_from_torch(module, **kwargs)
        assert all(np.array_equal(back[k], params[k]) for k in params)
    no_bias = torch.nn.GRU(3, 4, bias=False)
    assert all(np.all(v == 0) for k, v in gru.params_from_torch(no_bias).items() if k.startswith("b"))
    with pytest.raises(ValueError, match="bias=False"):
        gru.params_to_torch(params, no_bias)
    with pytest.raises(ValueError, match="not bidirectional"):
        gru.params_from_torch(torch.nn.GRU(3, 4), reverse=True)


def test_float32_stays_float32_and_inputs_are_not_modified():
    rng = np.random.default_rng(4)
    params = gru.init_params(3, 4, rng=rng, dtype=np.float32)
    xs, h0 = rng.standard_normal((5, 2, 3)).astype(np.float32), np.zeros((2, 4), np.float32)
    xs_copy, params_copy = xs.copy(), {k: v.copy() for k, v in params.items()}
    hs, cache = gru.forward(xs, h0, params)
    dxs, dh0, grads = gru.backward(np.ones_like(hs), cache)
    assert hs.dtype == dxs.dtype == grads["W_hn"].dtype == np.float32
    assert np.array_equal(xs, xs_copy) and all(np.array_equal(params[k], params_copy[k]) for k in params)
    reference = gru.forward(xs.astype(np.float64), h0.astype(np.float64),
                            {k: v.astype(np.float64) for k, v in params.items()})[0]
    assert max_err(hs, reference) < 1e-5


def test_saturated_gates_stay_finite():
    params = gru.init_params(3, 4, rng=0)
    x = 1e4 * np.ones((2, 3))
    h_next, cache = gru.cell_forward(x, np.zeros((2, 4)), params)
    dx, dh_prev, grads = gru.cell_backward(np.ones((2, 4)), cache)
    assert np.all(np.isfinite(h_next)) and np.all(np.isfinite(dx)) and np.all(np.isfinite(dh_prev))


def test_bad_input_names_the_expected_shape():
    params = gru.init_params(3, 4, rng=0)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., B, I\) with I = 3"):
        gru.cell_forward(np.zeros((2, 5)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"h_prev has shape \(2, 3\); expected \(B, H\) = \(2, 4\)"):
        gru.cell_forward(np.zeros((2, 3)), np.zeros((2, 3)), params)
    with pytest.raises(ValueError, match=r"expected \(T, B, I\)"):
        gru.forward(np.zeros((2, 3)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match="reset must be"):
        gru.forward(np.zeros((1, 2, 3)), np.zeros((2, 4)), params, reset="middle")
    with pytest.raises(KeyError, match="missing"):
        gru.cell_forward(np.zeros((2, 3)), np.zeros((2, 4)), {"W_ir": params["W_ir"]})
    hs, cache = gru.forward(np.zeros((2, 2, 3)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match="dhs has shape"):
        gru.backward(np.zeros((3, 2, 4)), cache)


def test_importing_coursekit_does_not_import_torch():
    code = ("import sys, coursekit, coursekit.gru, coursekit.checking, coursekit.items; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_blas_runs_on_one_thread_after_importing_coursekit():
    """Per-step recurrences are many small products: OpenBLAS threads would slow them down (see coursekit/__init__)."""
    code = ("import coursekit, threadpoolctl; "
            "blas = [i for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']; "
            "assert blas and all(i['num_threads'] == 1 for i in blas), blas")
    subprocess.run([sys.executable, "-c", code], check=True)
