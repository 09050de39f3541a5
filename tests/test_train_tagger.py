"""coursekit.train.SequenceTagger: one prediction per time step, causal unless bidirectional (notebook 05)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from coursekit import gru  # noqa: E402
from coursekit.train import SequenceTagger, set_seed  # noqa: E402


def test_shapes_per_step_for_every_cell_and_layout():
    x = torch.randn(7, 3, 2)
    for cell in ("gru", "lstm", "rnn"):
        for bidirectional in (False, True):
            model = SequenceTagger(cell, 2, 5, 4, bidirectional=bidirectional)
            assert model(x).shape == (7, 3, 4)
            assert model.head.in_features == (10 if bidirectional else 5)
    model = SequenceTagger("gru", 2, 5, 4, batch_first=True, num_layers=2)
    assert model(x.transpose(0, 1)).shape == (3, 7, 4)


def test_matches_a_numpy_gru_and_the_head_at_every_step():
    set_seed(0)
    model = SequenceTagger("gru", 3, 4, 2).double()
    xs = np.random.default_rng(0).standard_normal((6, 2, 3))
    hs, _ = gru.forward(xs, np.zeros((2, 4)), gru.params_from_torch(model.rnn))
    W, b = model.head.weight.detach().numpy(), model.head.bias.detach().numpy()
    with torch.no_grad():
        got = model(torch.from_numpy(xs)).numpy()
    assert np.allclose(got, hs @ W.T + b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_only_the_bidirectional_tagger_sees_the_future(bidirectional):
    set_seed(1)
    model = SequenceTagger("gru", 1, 6, 1, bidirectional=bidirectional)
    x = torch.randn(10, 2, 1)
    changed = x.clone()
    changed[6:] += 1.0  # change the future of step 5
    with torch.no_grad():
        before, after = model(x), model(changed)
    assert torch.equal(before[:6], after[:6]) != bidirectional


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceTagger("transformer", 1, 2, 1)


def test_is_one_picklable_class():
    model = SequenceTagger("gru", 1, 2, 1, bidirectional=True)
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is SequenceTagger
    x = torch.randn(4, 1, 1)
    assert torch.equal(copy(x), model(x))
