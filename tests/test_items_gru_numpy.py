"""The graded items of notebook 02-gru-numpy: right answers pass (also written with einsum, loops, float32),
each listed mistake fails with its own diagnosis, stubs, torch/coursekit shortcuts and in-place changes fail."""

import numpy as np
import pytest
import torch

from coursekit import checking, checks
from coursekit import gru as course_gru
from coursekit.activations import sigmoid  # allowed: the stable sigmoid of notebook 01
from coursekit.gru import cell_forward as course_cell_forward
from coursekit.items import get, gru_numpy

ASSIGNMENT = "02-gru-numpy"
CELL = get(ASSIGNMENT, "test_gru_cell_forward")
SEQUENCE = get(ASSIGNMENT, "test_gru_forward")
CHO = get(ASSIGNMENT, "test_gru_cell_forward_cho")


def verdict_of(item, fn, hidden=False):
    """Judge outputs only (the items' mistake implementations call coursekit.gru, which learners may not)."""
    cases = checking.cases_for(item, checking.PUBLIC_SEED, hidden)
    return checking.judge(item, cases, checking.call_learner(item, fn, cases))


# ----------------------------------------------------------------------------------------------------------------
# Learner-style solutions
# ----------------------------------------------------------------------------------------------------------------

def cell_plain(x, h_prev, p):
    r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h_prev @ p["W_hr"].T + p["b_hr"])
    z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h_prev @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + r * (h_prev @ p["W_hn"].T + p["b_hn"]))
    return (1 - z) * n + z * h_prev


def cho_plain(x, h_prev, p):
    r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h_prev @ p["W_hr"].T + p["b_hr"])
    z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h_prev @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + (r * h_prev) @ p["W_hn"].T + p["b_hn"])
    return (1 - z) * n + z * h_prev


def _einsum_cell(reset):
    def cell(x, h_prev, p):
        lin = lambda a, W, b: np.einsum("bi,hi->bh", a, W) + b  # noqa: E731
        r = 1 / (1 + np.exp(-np.clip(lin(x, p["W_ir"], p["b_ir"]) + lin(h_prev, p["W_hr"], p["b_hr"]), -60, 60)))
        z = 1 / (1 + np.exp(-np.clip(lin(x, p["W_iz"], p["b_iz"]) + lin(h_prev, p["W_hz"], p["b_hz"]), -60, 60)))
        if reset == "after":
            n = np.tanh(lin(x, p["W_in"], p["b_in"]) + r * lin(h_prev, p["W_hn"], p["b_hn"]))
        else:
            n = np.tanh(lin(x, p["W_in"], p["b_in"]) + lin(r * h_prev, p["W_hn"], p["b_hn"]))
        return np.einsum("bh,bh->bh", 1 - z, n) + np.einsum("bh,bh->bh", z, h_prev)
    return cell


def _loop_cell(reset):
    """Every sum written out (slow, but the shapes in the cases are small)."""
    def cell(x, h_prev, p):
        B, H = h_prev.shape
        out = np.empty((B, H), dtype=np.result_type(x, h_prev, p["W_ir"]))
        for b in range(B):
            def pre(gate, h_vec):
                return [sum(p[f"W_i{gate}"][j, i] * x[b, i] for i in range(x.shape[1])) + p[f"b_i{gate}"][j]
                        + sum(p[f"W_h{gate}"][j, k] * h_vec[k] for k in range(H)) + p[f"b_h{gate}"][j]
                        for j in range(H)]
            r = [float(sigmoid(v)) for v in pre("r", h_prev[b])]
            z = [float(sigmoid(v)) for v in pre("z", h_prev[b])]
            for j in range(H):
                a_in = sum(p["W_in"][j, i] * x[b, i] for i in range(x.shape[1])) + p["b_in"][j]
                if reset == "after":
                    a_hn = r[j] * (sum(p["W_hn"][j, k] * h_prev[b, k] for k in range(H)) + p["b_hn"][j])
                else:
                    a_hn = sum(p["W_hn"][j, k] * r[k] * h_prev[b, k] for k in range(H)) + p["b_hn"][j]
                n = np.tanh(a_in + a_hn)
                out[b, j] = (1 - z[j]) * n + z[j] * h_prev[b, j]
        return out
    return cell


def cell_float64(x, h_prev, p):
    """Upcasts float32 inputs: more precise, but the text asks to keep float32 (refused)."""
    return cell_plain(np.float64(x), np.float64(h_prev), {k: np.float64(v) for k, v in p.items()})


def forward_batched(xs, h0, p):
    T, B, I = xs.shape
    W_i = np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]])
    b_i = np.concatenate([p["b_ir"], p["b_iz"], p["b_in"]])
    gi = (xs.reshape(T * B, I) @ W_i.T + b_i).reshape(T, B, -1)  # all input projections in one product
    H = h0.shape[1]
    hs = np.empty((T, B, H), dtype=np.result_type(xs, h0))
    h = h0
    for t in range(T):
        r = sigmoid(gi[t, :, :H] + h @ p["W_hr"].T + p["b_hr"])
        z = sigmoid(gi[t, :, H:2 * H] + h @ p["W_hz"].T + p["b_hz"])
        n = np.tanh(gi[t, :, 2 * H:] + r * (h @ p["W_hn"].T + p["b_hn"]))
        h = (1 - z) * n + z * h
        hs[t] = h
    return hs, h


def forward_with_cells(xs, h0, p):
    h, hs = h0, []
    for x in xs:
        h = cell_plain(x, h, p)
        hs.append(h)
    return np.stack(hs), h


def forward_list_output(xs, h0, p):
    """Returns a list [hs, h_last] instead of a tuple: plain data either way."""
    hs, h = forward_with_cells(xs, h0, p)
    return [hs, h]


# ----------------------------------------------------------------------------------------------------------------
# The references agree with torch (checked independently of coursekit's bridges)
# ----------------------------------------------------------------------------------------------------------------

def test_cell_reference_matches_torch_grucell_in_float64():
    for case in checking.cases_for(CELL, 3, hidden=True):
        x, h, p = case.args
        if x.dtype != np.float64:
            continue
        cell = torch.nn.GRUCell(x.shape[1], h.shape[1]).double()
        with torch.no_grad():
            cell.weight_ih.copy_(torch.from_numpy(np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]])))
            cell.weight_hh.copy_(torch.from_numpy(np.concatenate([p["W_hr"], p["W_hz"], p["W_hn"]])))
            cell.bias_ih.copy_(torch.from_numpy(np.concatenate([p["b_ir"], p["b_iz"], p["b_in"]])))
            cell.bias_hh.copy_(torch.from_numpy(np.concatenate([p["b_hr"], p["b_hz"], p["b_hn"]])))
            expected = cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()
        np.testing.assert_allclose(CELL.reference(x, h, p), expected, rtol=1e-12, atol=1e-13)


def test_cho_reference_is_the_written_out_formula():
    for case in checking.cases_for(CHO, 3, hidden=True):
        np.testing.assert_allclose(CHO.reference(*case.args), cho_plain(*case.args), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("item", gru_numpy.ITEMS, ids=lambda item: item.name)
def test_reference_passes_public_and_hidden(item):
    for hidden in (False, True):
        assert verdict_of(item, item.reference, hidden).passed


def test_transposed_weights_are_named_although_non_square_cases_raise(expect_failure):
    def transposed(x, h_prev, p):
        return cell_plain(x, h_prev, {k: v.T if k.startswith("W") else v for k, v in p.items()})

    message = expect_failure(CELL, transposed)
    assert "Likely cause: the weights are transposed" in message


def test_hidden_cases_cover_edge_shapes_and_float32():
    labels = " | ".join(c.label for item in gru_numpy.ITEMS for c in checking.cases_for(item, 5, hidden=True))
    for needle in ("B=1", "H=1", "T=1", "float32", "saturated", "square"):
        assert needle in labels


def test_probe_labels_and_diagnoses_are_whole_templates():
    """A probe's label is a Text (its English unchanged, "probe" first), each placement of the reset gate has a
    sentence of its own: a translation sees whole sentences, never a word pasted into one."""
    probes = [c for c in checking.cases_for(SEQUENCE, 5, hidden=False) if c.label.startswith("probe")]
    assert probes[0].label == "probe (T=1): z forced to 1 (b_iz = +60)"
    assert probes[0].label.template == "probe (T=1): {probe}"
    assert probes[-1].label == "probe: T=3, every part" and probes[-1].label.template == "probe: {probe}"
    after, before = ({d for d, _ in item.mistakes if "reset gate" in d} for item in (CELL, CHO))
    assert len(after) == len(before) == 2 and not after & before
    assert all(type(d) is str for item in (CELL, CHO) for d, _ in item.mistakes)  # N_-marked, looked up as is


# ----------------------------------------------------------------------------------------------------------------
# Right answers written in other ways pass
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [cell_plain, _einsum_cell("after"), _loop_cell("after")],
                         ids=["plain", "einsum", "loops"])
def test_correct_cells_pass(fn, expect_pass):
    expect_pass(CELL, fn)


def test_float32_in_float64_out_is_refused(expect_failure):
    """The text: "It should also work in float32 (do not convert to float64)"."""
    expect_failure(CELL, cell_float64, "float64 although the inputs are float32")


@pytest.mark.parametrize("fn", [cho_plain, _einsum_cell("before"), _loop_cell("before")],
                         ids=["plain", "einsum", "loops"])
def test_correct_cho_cells_pass(fn, expect_pass):
    expect_pass(CHO, fn)


@pytest.mark.parametrize("fn", [forward_batched, forward_with_cells, forward_list_output])
def test_correct_sequences_pass(fn, expect_pass):
    expect_pass(SEQUENCE, fn)


def test_float32_stays_float32_and_passes_at_float32_tolerance(expect_pass):
    for item, fn in ((CELL, cell_plain), (CHO, cho_plain), (SEQUENCE, forward_batched)):
        f32 = [c for c in checking.cases_for(item, 1, hidden=True) if "float32" in c.label]
        assert f32 and all(c.rtol >= 1e-5 for c in f32)
        out = fn(*f32[0].args)
        assert np.asarray(out[0] if isinstance(out, tuple) else out).dtype == np.float32
        expect_pass(item, fn)


# ----------------------------------------------------------------------------------------------------------------
# Each listed mistake fails with its own diagnosis; stubs fail
# ----------------------------------------------------------------------------------------------------------------

MISTAKES = [(item, diagnosis, wrong) for item in gru_numpy.ITEMS for diagnosis, wrong in item.mistakes]


@pytest.mark.parametrize("item, diagnosis, wrong", MISTAKES,
                         ids=[f"{i.name}-{k}" for k, (i, _, _) in enumerate(MISTAKES)])
def test_each_mistake_fails_with_its_diagnosis(item, diagnosis, wrong):
    verdict = verdict_of(item, wrong)
    assert not verdict.passed
    assert "Likely cause: " + diagnosis in verdict.message


def test_a_learner_written_mistake_gets_the_same_diagnosis(expect_failure):
    def seed_convention(x, h_prev, p):  # the seed tutorial's h' = z * n + (1 - z) * h
        r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h_prev @ p["W_hr"].T + p["b_hr"])
        z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h_prev @ p["W_hz"].T + p["b_hz"])
        n = np.tanh(x @ p["W_in"].T + p["b_in"] + r * (h_prev @ p["W_hn"].T + p["b_hn"]))
        return z * n + (1 - z) * h_prev

    assert "z and 1 - z are swapped" in expect_failure(CELL, seed_convention)
    assert "reset gate is applied after" in expect_failure(CHO, cell_plain)
    assert "reset gate is applied before" in expect_failure(CELL, cho_plain)


STUBS = {
    "NotImplementedError": lambda *args: (_ for _ in ()).throw(NotImplementedError()),
    "zeros": lambda first, h, p: np.zeros_like(h),
    "h_prev / h0": lambda first, h, p: h,
    "the input": lambda first, h, p: first,
    "None": lambda *args: None,
}
SEQUENCE_STUBS = {
    "zeros": lambda xs, h0, p: (np.zeros(xs.shape[:2] + h0.shape[1:]), np.zeros_like(h0)),
    "h0 repeated": lambda xs, h0, p: (np.broadcast_to(h0, xs.shape[:2] + h0.shape[1:]).copy(), h0),
    "hs only": lambda xs, h0, p: forward_with_cells(xs, h0, p)[0],
}


@pytest.mark.parametrize("item", gru_numpy.ITEMS, ids=lambda item: item.name)
@pytest.mark.parametrize("stub", sorted(STUBS))
def test_trivial_stubs_fail(item, stub, expect_failure):
    assert expect_failure(item, STUBS[stub])


@pytest.mark.parametrize("stub", sorted(SEQUENCE_STUBS))
def test_trivial_sequence_stubs_fail(stub, expect_failure):
    message = expect_failure(SEQUENCE, SEQUENCE_STUBS[stub])
    if stub == "hs only":
        assert "should be a tuple of 2 values" in message


def test_not_implemented_is_reported_as_such(expect_failure):
    assert "not answered yet" in expect_failure(CELL, STUBS["NotImplementedError"])


# ----------------------------------------------------------------------------------------------------------------
# Shortcuts and side effects are rejected
# ----------------------------------------------------------------------------------------------------------------

def cell_with_torch(x, h_prev, p):
    cell = torch.nn.GRUCell(x.shape[1], h_prev.shape[1]).double()
    return cell(torch.from_numpy(x), torch.from_numpy(h_prev)).detach().numpy()


def cell_with_course_module(x, h_prev, p):
    return course_gru.cell_forward(x, h_prev, p)[0]


def cell_with_course_function(x, h_prev, p):
    return course_cell_forward(x, h_prev, p)[0]


def forward_with_course_module(xs, h0, p):
    hs, _ = course_gru.forward(xs, h0, p)
    return hs, hs[-1]


def test_torch_and_the_course_gru_are_forbidden(expect_failure):
    assert "uses torch" in expect_failure(CELL, cell_with_torch)
    assert "uses course_gru" in expect_failure(CELL, cell_with_course_module)
    assert "uses course_cell_forward" in expect_failure(CELL, cell_with_course_function)
    assert "uses course_gru" in expect_failure(CHO, cell_with_course_module)
    assert "uses course_gru" in expect_failure(SEQUENCE, forward_with_course_module)


def test_in_place_modification_is_detected(expect_failure):
    def cell_overwrites_h_prev(x, h_prev, p):
        h_next = cell_plain(x, h_prev, p)
        h_prev[...] = h_next
        return h_next

    def forward_overwrites_xs(xs, h0, p):
        out = forward_batched(xs, h0, p)
        xs *= 0
        return out

    assert "changed its inputs" in expect_failure(CELL, cell_overwrites_h_prev)
    assert "changed its inputs" in expect_failure(SEQUENCE, forward_overwrites_xs)

    def cho_stores_in_params(x, h_prev, p):
        p["cache"] = x
        return cho_plain(x, h_prev, p)

    assert "changed its inputs" in expect_failure(CHO, cho_stores_in_params)


# ----------------------------------------------------------------------------------------------------------------
# The learner-facing wrappers in coursekit.checks
# ----------------------------------------------------------------------------------------------------------------

WRAPPERS = [(checks.check_cell_forward, CELL, cell_plain), (checks.check_gru_forward, SEQUENCE, forward_batched),
            (checks.check_cell_forward_cho, CHO, cho_plain)]


@pytest.mark.parametrize("wrapper, item, right", WRAPPERS, ids=lambda w: getattr(w, "__name__", ""))
def test_wrappers(wrapper, item, right, capsys):
    assert wrapper(right) is None
    assert wrapper(right, hidden=True) is None
    out = capsys.readouterr().out
    assert f"check passed: {item.target}" in out and "hidden check passed" in out
    with pytest.raises(AssertionError, match="uses"):
        wrapper(cell_with_course_module)
