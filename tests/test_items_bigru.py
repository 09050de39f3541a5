"""The graded items of notebook 05-bigru: right answers pass (public and hidden), each listed mistake fails with its
own diagnosis, trivial stubs fail, and the references agree with torch.nn.GRU(bidirectional=True)."""

import json
from pathlib import Path

import numpy as np
import pytest

from coursekit import gru
from coursekit.checking import check
from coursekit.items import bigru as bg
from coursekit.items import get
from learner_corpus.bigru import gru_forward, zeros

torch = pytest.importorskip("torch")

BIGRU = get("05-bigru", "test_bigru_forward")
TOP = get("05-bigru", "test_top_layer_final_states")


def diagnosis(item, start):
    """The item's diagnosis that is `start` itself, or the only one that starts with it."""
    texts = {text for text, _ in item.mistakes}
    if start in texts:
        return start
    matches = {text for text in texts if text.startswith(start)}
    assert len(matches) == 1, start
    return matches.pop()


# gru_forward, zeros: the notebook's given one-direction GRU (NumPy only, independent of coursekit.gru), as in the
# learner corpus.


def bigru_with(mistake=None):
    """A learner-style bigru_forward built on gru_forward, with one mistake switched on."""
    def bigru_forward(xs, params_fwd, params_bwd):
        hs_f, _ = gru_forward(xs, zeros(xs, params_fwd), params_fwd)
        p_b = params_fwd if mistake == "same params" else params_bwd
        backward_input = xs if mistake in ("unreversed input", "unreversed input, flipped outputs") else xs[::-1]
        hs_b_computed, _ = gru_forward(backward_input, zeros(xs, p_b), p_b)
        aligned = hs_b_computed if mistake in ("not realigned", "unreversed input") else hs_b_computed[::-1]
        first, second = (aligned, hs_f) if mistake in ("order", "order in outputs only") else (hs_f, aligned)
        outputs = np.concatenate([first, second], axis=2)
        h_n = np.stack([hs_f[-1], hs_b_computed[-1]])
        if mistake == "h_n from outputs[-1]":
            H = hs_f.shape[2]
            h_n = np.stack([outputs[-1, :, :H], outputs[-1, :, H:]])
        if mistake == "order":
            h_n = h_n[::-1]
        return outputs, h_n
    return bigru_forward


def test_reference_matches_torch_bidirectional_gru():
    rng = np.random.default_rng(0)
    T, B, I, H = 7, 3, 4, 5
    module = torch.nn.GRU(I, H, bidirectional=True).double()
    xs = rng.standard_normal((T, B, I))
    with torch.no_grad():
        out, h_n = module(torch.from_numpy(xs))
    got_out, got_h = bg.bigru_forward_reference(xs, gru.params_from_torch(module),
                                                gru.params_from_torch(module, reverse=True))
    assert np.allclose(got_out, out.numpy(), rtol=0, atol=1e-10)
    assert np.allclose(got_h, h_n.numpy(), rtol=0, atol=1e-10)
    # and the learner-style answer, written without coursekit, agrees with torch too
    mine = bigru_with()(xs, gru.params_from_torch(module), gru.params_from_torch(module, reverse=True))
    assert np.allclose(mine[0], out.numpy(), rtol=0, atol=1e-10)


def test_right_answer_passes():
    check(BIGRU, bigru_with(), quiet=True)
    check(BIGRU, bigru_with(), hidden=True, quiet=True)


@pytest.mark.parametrize("mistake, start", [
    ("not realigned", "the backward states were not re-reversed"),
    ("h_n from outputs[-1]", "h_n[1] was taken from outputs[-1"),
    ("order", "the directions are concatenated in the wrong order"),
    ("order in outputs only", "the directions are concatenated in the wrong order"),
    ("unreversed input", "the backward GRU ran on the un-reversed sequence: give it xs[::-1]"),
    ("unreversed input, flipped outputs", "the backward GRU ran on the un-reversed sequence: give it xs[::-1] ("),
    ("same params", "both directions used params_fwd"),
])
def test_mistakes_are_diagnosed(mistake, start, expect_failure):
    message = expect_failure(BIGRU, bigru_with(mistake))
    assert diagnosis(BIGRU, start) in message
    if mistake == "unreversed input":  # the other un-reversed variant's text must not be the one shown
        assert "flipping its outputs" not in message


@pytest.mark.parametrize("stub", [
    lambda xs, pf, pb: (np.zeros((xs.shape[0], xs.shape[1], 2 * pf["W_hr"].shape[0])),
                        np.zeros((2, xs.shape[1], pf["W_hr"].shape[0]))),
    lambda xs, pf, pb: (xs, xs[-1]),
])
def test_stubs_fail(stub, expect_failure):
    expect_failure(BIGRU, stub)


def test_forward_direction_only_fails(expect_failure):
    def bigru_forward(xs, params_fwd, params_bwd):
        hs, h = gru_forward(xs, zeros(xs, params_fwd), params_fwd)
        return np.concatenate([hs, hs], axis=2), np.stack([h, h])
    expect_failure(BIGRU, bigru_forward)


def test_not_implemented_fails(expect_failure):
    def bigru_forward(xs, params_fwd, params_bwd):
        raise NotImplementedError()
    assert "NotImplementedError" in expect_failure(BIGRU, bigru_forward)


def test_torch_and_coursekit_are_refused(expect_failure):
    def with_torch(xs, params_fwd, params_bwd):
        return torch.zeros(1)

    from coursekit.gru import bidirectional_forward

    def with_coursekit(xs, params_fwd, params_bwd):
        return bidirectional_forward(xs, params_fwd, params_bwd)

    assert "must be written without" in expect_failure(BIGRU, with_torch)
    assert "must be written without" in expect_failure(BIGRU, with_coursekit)


# ----------------------------------------------------------------------------------------------------------------
# top_layer_final_states
# ----------------------------------------------------------------------------------------------------------------

def test_top_layer_reference_matches_the_outputs_of_a_stacked_bidirectional_gru():
    """Independent check: the top layer's forward state is output[-1, :, :H], its backward state output[0, :, H:]."""
    torch.manual_seed(0)
    H = 4
    for L in (1, 2, 3):
        module = torch.nn.GRU(3, H, num_layers=L, bidirectional=True).double()
        with torch.no_grad():
            output, h_n = module(torch.randn(6, 2, 3, dtype=torch.float64))
        fwd, bwd = bg.top_layer_final_states_reference(h_n.numpy(), L)
        assert np.array_equal(fwd, output[-1, :, :H].numpy()) and np.array_equal(bwd, output[0, :, H:].numpy())


def top_with(split):
    def top_layer_final_states(h_n, num_layers):
        return split(h_n, num_layers)
    return top_layer_final_states


def test_top_layer_right_answers_pass():
    for fn in (top_with(lambda h, L: tuple(h.view(L, 2, *h.shape[1:])[-1])), top_with(lambda h, L: (h[-2], h[-1]))):
        check(TOP, fn, quiet=True)
        check(TOP, fn, hidden=True, quiet=True)


@pytest.mark.parametrize("split, start", [
    (lambda h, L: tuple(h.view(2, L, *h.shape[1:])[:, -1]), "h_n was split as (2, num_layers, B, H)"),
    (lambda h, L: (h[0], h[1]), "these are the first layer's states"),
    (lambda h, L: (h[-1], h[-2]), "forward and backward are swapped"),
])
def test_top_layer_mistakes_are_diagnosed(split, start, expect_failure):
    assert diagnosis(TOP, start) in expect_failure(TOP, top_with(split))


@pytest.mark.parametrize("split", [lambda h, L: (torch.zeros_like(h[0]), torch.zeros_like(h[0])),
                                   lambda h, L: h, lambda h, L: h[-1]])
def test_top_layer_stubs_fail(split, expect_failure):
    expect_failure(TOP, top_with(split))


def test_top_layer_in_place_change_is_detected(expect_failure):
    def top_layer_final_states(h_n, num_layers):
        result = (h_n[-2].clone(), h_n[-1].clone())
        h_n.zero_()
        return result
    assert "changed its inputs" in expect_failure(TOP, top_layer_final_states)


# ----------------------------------------------------------------------------------------------------------------
# The notebook's cells: the given gru_forward keeps its contract, model answers pass, student stubs fail
# ----------------------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {"solution": ROOT / "solutions" / "05-bigru" / "bigru.ipynb",
             "student": ROOT / "course" / "05-bigru" / "bigru.ipynb"}
ANSWER_CELLS = ("gru-forward-given", "bigru-forward", "top-layer-final-states")


def notebook_namespace(path, cell_ids):
    """Run the code cells ``cell_ids`` of a notebook in a namespace holding what its setup cell imports for them."""
    cells = {cell["id"]: "".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]}
    namespace = {"np": np, "torch": torch, "gru": gru}
    for cell_id in cell_ids:
        assert cell_id in cells, f"{path.name} has no cell {cell_id!r}"
        exec(compile(cells[cell_id], f"{path.name}:{cell_id}", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("version", sorted(NOTEBOOKS))
def test_the_given_gru_forward_is_a_one_direction_gru(version):
    given = notebook_namespace(NOTEBOOKS[version], ANSWER_CELLS[:1])["gru_forward"]
    rng = np.random.default_rng(5)
    xs, h0, params = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 4)), gru.init_params(3, 4, rng=rng)
    hs, h_last = given(xs, h0, params)
    want, _ = gru_forward(xs, h0, params)  # this file's independent NumPy GRU
    assert np.allclose(hs, want, rtol=0, atol=1e-12) and np.array_equal(h_last, hs[-1])


def test_the_notebooks_model_answers_pass():
    namespace = notebook_namespace(NOTEBOOKS["solution"], ANSWER_CELLS)
    for item in (BIGRU, TOP):
        check(item, namespace[item.target], quiet=True)
        check(item, namespace[item.target], hidden=True, quiet=True)


def test_the_student_notebooks_stubs_fail(expect_failure):
    namespace = notebook_namespace(NOTEBOOKS["student"], ANSWER_CELLS)
    for item in (BIGRU, TOP):
        assert "NotImplementedError" in expect_failure(item, namespace[item.target])
