"""coursekit.ablation: a GRU with pinned gates computes what its formulas say, and training leaves the pins alone."""

import numpy as np
import pytest

from coursekit import gru
from coursekit.ablation import PIN, VARIANTS, gru_variant, remove_gru_gates
from coursekit.experiments import adding_regressor

torch = pytest.importorskip("torch")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def pinned_gru_reference(xs, params, *, reset, update):
    """h' = (1 - z) n + z h with r = 1 when the reset gate is removed and z = 0 when the update gate is removed."""
    h = np.zeros((xs.shape[1], params["W_hn"].shape[0]))
    states = []
    for x in xs:
        r = np.ones_like(h) if reset else sigmoid(x @ params["W_ir"].T + params["b_ir"] + h @ params["W_hr"].T
                                                  + params["b_hr"])
        z = np.zeros_like(h) if update else sigmoid(x @ params["W_iz"].T + params["b_iz"] + h @ params["W_hz"].T
                                                    + params["b_hz"])
        n = np.tanh(x @ params["W_in"].T + params["b_in"] + r * (h @ params["W_hn"].T + params["b_hn"]))
        h = (1 - z) * n + z * h
        states.append(h)
    return np.stack(states)


@pytest.mark.parametrize("reset, update", [(True, False), (False, True), (True, True)])
def test_pinned_gates_compute_the_ablated_formulas(reset, update):
    torch.manual_seed(1)
    module = torch.nn.GRU(3, 4).double()
    original = gru.params_from_torch(module)  # the weights before pinning: the n rows are kept as they were
    remove_gru_gates(module, reset=reset, update=update)
    xs = np.random.default_rng(0).standard_normal((9, 2, 3))
    with torch.no_grad():
        out, _ = module(torch.tensor(xs))
    expected = pinned_gru_reference(xs, original, reset=reset, update=update)
    assert np.allclose(out.numpy(), expected, rtol=0, atol=1e-12)
    # and it is not the full GRU: the pins change the function
    full = gru.forward(xs, np.zeros((2, 4)), original)[0]
    assert np.abs(out.numpy() - full).max() > 1e-3


def test_no_gates_is_exactly_an_elman_rnn():
    torch.manual_seed(2)
    module = remove_gru_gates(torch.nn.GRU(3, 5).double(), reset=True, update=True)
    rnn = torch.nn.RNN(3, 5).double()
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(rnn, name).copy_(getattr(module, name)[10:])  # the candidate rows n
    xs = torch.randn(12, 3, 3, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(module(xs)[0], rnn(xs)[0], rtol=0, atol=1e-13)


def test_training_moves_the_free_rows_and_never_the_pinned_ones():
    torch.manual_seed(3)
    module = gru_variant("gru_update_only", 2, 4)  # reset gate pinned (rows 0:4)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    optimizer = torch.optim.Adam(module.parameters(), lr=0.1)
    for _ in range(5):
        optimizer.zero_grad()
        module(torch.randn(6, 3, 2))[0].pow(2).sum().backward()
        optimizer.step()
    for name, p in module.named_parameters():
        assert torch.equal(p[:4], before[name][:4]), name
        assert not torch.equal(p[4:], before[name][4:]), name
    assert torch.all(module.bias_ih_l0[:4] == PIN) and torch.all(module.weight_hh_l0[:4] == 0)


def test_variants_share_the_initial_weights_of_the_full_gru():
    models = {}
    for name in VARIANTS:
        torch.manual_seed(0)
        models[name] = adding_regressor(name, 6)
    full = models["gru"].rnn.weight_hh_l0
    for name, model in models.items():
        keep_reset, keep_update = VARIANTS[name]
        w = model.rnn.weight_hh_l0
        assert torch.equal(w[12:], full[12:])  # the candidate rows are never pinned
        assert torch.equal(w[:6], full[:6]) == keep_reset and torch.equal(w[6:12], full[6:12]) == keep_update
        assert torch.equal(model.head.weight, models["gru"].head.weight)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="expected an nn.GRU"):
        remove_gru_gates(torch.nn.LSTM(2, 3), reset=True)
    with pytest.raises(ValueError, match="bias=False"):
        remove_gru_gates(torch.nn.GRU(2, 3, bias=False), update=True)
    with pytest.raises(ValueError, match="unknown GRU variant"):
        gru_variant("gru_forget_only", 2, 3)
    with pytest.raises(ValueError, match="cell must be one of"):
        adding_regressor("transformer", 4)
