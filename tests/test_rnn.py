import numpy as np
import pytest
import torch

from coursekit import rnn
from coursekit.gradcheck import check_gradient, numerical_gradient

# (T, B, I, H), including the degenerate sizes 1.
SHAPES = [(1, 1, 1, 1), (1, 3, 2, 4), (5, 1, 3, 1), (4, 2, 1, 3), (6, 3, 4, 5), (3, 2, 5, 2)]
TOL = 1e-10
# Fourth-order differences: accurate enough that gradient entries near 0 still reach a relative error of 1e-7
# (with the two-point formula, about 1 random configuration in 8 has such an entry).
NUMERIC = {"order": 4, "h": 1e-4}


def _np(tensor):
    return tensor.detach().numpy()


def _max_err(a, b):
    assert np.shape(a) == np.shape(b)
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _data(seed, T, B, I, H):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((T, B, H))


# ----------------------------------------------------------------------------------------------------------------
# Parity with PyTorch, forward and backward
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,shape", list(enumerate(SHAPES)))
def test_sequence_matches_torch_rnn(seed, shape):
    T, B, I, H = shape
    torch.manual_seed(seed)
    module = torch.nn.RNN(I, H, dtype=torch.float64)
    params = rnn.params_from_torch(module)
    xs, h0, dhs = _data(seed, T, B, I, H)

    hs, cache = rnn.forward(xs, h0, params)
    dxs, dh0, grads = rnn.backward(dhs, cache)

    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    out, h_n = module(xs_t, h0_t)
    (out * torch.tensor(dhs)).sum().backward()

    assert _max_err(hs, _np(out)) <= TOL
    assert _max_err(hs[-1], _np(h_n[0])) <= TOL
    assert _max_err(dxs, _np(xs_t.grad)) <= TOL
    assert _max_err(dh0, _np(h0_t.grad[0])) <= TOL
    torch_grads = {"W_ih": module.weight_ih_l0.grad, "W_hh": module.weight_hh_l0.grad,
                   "b_ih": module.bias_ih_l0.grad, "b_hh": module.bias_hh_l0.grad}
    assert set(grads) == set(torch_grads)
    for key, expected in torch_grads.items():
        assert _max_err(grads[key], _np(expected)) <= TOL, key


@pytest.mark.parametrize("seed,shape", list(enumerate(SHAPES)))
def test_cell_matches_torch_rnncell(seed, shape):
    _, B, I, H = shape
    torch.manual_seed(100 + seed)
    cell = torch.nn.RNNCell(I, H, dtype=torch.float64)
    params = rnn.params_from_torch(cell)
    rng = np.random.default_rng(100 + seed)
    x, h, dh_next = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))

    h_next, cache = rnn.cell_forward(x, h, params)
    dx, dh, grads = rnn.cell_backward(dh_next, cache)

    x_t, h_t = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    out = cell(x_t, h_t)
    (out * torch.tensor(dh_next)).sum().backward()

    assert _max_err(h_next, _np(out)) <= TOL
    assert _max_err(dx, _np(x_t.grad)) <= TOL
    assert _max_err(dh, _np(h_t.grad)) <= TOL
    for key, name in zip(rnn.PARAM_KEYS, ("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        assert _max_err(grads[key], _np(getattr(cell, name).grad)) <= TOL, key


def test_sequence_equals_repeated_cells():
    params = rnn.init_params(3, 4, rng=0)
    xs, h0, dhs = _data(1, 5, 2, 3, 4)
    hs, _ = rnn.forward(xs, h0, params)
    h = h0
    for t in range(5):
        h, _ = rnn.cell_forward(xs[t], h, params)
        assert _max_err(hs[t], h) <= TOL


# ----------------------------------------------------------------------------------------------------------------
# Numerical gradient checks
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,shape", [(0, (1, 1, 1, 1)), (1, (3, 2, 2, 3)), (2, (4, 1, 3, 2))])
def test_backward_passes_numerical_gradient_check(seed, shape):
    T, B, I, H = shape
    params = rnn.init_params(I, H, rng=seed)
    xs, h0, dhs = _data(seed, T, B, I, H)
    _, cache = rnn.forward(xs, h0, params)
    dxs, dh0, grads = rnn.backward(dhs, cache)

    def hs_of(_):
        return rnn.forward(xs, h0, params)[0]

    check_gradient(dxs, numerical_gradient(hs_of, xs, dhs, **NUMERIC), name="dxs")
    check_gradient(dh0, numerical_gradient(hs_of, h0, dhs, **NUMERIC), name="dh0")
    for key in rnn.PARAM_KEYS:
        check_gradient(grads[key], numerical_gradient(hs_of, params[key], dhs, **NUMERIC), name=key)


def test_cell_backward_passes_numerical_gradient_check():
    params = rnn.init_params(3, 2, rng=5)
    rng = np.random.default_rng(5)
    x, h, dh_next = rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    _, cache = rnn.cell_forward(x, h, params)
    dx, dh, grads = rnn.cell_backward(dh_next, cache)

    def step(_):
        return rnn.cell_forward(x, h, params)[0]

    check_gradient(dx, numerical_gradient(step, x, dh_next, **NUMERIC), name="dx")
    check_gradient(dh, numerical_gradient(step, h, dh_next, **NUMERIC), name="dh_prev")
    for key in rnn.PARAM_KEYS:
        check_gradient(grads[key], numerical_gradient(step, params[key], dh_next, **NUMERIC), name=key)


# ----------------------------------------------------------------------------------------------------------------
# init_params
# ----------------------------------------------------------------------------------------------------------------

def test_init_params_shapes_range_and_seed():
    I, H = 3, 16
    params = rnn.init_params(I, H, rng=0)
    assert {k: v.shape for k, v in params.items()} == {"W_ih": (H, I), "W_hh": (H, H), "b_ih": (H,), "b_hh": (H,)}
    bound = 1 / np.sqrt(H)
    for value in params.values():
        assert value.dtype == np.float64
        assert np.all(np.abs(value) <= bound)
    # Spread over the whole range (256 uniform draws all inside 80% of it would be a 1e-25 event).
    assert params["W_hh"].min() < -0.8 * bound and params["W_hh"].max() > 0.8 * bound
    again = rnn.init_params(I, H, rng=np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    other = rnn.init_params(I, H, rng=1)
    assert not np.array_equal(params["W_hh"], other["W_hh"])
    assert rnn.init_params(I, H, rng=0, dtype=np.float32)["W_ih"].dtype == np.float32
    with pytest.raises(ValueError):
        rnn.init_params(0, H)


# ----------------------------------------------------------------------------------------------------------------
# Bridges
# ----------------------------------------------------------------------------------------------------------------

def test_params_round_trip_through_torch():
    params = rnn.init_params(3, 4, rng=2)
    cell = torch.nn.RNNCell(3, 4, dtype=torch.float64)
    rnn.params_to_torch(params, cell)
    assert np.array_equal(_np(cell.weight_hh), params["W_hh"])
    back = rnn.params_from_torch(cell)
    assert set(back) == set(params)
    for key in params:
        assert back[key].dtype == np.float64
        assert np.array_equal(back[key], params[key])
    back["W_ih"][0, 0] += 1.0  # a copy, not a view of the module's tensor
    assert _np(cell.weight_ih)[0, 0] == params["W_ih"][0, 0]


def test_params_to_torch_keeps_module_dtype():
    module = torch.nn.RNN(2, 3)  # float32
    params = rnn.init_params(2, 3, rng=3)
    rnn.params_to_torch(params, module)
    assert module.weight_ih_l0.dtype == torch.float32
    assert np.allclose(_np(module.weight_ih_l0), params["W_ih"], atol=1e-7)
    assert rnn.params_from_torch(module)["W_ih"].dtype == np.float64


def test_two_layer_bidirectional_module():
    T, B, I, H = 4, 2, 3, 5
    torch.manual_seed(7)
    module = torch.nn.RNN(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    xs, _, _ = _data(7, T, B, I, H)
    h0 = np.random.default_rng(8).standard_normal((4, B, H))

    # Rebuild nn.RNN's output from four unidirectional NumPy RNNs, each with its own layer/direction weights.
    inputs = xs
    for layer in range(2):
        fwd = rnn.params_from_torch(module, layer=layer)
        bwd = rnn.params_from_torch(module, layer=layer, reverse=True)
        assert fwd["W_ih"].shape == (H, I if layer == 0 else 2 * H)
        hs_f, _ = rnn.forward(inputs, h0[2 * layer], fwd)
        hs_b, _ = rnn.forward(inputs[::-1], h0[2 * layer + 1], bwd)
        inputs = np.concatenate([hs_f, hs_b[::-1]], axis=2)
    out, _ = module(torch.tensor(xs), torch.tensor(h0))
    assert _max_err(inputs, _np(out)) <= TOL

    # Writing one layer/direction changes exactly those tensors.
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    new = rnn.init_params(2 * H, H, rng=9)
    rnn.params_to_torch(new, module, layer=1, reverse=True)
    for name, p in module.named_parameters():
        assert torch.equal(p, before[name]) == (not name.endswith("_l1_reverse")), name
    back = rnn.params_from_torch(module, layer=1, reverse=True)
    assert all(np.array_equal(back[k], new[k]) for k in new)


def test_bias_free_modules():
    module = torch.nn.RNN(2, 3, bias=False, dtype=torch.float64)
    params = rnn.params_from_torch(module)
    assert np.array_equal(params["b_ih"], np.zeros(3)) and np.array_equal(params["b_hh"], np.zeros(3))
    rnn.params_to_torch(params, module)  # zero biases are fine
    params["b_hh"][0] = 1.0
    with pytest.raises(ValueError, match="bias=False"):
        rnn.params_to_torch(params, module)


def test_bridge_rejects_wrong_modules_and_layers():
    params = rnn.init_params(2, 3, rng=0)
    with pytest.raises(ValueError, match="tanh"):
        rnn.params_from_torch(torch.nn.RNN(2, 3, nonlinearity="relu"))
    with pytest.raises(ValueError, match="RNNCell"):
        rnn.params_from_torch(torch.nn.GRU(2, 3))
    with pytest.raises(ValueError, match="layer=1"):
        rnn.params_from_torch(torch.nn.RNN(2, 3), layer=1)
    with pytest.raises(ValueError, match="bidirectional"):
        rnn.params_to_torch(params, torch.nn.RNN(2, 3), reverse=True)
    with pytest.raises(ValueError, match="single layer"):
        rnn.params_from_torch(torch.nn.RNNCell(2, 3), layer=1)
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        rnn.params_to_torch(params, torch.nn.RNN(4, 3))


# ----------------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------------

def test_bad_shapes_name_the_expected_shape():
    params = rnn.init_params(3, 4, rng=0)
    with pytest.raises(ValueError, match=r"x has shape \(2, 5\); expected \(B, I\) with I = 3"):
        rnn.cell_forward(np.zeros((2, 5)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"h_prev has shape \(3, 4\); expected \(B, H\) = \(2, 4\)"):
        rnn.cell_forward(np.zeros((2, 3)), np.zeros((3, 4)), params)
    with pytest.raises(ValueError, match=r"xs has shape \(2, 3\); expected \(T, B, I\)"):
        rnn.forward(np.zeros((2, 3)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"xs has shape \(5, 2, 4\); expected \(T, B, I\) with I = 3"):
        rnn.forward(np.zeros((5, 2, 4)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 3\); expected \(B, H\) = \(2, 4\)"):
        rnn.forward(np.zeros((5, 2, 3)), np.zeros((2, 3)), params)
    _, cache = rnn.forward(np.zeros((5, 2, 3)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"dhs has shape \(5, 2, 3\); expected \(T, B, H\) = \(5, 2, 4\)"):
        rnn.backward(np.zeros((5, 2, 3)), cache)
    _, cache = rnn.cell_forward(np.zeros((2, 3)), np.zeros((2, 4)), params)
    with pytest.raises(ValueError, match=r"dh_next has shape \(4,\); expected \(B, H\) = \(2, 4\)"):
        rnn.cell_backward(np.zeros(4), cache)
    bad = dict(params, W_hh=np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"W_hh has shape \(4, 3\); expected \(4, 4\)"):
        rnn.cell_forward(np.zeros((2, 3)), np.zeros((2, 4)), bad)
    with pytest.raises(KeyError, match="b_hh"):
        rnn.forward(np.zeros((5, 2, 3)), np.zeros((2, 4)), {k: v for k, v in params.items() if k != "b_hh"})
