import numpy as np
import pytest
import torch

from coursekit import lstm
from coursekit.gradcheck import check_gradient, numerical_gradient

# (T, B, I, H), including the degenerate sizes 1.
SHAPES = [(1, 1, 1, 1), (1, 3, 2, 4), (5, 1, 3, 1), (4, 2, 1, 3), (6, 3, 4, 5), (3, 2, 5, 2)]
TOL = 1e-10
# Fourth-order differences: accurate enough that gradient entries near 0 still reach a relative error of 1e-7.
NUMERIC = {"order": 4, "h": 1e-4}


def _np(tensor):
    return tensor.detach().numpy()


def _max_err(a, b):
    assert np.shape(a) == np.shape(b)
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _data(seed, T, B, I, H):
    """xs, h0, c0, dhs, dcs."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H)),
            rng.standard_normal((T, B, H)), rng.standard_normal((T, B, H)))


def _gate_blocks(tensor, H):
    """Split a torch weight/bias (or its gradient) into the i, f, g, o blocks of its rows."""
    return dict(zip("ifgo", (_np(tensor)[k * H:(k + 1) * H] for k in range(4))))


def _torch_grads(module, H, suffix=""):
    """The module's gradients under coursekit's names, sliced here (independently of coursekit.lstm)."""
    grads = {}
    for kind, prefix in (("weight_ih", "W_i"), ("weight_hh", "W_h"), ("bias_ih", "b_i"), ("bias_hh", "b_h")):
        for gate, block in _gate_blocks(getattr(module, kind + suffix).grad, H).items():
            grads[prefix + gate] = block
    return grads


# ----------------------------------------------------------------------------------------------------------------
# Parity with PyTorch, forward and backward
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,shape", list(enumerate(SHAPES)))
def test_sequence_matches_torch_lstm(seed, shape):
    T, B, I, H = shape
    torch.manual_seed(seed)
    module = torch.nn.LSTM(I, H, dtype=torch.float64)
    params = lstm.params_from_torch(module)
    xs, h0, c0, dhs, dcs = _data(seed, T, B, I, H)
    dc_n = dcs[-1]

    hs, cs, cache = lstm.forward(xs, h0, c0, params)
    dcs_last_only = np.zeros_like(dcs)
    dcs_last_only[-1] = dc_n
    dxs, dh0, dc0, grads = lstm.backward(dhs, dcs_last_only, cache)

    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    c0_t = torch.tensor(c0[None], requires_grad=True)
    out, (h_n, c_n) = module(xs_t, (h0_t, c0_t))
    ((out * torch.tensor(dhs)).sum() + (c_n[0] * torch.tensor(dc_n)).sum()).backward()

    assert _max_err(hs, _np(out)) <= TOL
    assert _max_err(hs[-1], _np(h_n[0])) <= TOL
    assert _max_err(cs[-1], _np(c_n[0])) <= TOL
    assert _max_err(dxs, _np(xs_t.grad)) <= TOL
    assert _max_err(dh0, _np(h0_t.grad[0])) <= TOL
    assert _max_err(dc0, _np(c0_t.grad[0])) <= TOL
    expected = _torch_grads(module, H, "_l0")
    assert set(grads) == set(expected) == set(lstm.PARAM_KEYS)
    for key, value in expected.items():
        assert _max_err(grads[key], value) <= TOL, key


@pytest.mark.parametrize("seed,shape", list(enumerate(SHAPES)))
def test_cell_matches_torch_lstmcell(seed, shape):
    _, B, I, H = shape
    torch.manual_seed(100 + seed)
    cell = torch.nn.LSTMCell(I, H, dtype=torch.float64)
    params = lstm.params_from_torch(cell)
    rng = np.random.default_rng(100 + seed)
    x, h, c, dh_next, dc_next = (rng.standard_normal(s) for s in ((B, I), (B, H), (B, H), (B, H), (B, H)))

    h_next, c_next, cache = lstm.cell_forward(x, h, c, params)
    dx, dh, dc, grads = lstm.cell_backward(dh_next, dc_next, cache)

    x_t, h_t, c_t = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    h_out, c_out = cell(x_t, (h_t, c_t))
    ((h_out * torch.tensor(dh_next)).sum() + (c_out * torch.tensor(dc_next)).sum()).backward()

    assert _max_err(h_next, _np(h_out)) <= TOL
    assert _max_err(c_next, _np(c_out)) <= TOL
    assert _max_err(dx, _np(x_t.grad)) <= TOL
    assert _max_err(dh, _np(h_t.grad)) <= TOL
    assert _max_err(dc, _np(c_t.grad)) <= TOL
    for key, value in _torch_grads(cell, H).items():
        assert _max_err(grads[key], value) <= TOL, key


def test_gradients_on_every_cell_state_match_a_torch_loop():
    # nn.LSTM only returns the last cell state, so the loss on every cs[t] is checked against an LSTMCell loop.
    T, B, I, H = 5, 2, 3, 4
    params = lstm.init_params(I, H, rng=11)
    xs, h0, c0, dhs, dcs = _data(11, T, B, I, H)
    hs, cs, cache = lstm.forward(xs, h0, c0, params)
    dxs, dh0, dc0, grads = lstm.backward(dhs, dcs, cache)

    cell = torch.nn.LSTMCell(I, H, dtype=torch.float64)
    lstm.params_to_torch(params, cell)
    xs_t, h0_t, c0_t = (torch.tensor(a, requires_grad=True) for a in (xs, h0, c0))
    h, c, loss = h0_t, c0_t, 0.0
    for t in range(T):
        h, c = cell(xs_t[t], (h, c))
        assert _max_err(hs[t], _np(h)) <= TOL and _max_err(cs[t], _np(c)) <= TOL
        loss = loss + (h * torch.tensor(dhs[t])).sum() + (c * torch.tensor(dcs[t])).sum()
    loss.backward()
    assert _max_err(dxs, _np(xs_t.grad)) <= TOL
    assert _max_err(dh0, _np(h0_t.grad)) <= TOL
    assert _max_err(dc0, _np(c0_t.grad)) <= TOL
    for key, value in _torch_grads(cell, H).items():
        assert _max_err(grads[key], value) <= TOL, key


def test_sequence_equals_repeated_cells_and_dcs_none_means_zeros():
    params = lstm.init_params(3, 4, rng=0)
    xs, h0, c0, dhs, _ = _data(1, 5, 2, 3, 4)
    hs, cs, cache = lstm.forward(xs, h0, c0, params)
    h, c = h0, c0
    for t in range(5):
        h, c, _ = lstm.cell_forward(xs[t], h, c, params)
        assert _max_err(hs[t], h) <= TOL and _max_err(cs[t], c) <= TOL
    with_none = lstm.backward(dhs, None, cache)
    with_zeros = lstm.backward(dhs, np.zeros_like(dhs), cache)
    for a, b in zip(with_none[:3], with_zeros[:3]):
        assert np.array_equal(a, b)
    assert all(np.array_equal(with_none[3][k], with_zeros[3][k]) for k in lstm.PARAM_KEYS)


def test_gate_names_follow_the_equations():
    # Weights 0, biases only: each gate is a known constant, so c' and h' can be computed by hand from the names.
    H = 2
    params = {k: np.zeros((H, 3) if k.startswith("W_i") else (H, H)) for k in lstm.WEIGHT_KEYS}
    params.update({k: np.zeros(H) for k in lstm.BIAS_KEYS})
    params["b_ii"][:], params["b_hi"][:] = 0.3, 0.2  # i = sigmoid(0.5)
    params["b_if"][:] = -1.0                         # f = sigmoid(-1)
    params["b_hg"][:] = 0.7                          # g = tanh(0.7)
    params["b_io"][:] = 2.0                          # o = sigmoid(2)
    c_prev = np.array([[0.5, -1.5]])
    h_next, c_next, _ = lstm.cell_forward(np.ones((1, 3)), np.ones((1, H)), c_prev, params)
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    expected_c = s(-1.0) * c_prev + s(0.5) * np.tanh(0.7)
    assert _max_err(c_next, expected_c) <= 1e-15
    assert _max_err(h_next, s(2.0) * np.tanh(expected_c)) <= 1e-15


# ----------------------------------------------------------------------------------------------------------------
# Numerical gradient checks
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,shape", [(0, (1, 1, 1, 1)), (1, (3, 2, 2, 3)), (2, (4, 1, 3, 2))])
def test_backward_passes_numerical_gradient_check(seed, shape):
    T, B, I, H = shape
    params = lstm.init_params(I, H, rng=seed)
    xs, h0, c0, dhs, dcs = _data(seed, T, B, I, H)
    _, _, cache = lstm.forward(xs, h0, c0, params)
    dxs, dh0, dc0, grads = lstm.backward(dhs, dcs, cache)

    upstream = np.concatenate([dhs, dcs])  # loss = sum(hs * dhs) + sum(cs * dcs)

    def states(_):
        hs, cs, _ = lstm.forward(xs, h0, c0, params)
        return np.concatenate([hs, cs])

    check_gradient(dxs, numerical_gradient(states, xs, upstream, **NUMERIC), name="dxs")
    check_gradient(dh0, numerical_gradient(states, h0, upstream, **NUMERIC), name="dh0")
    check_gradient(dc0, numerical_gradient(states, c0, upstream, **NUMERIC), name="dc0")
    for key in lstm.PARAM_KEYS:
        check_gradient(grads[key], numerical_gradient(states, params[key], upstream, **NUMERIC), name=key)


def test_cell_backward_passes_numerical_gradient_check():
    params = lstm.init_params(3, 2, rng=5)
    rng = np.random.default_rng(5)
    x, h, c, dh_next, dc_next = (rng.standard_normal(s) for s in ((2, 3), (2, 2), (2, 2), (2, 2), (2, 2)))
    _, _, cache = lstm.cell_forward(x, h, c, params)
    dx, dh, dc, grads = lstm.cell_backward(dh_next, dc_next, cache)
    upstream = np.concatenate([dh_next, dc_next])

    def step(_):
        h_next, c_next, _ = lstm.cell_forward(x, h, c, params)
        return np.concatenate([h_next, c_next])

    check_gradient(dx, numerical_gradient(step, x, upstream, **NUMERIC), name="dx")
    check_gradient(dh, numerical_gradient(step, h, upstream, **NUMERIC), name="dh_prev")
    check_gradient(dc, numerical_gradient(step, c, upstream, **NUMERIC), name="dc_prev")
    for key in lstm.PARAM_KEYS:
        check_gradient(grads[key], numerical_gradient(step, params[key], upstream, **NUMERIC), name=key)


# ----------------------------------------------------------------------------------------------------------------
# init_params
# ----------------------------------------------------------------------------------------------------------------

def test_init_params_shapes_range_and_seed():
    I, H = 3, 16
    params = lstm.init_params(I, H, rng=0)
    expected = {k: (H, I) for k in ("W_ii", "W_if", "W_ig", "W_io")}
    expected.update({k: (H, H) for k in ("W_hi", "W_hf", "W_hg", "W_ho")})
    expected.update({k: (H,) for k in lstm.BIAS_KEYS})
    assert {k: v.shape for k, v in params.items()} == expected
    bound = 1 / np.sqrt(H)
    for key, value in params.items():
        assert value.dtype == np.float64
        assert np.all(np.abs(value) <= bound), key
    # Spread over the whole range (256 uniform draws all inside 80% of it would be a 1e-25 event).
    assert params["W_hf"].min() < -0.8 * bound and params["W_hf"].max() > 0.8 * bound
    assert not np.array_equal(params["W_hi"], params["W_hf"])  # each gate drawn separately
    again = lstm.init_params(I, H, rng=np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert not np.array_equal(params["W_ho"], lstm.init_params(I, H, rng=1)["W_ho"])
    assert lstm.init_params(I, H, rng=0, dtype=np.float32)["b_ig"].dtype == np.float32
    with pytest.raises(ValueError):
        lstm.init_params(I, 0)


# ----------------------------------------------------------------------------------------------------------------
# Bridges
# ----------------------------------------------------------------------------------------------------------------

def test_params_round_trip_through_torch():
    H = 4
    params = lstm.init_params(3, H, rng=2)
    cell = torch.nn.LSTMCell(3, H, dtype=torch.float64)
    lstm.params_to_torch(params, cell)
    blocks = _gate_blocks(cell.weight_hh, H)
    for gate in "ifgo":
        assert np.array_equal(blocks[gate], params["W_h" + gate])  # rows are i|f|g|o
    back = lstm.params_from_torch(cell)
    assert set(back) == set(params)
    for key in params:
        assert back[key].dtype == np.float64
        assert np.array_equal(back[key], params[key])
    back["W_ig"][0, 0] += 1.0  # a copy, not a view of the module's tensor
    assert _np(cell.weight_ih)[2 * H, 0] == params["W_ig"][0, 0]


def test_params_to_torch_keeps_module_dtype():
    module = torch.nn.LSTM(2, 3)  # float32
    params = lstm.init_params(2, 3, rng=3)
    lstm.params_to_torch(params, module)
    assert module.weight_ih_l0.dtype == torch.float32
    assert np.allclose(_np(module.bias_hh_l0)[6:9], params["b_hg"], atol=1e-7)
    assert lstm.params_from_torch(module)["W_io"].dtype == np.float64


def test_two_layer_bidirectional_module():
    T, B, I, H = 4, 2, 3, 5
    torch.manual_seed(7)
    module = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    xs = np.random.default_rng(7).standard_normal((T, B, I))
    h0, c0 = np.random.default_rng(8).standard_normal((2, 4, B, H))

    # Rebuild nn.LSTM's outputs from four unidirectional NumPy LSTMs, each with its own layer/direction weights.
    inputs, h_n, c_n = xs, [], []
    for layer in range(2):
        fwd = lstm.params_from_torch(module, layer=layer)
        bwd = lstm.params_from_torch(module, layer=layer, reverse=True)
        assert fwd["W_ii"].shape == (H, I if layer == 0 else 2 * H)
        hs_f, cs_f, _ = lstm.forward(inputs, h0[2 * layer], c0[2 * layer], fwd)
        hs_b, cs_b, _ = lstm.forward(inputs[::-1], h0[2 * layer + 1], c0[2 * layer + 1], bwd)
        inputs = np.concatenate([hs_f, hs_b[::-1]], axis=2)
        h_n += [hs_f[-1], hs_b[-1]]
        c_n += [cs_f[-1], cs_b[-1]]
    out, (h_n_t, c_n_t) = module(torch.tensor(xs), (torch.tensor(h0), torch.tensor(c0)))
    assert _max_err(inputs, _np(out)) <= TOL
    assert _max_err(np.stack(h_n), _np(h_n_t)) <= TOL
    assert _max_err(np.stack(c_n), _np(c_n_t)) <= TOL

    # Writing one layer/direction changes exactly those tensors.
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    new = lstm.init_params(2 * H, H, rng=9)
    lstm.params_to_torch(new, module, layer=1, reverse=True)
    for name, p in module.named_parameters():
        assert torch.equal(p, before[name]) == (not name.endswith("_l1_reverse")), name
    back = lstm.params_from_torch(module, layer=1, reverse=True)
    assert all(np.array_equal(back[k], new[k]) for k in new)


def test_bias_free_modules():
    module = torch.nn.LSTM(2, 3, bias=False, dtype=torch.float64)
    params = lstm.params_from_torch(module)
    assert all(np.array_equal(params[k], np.zeros(3)) for k in lstm.BIAS_KEYS)
    lstm.params_to_torch(params, module)  # zero biases are fine
    params["b_hf"][0] = 1.0
    with pytest.raises(ValueError, match="bias=False"):
        lstm.params_to_torch(params, module)


def test_bridge_rejects_wrong_modules_and_layers():
    params = lstm.init_params(2, 3, rng=0)
    with pytest.raises(ValueError, match="proj_size"):
        lstm.params_from_torch(torch.nn.LSTM(2, 3, proj_size=2))
    with pytest.raises(ValueError, match="LSTMCell"):
        lstm.params_from_torch(torch.nn.GRU(2, 3))
    with pytest.raises(ValueError, match="layer=2"):
        lstm.params_from_torch(torch.nn.LSTM(2, 3, num_layers=2), layer=2)
    with pytest.raises(ValueError, match="bidirectional"):
        lstm.params_to_torch(params, torch.nn.LSTM(2, 3), reverse=True)
    with pytest.raises(ValueError, match="single layer"):
        lstm.params_to_torch(params, torch.nn.LSTMCell(2, 3), reverse=True)
    with pytest.raises(ValueError, match=r"\(12, 4\)"):
        lstm.params_to_torch(params, torch.nn.LSTM(4, 3))


# ----------------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------------

def test_bad_shapes_name_the_expected_shape():
    params = lstm.init_params(3, 4, rng=0)
    z = np.zeros
    with pytest.raises(ValueError, match=r"x has shape \(2, 5\); expected \(B, I\) with I = 3"):
        lstm.cell_forward(z((2, 5)), z((2, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"c_prev has shape \(2, 3\); expected \(B, H\) = \(2, 4\)"):
        lstm.cell_forward(z((2, 3)), z((2, 4)), z((2, 3)), params)
    with pytest.raises(ValueError, match=r"h_prev has shape \(1, 4\); expected \(B, H\) = \(2, 4\)"):
        lstm.cell_forward(z((2, 3)), z((1, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"xs has shape \(2, 3\); expected \(T, B, I\)"):
        lstm.forward(z((2, 3)), z((2, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"xs has shape \(5, 2, 4\); expected \(T, B, I\) with I = 3"):
        lstm.forward(z((5, 2, 4)), z((2, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"c0 has shape \(4,\); expected \(B, H\) = \(2, 4\)"):
        lstm.forward(z((5, 2, 3)), z((2, 4)), z(4), params)
    _, _, cache = lstm.forward(z((5, 2, 3)), z((2, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"dcs has shape \(2, 4\); expected \(T, B, H\) = \(5, 2, 4\)"):
        lstm.backward(z((5, 2, 4)), z((2, 4)), cache)
    _, _, cache = lstm.cell_forward(z((2, 3)), z((2, 4)), z((2, 4)), params)
    with pytest.raises(ValueError, match=r"dh_next has shape \(2, 3\); expected \(B, H\) = \(2, 4\)"):
        lstm.cell_backward(z((2, 3)), None, cache)
    bad = dict(params, W_hg=z((4, 3)))
    with pytest.raises(ValueError, match=r"W_hg has shape \(4, 3\); expected \(4, 4\)"):
        lstm.cell_forward(z((2, 3)), z((2, 4)), z((2, 4)), bad)
    with pytest.raises(KeyError, match="b_io"):
        lstm.forward(z((5, 2, 3)), z((2, 4)), z((2, 4)), {k: v for k, v in params.items() if k != "b_io"})
