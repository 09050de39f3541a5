"""coursekit.gradflow: ||dL/dh_t|| agrees with NumPy backpropagation through time (coursekit.rnn/gru/lstm) on the
same weights, and the memory-gate bias lands on the right rows."""

import numpy as np
import pytest

from coursekit import gru, lstm, rnn
from coursekit.gradflow import set_memory_gate_bias, state_gradient_norms

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    """Per-step calls on tiny tensors: one thread is much faster on a shared CPU; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def numpy_norms(kind, module, xs):
    """||dL/dh_t|| from NumPy BPTT: dL/dh_t is dh0 of the backward pass over xs[t+1:] started from (h_t, c_t)."""
    T, B, _ = xs.shape
    H = module.hidden_size
    zeros = np.zeros((B, H))
    if kind == "lstm":
        params = lstm.params_from_torch(module)
        hs, cs, _ = lstm.forward(xs, zeros, zeros, params)
    else:
        library = rnn if kind == "rnn" else gru
        params = library.params_from_torch(module)
        hs, _ = library.forward(xs, zeros, params)
    norms = [np.sqrt(B * H)]  # dL/dh_{T-1} = ones
    for t in range(T - 2, -1, -1):
        rest = xs[t + 1:]
        dhs = np.zeros((len(rest), B, H))
        dhs[-1] = 1.0
        if kind == "lstm":
            _, _, cache = lstm.forward(rest, hs[t], cs[t], params)
            _, dh, _, _ = lstm.backward(dhs, None, cache)
        else:
            _, cache = library.forward(rest, hs[t], params)
            _, dh, _ = library.backward(dhs, cache)
        norms.append(np.linalg.norm(dh))
    return np.array(norms[::-1])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("T, B, I, H, bias", [(1, 2, 3, 4, 0.0), (9, 3, 2, 5, 0.0), (15, 1, 1, 3, 2.0)])
def test_norms_match_numpy_backpropagation_through_time(kind, T, B, I, H, bias):
    torch.manual_seed(T + H)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H).double()
    if bias and kind != "rnn":
        set_memory_gate_bias(module, bias)
    xs = np.random.default_rng(T).standard_normal((T, B, I))
    norms = state_gradient_norms(module, torch.tensor(xs))
    assert norms.shape == (T,) and norms.dtype == np.float64
    assert np.allclose(norms, numpy_norms(kind, module, xs), rtol=1e-10, atol=1e-14)


def test_memory_gate_bias_sets_the_update_and_forget_gate_rows_only():
    H = 3
    for cls in (torch.nn.GRU, torch.nn.LSTM):
        module = cls(2, H)
        before = {name: p.detach().clone() for name, p in module.named_parameters()}
        assert set_memory_gate_bias(module, 2.5) is module
        assert torch.all(module.bias_ih_l0[H:2 * H] == 2.5) and torch.all(module.bias_hh_l0[H:2 * H] == 0)
        for name in ("bias_ih_l0", "bias_hh_l0"):
            changed = getattr(module, name).detach() != before[name]
            assert not changed[:H].any() and not changed[2 * H:].any()
        for name in ("weight_ih_l0", "weight_hh_l0"):
            assert torch.equal(getattr(module, name), before[name])
    # The GRU's update gate: a large bias makes z = sigmoid(...) ~ 1, so the state barely moves (z keeps h).
    module = set_memory_gate_bias(torch.nn.GRU(2, H).double(), 30.0)
    h0 = torch.randn(1, 4, H, dtype=torch.float64)
    _, h1 = module(torch.randn(1, 4, 2, dtype=torch.float64), h0)
    assert torch.allclose(h1, h0, atol=1e-9)


def test_bad_modules_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="no gate"):
        set_memory_gate_bias(torch.nn.RNN(2, 3), 1.0)
    with pytest.raises(ValueError, match="bias=False"):
        set_memory_gate_bias(torch.nn.GRU(2, 3, bias=False), 1.0)
    with pytest.raises(ValueError, match="num_layers=2"):
        state_gradient_norms(torch.nn.GRU(2, 3, num_layers=2), torch.zeros(4, 1, 2))
    with pytest.raises(ValueError, match="nn.RNN, nn.LSTM or nn.GRU"):
        state_gradient_norms(torch.nn.Linear(2, 3), torch.zeros(4, 1, 2))
    with pytest.raises(ValueError, match="\\(T, B, I\\) tensor"):
        state_gradient_norms(torch.nn.GRU(2, 3), np.zeros((4, 1, 2)))


def test_unrolled_states_equal_the_full_sequence_call_and_start_from_h0():
    from coursekit.gradflow import unrolled_states

    torch.manual_seed(3)
    xs = torch.randn(6, 2, 3, dtype=torch.float64)
    for cls in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM):
        module = cls(3, 4).double()
        h0 = torch.randn(1, 2, 4, dtype=torch.float64)
        hs, cs = unrolled_states(module, xs, h0)
        state = (h0, torch.zeros_like(h0)) if cls is torch.nn.LSTM else h0
        output, _ = module(xs, state)
        assert len(hs) == 6 and torch.allclose(torch.cat(hs), output, rtol=1e-12, atol=1e-12)
        assert len(cs) == (6 if cls is torch.nn.LSTM else 0)
        # detach=True: the last state's gradient reaches no earlier state
        hs, _ = unrolled_states(module, xs, h0, detach=True)
        hs[-1].sum().backward()
        assert all(h.grad is None for h in hs[:-1])


def test_memory_gate_bias_takes_one_value_per_unit():
    H = 4
    module = torch.nn.GRU(2, H).double()
    per_unit = torch.log(torch.tensor([1.5, 10.0, 100.0, 999.0], dtype=torch.float64))  # chrono: ln u
    set_memory_gate_bias(module, per_unit)
    assert torch.equal(module.bias_ih_l0[H:2 * H], per_unit) and torch.all(module.bias_hh_l0[H:2 * H] == 0)
    # with zero weights the update gate of unit j is sigmoid(ln u_j) = u_j / (1 + u_j): 1 - z = 1 / (1 + u_j)
    with torch.no_grad():
        module.weight_ih_l0.zero_()
        module.weight_hh_l0.zero_()
    h0 = torch.ones(1, 1, H, dtype=torch.float64)
    with torch.no_grad():
        _, h1 = module(torch.zeros(1, 1, 2, dtype=torch.float64), h0)
    n = torch.tanh(module.bias_ih_l0[2 * H:] + torch.sigmoid(module.bias_ih_l0[:H] + module.bias_hh_l0[:H])
                   * module.bias_hh_l0[2 * H:])
    z = torch.sigmoid(per_unit)
    assert torch.allclose(h1[0, 0], (1 - z) * n + z, rtol=1e-12)
    with pytest.raises(ValueError, match="\\(H,\\) = \\(4,\\) tensor"):
        set_memory_gate_bias(module, torch.zeros(3))
