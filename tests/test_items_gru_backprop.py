"""The graded items of notebook 03-gru-backprop: right answers pass, each listed mistake fails with its own
diagnosis, trivial stubs fail, and the notebook's given forward cells build the caches the grader builds."""

import builtins
import json
import types
from pathlib import Path

import numpy as np
import pytest

from coursekit import gru
from coursekit.activations import sigmoid
from coursekit.checking import check, judge, run_item
from coursekit.gradcheck import numerical_gradient, rel_error
from coursekit.items import get
from coursekit.items import gru_backprop as gb
from coursekit.items.cases import cell_cases, sequence_cases

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {"solution": ROOT / "solutions" / "03-gru-backprop" / "gru_backprop.ipynb",
             "student": ROOT / "course" / "03-gru-backprop" / "gru_backprop.ipynb"}
CELL = get("03-gru-backprop", "test_gru_cell_backward")
SEQ = get("03-gru-backprop", "test_gru_backward")
CELL_DIAGNOSES = dict(gb.CELL_MISTAKES)
SEQ_DIAGNOSES = dict(gb.SEQUENCE_MISTAKES)


# Learner-style functions (signature (dh, cache)), built on the items' explicit backward with one mistake on.

def cell_with(mistake):
    def gru_cell_backward(dh_next, cache):
        return explicit_cell(dh_next, cache, mistake)
    return gru_cell_backward


def sequence_with(mistake=None, cell_mistake=None):
    def gru_backward(dhs, cache):
        return explicit_sequence(dhs, cache, cell_mistake, mistake)
    return gru_backward


def as_learner_code(fn, **names):
    """The same code as if the learner had typed it into the notebook: its globals are NumPy (and ``names``), not
    coursekit's, so the checker's rule against calling coursekit does not refuse it."""
    return types.FunctionType(fn.__code__, {"__builtins__": builtins, "np": np, **names}, fn.__name__, fn.__defaults__)


explicit_cell = as_learner_code(gb._explicit_cell_backward)
explicit_sequence = as_learner_code(gb._explicit_sequence_backward, _explicit_cell_backward=explicit_cell)


# ----------------------------------------------------------------------------------------------------------------
# The references and the explicit (learner-style) backward agree with numerical gradients and with torch
# ----------------------------------------------------------------------------------------------------------------

def test_cell_reference_matches_numerical_gradients():
    rng = np.random.default_rng(0)
    x, h, params = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), gru.init_params(3, 4, rng=rng)
    dh = rng.standard_normal((2, 4))
    dx, dh_prev, grads = gb.cell_backward_reference(dh, x, h, params)
    forward = lambda: gb.cell_cache(x, h, params)[0]  # noqa: E731
    assert rel_error(dx, numerical_gradient(lambda _: forward(), x, dh)) < 1e-7
    assert rel_error(dh_prev, numerical_gradient(lambda _: forward(), h, dh)) < 1e-7
    for key in gru.PARAM_KEYS:  # fourth-order differences: some entries are ~1e-4, too small for the 2-point rule
        numeric = numerical_gradient(lambda _: forward(), params[key], dh, h=1e-4, order=4)
        assert rel_error(grads[key], numeric) < 1e-7, key


def test_sequence_reference_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    T, B, I, H = 5, 2, 3, 4
    xs, h0, params = rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), gru.init_params(I, H, rng=rng)
    dhs = rng.standard_normal((T, B, H))
    module = torch.nn.GRU(I, H).double()
    gru.params_to_torch(params, module)
    xs_t = torch.tensor(xs, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    out, _ = module(xs_t, h0_t)
    (out * torch.tensor(dhs)).sum().backward()
    dxs, dh0, grads = gb.sequence_backward_reference(dhs, xs, h0, params)
    assert np.allclose(dxs, xs_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(dh0, h0_t.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    torch_grads = gru._unstacked(module.weight_ih_l0.grad.numpy(), module.weight_hh_l0.grad.numpy(),
                                 module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy())
    for key in gru.PARAM_KEYS:
        assert np.allclose(grads[key], torch_grads[key], rtol=1e-10, atol=1e-12), key


@pytest.mark.parametrize("hidden", [False, True])
def test_explicit_backward_without_mistakes_equals_the_references(hidden):
    rng = np.random.default_rng(2)
    for case in gb.cell_backward_cases(rng, hidden):
        dh, x, h, params = case.args
        out = explicit_cell(dh, gb.cell_cache(x, h, params)[1])
        assert judge(CELL, [case], [{"output": out, "error": None, "modified_input": False}]).passed, case.label
    for case in gb.sequence_backward_cases(rng, hidden):
        dhs, xs, h0, params = case.args
        out = explicit_sequence(dhs, gb.sequence_cache(xs, h0, params)[1])
        assert judge(SEQ, [case], [{"output": out, "error": None, "modified_input": False}]).passed, case.label


def test_cache_builders_return_the_forward_pass_and_documented_layout():
    rng = np.random.default_rng(3)
    x, h, params = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), gru.init_params(3, 4, rng=rng)
    h_next, cache = gb.cell_cache(x, h, params)
    assert np.array_equal(h_next, gru.cell_forward(x, h, params)[0])
    cx, ch, cparams, r, z, n, gh_n = cache
    assert cx is x and ch is h and cparams is params
    a = lambda w, b, v: v @ params[w].T + params[b]  # noqa: E731
    assert np.allclose(r, sigmoid(a("W_ir", "b_ir", x) + a("W_hr", "b_hr", h)), rtol=1e-13)
    assert np.allclose(z, sigmoid(a("W_iz", "b_iz", x) + a("W_hz", "b_hz", h)), rtol=1e-13)
    assert np.allclose(gh_n, a("W_hn", "b_hn", h), rtol=1e-13)
    assert np.allclose(n, np.tanh(a("W_in", "b_in", x) + r * gh_n), rtol=1e-13)
    xs = rng.standard_normal((3, 2, 3))
    hs, caches = gb.sequence_cache(xs, h, params)
    assert len(caches) == 3 and caches[0][1] is h
    for t in range(3):
        step_h, step_cache = gb.cell_cache(xs[t], h if t == 0 else hs[t - 1], params)
        assert np.allclose(hs[t], step_h, rtol=1e-13)
        for got, want in zip(caches[t], step_cache):
            if isinstance(want, np.ndarray):
                assert np.allclose(got, want, rtol=1e-13)


# ----------------------------------------------------------------------------------------------------------------
# Right answers pass, mistakes are named, stubs fail
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(hidden):
    assert check(CELL, cell_with(None), hidden=hidden, quiet=True).passed
    assert check(SEQ, sequence_with(), hidden=hidden, quiet=True).passed


@pytest.mark.parametrize("mistake", sorted(CELL_DIAGNOSES))
def test_each_cell_mistake_fails_with_its_own_diagnosis(mistake, expect_failure):
    message = expect_failure(CELL, cell_with(mistake))
    assert f"Likely cause: {CELL_DIAGNOSES[mistake]}" in message


@pytest.mark.parametrize("mistake", sorted(SEQ_DIAGNOSES))
def test_each_sequence_mistake_fails_with_its_own_diagnosis(mistake, expect_failure):
    message = expect_failure(SEQ, sequence_with(mistake=mistake))
    assert f"Likely cause: {SEQ_DIAGNOSES[mistake]}" in message


@pytest.mark.parametrize("mistake", sorted(CELL_DIAGNOSES))
def test_a_wrong_cell_backward_is_named_by_the_sequence_check(mistake, expect_failure):
    message = expect_failure(SEQ, sequence_with(cell_mistake=mistake))
    assert "make test_gru_cell_backward pass first" in message
    assert CELL_DIAGNOSES[mistake] in message


def test_mistakes_are_told_apart_on_every_public_case():
    """Two mistakes giving the same output on a public case would make one of the diagnoses unreachable.
    (Probes, built so that only one path carries gradient, and saturated gates make some mistakes agree there.)"""
    for item, make in ((CELL, gb.cell_backward_cases), (SEQ, gb.sequence_backward_cases)):
        for case in make(np.random.default_rng(0), False):
            if case.label.startswith("probe") or "saturated" in case.label or case.label == "T=1":
                continue
            outputs = [wrong(*case.args) for _, wrong in item.mistakes]
            reference = item.reference(*case.args)
            for i, out in enumerate(outputs):
                assert not _same(out, reference), (item.name, case.label, i)
                assert not any(_same(out, other) for other in outputs[i + 1:]), (item.name, case.label, i)


def _same(a, b):
    from coursekit.checking import _mismatch
    return _mismatch(a, b, 1e-7, 1e-9) is None


def _zeros_cell(dh_next, cache):
    x, h_prev, params = cache[:3]
    return np.zeros_like(x), np.zeros_like(h_prev), {k: np.zeros_like(v) for k, v in params.items()}


def _direct_path_only_cell(dh_next, cache):
    x, h_prev, params, r, z = cache[:5]
    return np.zeros_like(x), dh_next * z, {k: np.zeros_like(v) for k, v in params.items()}


def _inputs_cell(dh_next, cache):
    x, h_prev, params = cache[:3]
    return x, h_prev, params


def _dh_through_cell(dh_next, cache):
    x, h_prev, params = cache[:3]
    return np.zeros_like(x), dh_next, {k: np.ones_like(v) for k, v in params.items()}


def _not_implemented(*args):
    raise NotImplementedError()


def _zeros_sequence(dhs, cache):
    params = cache[0][2]
    return (np.zeros((len(cache),) + cache[0][0].shape), np.zeros_like(dhs[0]),
            {k: np.zeros_like(v) for k, v in params.items()})


def _last_step_only_sequence(dhs, cache):
    """Backpropagates through the last step alone (a stub that gets T=1 right)."""
    dx, dh0, grads = explicit_cell(dhs[-1], cache[-1])
    dxs = np.zeros((len(cache),) + dx.shape)
    dxs[-1] = dx
    return dxs, dh0, grads


def _sum_of_upstream_sequence(dhs, cache):
    params = cache[0][2]
    return (np.zeros((len(cache),) + cache[0][0].shape), dhs.sum(axis=0),
            {k: np.zeros_like(v) for k, v in params.items()})


@pytest.mark.parametrize("stub", [_zeros_cell, _direct_path_only_cell, _inputs_cell, _dh_through_cell,
                                  _not_implemented])
def test_cell_stubs_fail(stub, expect_failure):
    expect_failure(CELL, stub)


@pytest.mark.parametrize("stub", [_zeros_sequence, _last_step_only_sequence, _sum_of_upstream_sequence,
                                  _not_implemented])
def test_sequence_stubs_fail(stub, expect_failure):
    expect_failure(SEQ, stub)


def test_not_implemented_is_reported_as_such(expect_failure):
    assert "NotImplementedError" in expect_failure(CELL, _not_implemented)


def test_using_torch_is_refused(expect_failure):
    import torch  # noqa: F401  (the learner's function refers to the torch module)

    def gru_cell_backward(dh_next, cache):
        torch.zeros(1)
        return cell_with(None)(dh_next, cache)

    assert "must be written without torch" in expect_failure(CELL, gru_cell_backward)


def test_modifying_the_cache_in_place_is_reported(expect_failure):
    def gru_cell_backward(dh_next, cache):
        out = explicit_cell(dh_next, cache)
        h_prev = cache[1]
        h_prev *= 0  # in place: the caller's h_prev changes
        return out

    assert "changed its inputs" in expect_failure(CELL, gru_cell_backward)


def test_hidden_cases_cover_the_edge_cases():
    labels = [c.label for c in gb.cell_backward_cases(np.random.default_rng(0), True)]
    assert {"B=1", "H=1", "float32 inputs", "saturated gates (|x| ~ 100)"} <= set(labels)
    labels = [c.label for c in gb.sequence_backward_cases(np.random.default_rng(0), True)]
    assert {"T=1", "B=1, odd T=5", "H=1", "float32 inputs"} <= set(labels)
    case = next(c for c in gb.cell_backward_cases(np.random.default_rng(0), True) if c.label == "float32 inputs")
    assert all(a.dtype == np.float32 for a in case.args[:3])


def test_sequence_probes_of_one_step_are_named_like_the_cell_probes():
    cell = [c.label for c in gb.cell_backward_cases(np.random.default_rng(0), False) if c.label.startswith("probe")]
    seq = [c.label for c in gb.sequence_backward_cases(np.random.default_rng(0), False)
           if c.label.startswith("probe (T=1)")]
    assert seq == [label.replace("probe: ", "probe (T=1): ") for label in cell]


def test_cases_are_deterministic_and_extend_the_forward_cases():
    a = gb.cell_backward_cases(np.random.default_rng(5), True)
    b = gb.cell_backward_cases(np.random.default_rng(5), True)
    assert all(np.array_equal(x.args[0], y.args[0]) for x, y in zip(a, b))
    forward = cell_cases(np.random.default_rng(5), True)
    a = [c for c in a if not c.label.startswith("probe")]  # the probes come after the forward cases
    assert [c.label for c in a] == [c.label for c in forward]
    assert all(np.array_equal(c.args[1], f.args[0]) for c, f in zip(a, forward))
    seq = [c for c in gb.sequence_backward_cases(np.random.default_rng(5), False) if not c.label.startswith("probe")]
    assert [c.args[0].shape for c in seq] == [(f.args[0].shape[0],) + f.args[1].shape
                                              for f in sequence_cases(np.random.default_rng(5), False)]


def test_grader_side_round_trip():
    """run_item (sandbox side) then judge (trusted side) with fresh seeds, as the grader does."""
    namespace = {"gru_cell_backward": cell_with(None), "gru_backward": sequence_with()}
    for item in (CELL, SEQ):
        result = run_item(item, namespace, seed=123)
        assert not result["missing"]
        cases = item.make_cases(np.random.default_rng(123), True)
        assert judge(item, cases, result["outcomes"]).passed
    wrong = {"gru_cell_backward": cell_with("no tanh'")}
    result = run_item(CELL, wrong, seed=7)
    verdict = judge(CELL, CELL.make_cases(np.random.default_rng(7), True), result["outcomes"])
    assert not verdict.passed and CELL_DIAGNOSES["no tanh'"] in verdict.message
    assert run_item(SEQ, wrong, seed=7)["missing"]


# ----------------------------------------------------------------------------------------------------------------
# The notebook: its given forward cells build the caches the grader builds, and its model answers pass
# ----------------------------------------------------------------------------------------------------------------

GIVEN_FORWARD_CELLS = ("gru-cell-forward-given", "gru-forward-given")


def notebook_namespace(path, cell_ids):
    """Run the code cells ``cell_ids`` of the notebook at ``path`` in a fresh namespace holding what the setup cell
    imports for them (NumPy and coursekit's sigmoid)."""
    cells = {cell["id"]: "".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]}
    namespace = {"np": np, "sigmoid": sigmoid}
    for cell_id in cell_ids:
        assert cell_id in cells, f"{path.name} has no cell {cell_id!r}"
        exec(compile(cells[cell_id], f"{path.name}:{cell_id}", "exec"), namespace)
    return namespace


def assert_same_cache(got, want, tol):
    assert len(got) == len(want) == 7
    for index, (g, w) in enumerate(zip(got, want)):
        if index < 3:  # x, h_prev, params: the caller's own objects
            assert g is w, index
        else:
            assert g.dtype == w.dtype and g.shape == w.shape, index
            assert np.allclose(g, w, rtol=tol, atol=tol), index


@pytest.mark.parametrize("version", sorted(NOTEBOOKS))
def test_given_forward_cells_build_the_graders_caches(version):
    namespace = notebook_namespace(NOTEBOOKS[version], GIVEN_FORWARD_CELLS)
    rng = np.random.default_rng(11)
    for case in cell_cases(rng, hidden=True):
        x, h, params = case.args
        tol = 1e-12 if x.dtype == np.float64 else 1e-5
        got_h, got = namespace["gru_cell_forward"](x, h, params)
        want_h, want = gb.cell_cache(x, h, params)
        assert got_h.dtype == want_h.dtype and np.allclose(got_h, want_h, rtol=tol, atol=tol), case.label
        assert_same_cache(got, want, tol)
    for case in sequence_cases(rng, hidden=True):
        xs, h0, params = case.args
        tol = 1e-12 if xs.dtype == np.float64 else 1e-5
        got_hs, got = namespace["gru_forward"](xs, h0, params)
        want_hs, want = gb.sequence_cache(xs, h0, params)
        assert np.allclose(got_hs, want_hs, rtol=tol, atol=tol), case.label
        assert isinstance(got, list) and len(got) == len(want) == len(xs)
        for t, (g, w) in enumerate(zip(got, want)):
            assert np.array_equal(g[0], w[0]) and g[2] is params, (case.label, t)
            assert np.allclose(g[1], w[1], rtol=tol, atol=tol)  # h_prev: the previous step's output
            for index in range(3, 7):
                assert np.allclose(g[index], w[index], rtol=tol, atol=tol), (case.label, t, index)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_notebooks_model_answers_pass(hidden):
    namespace = notebook_namespace(NOTEBOOKS["solution"], GIVEN_FORWARD_CELLS + ("candidate-backward", "gru-cell-backward",
                                                                         "gru-backward"))
    check(CELL, namespace["gru_cell_backward"], hidden=hidden, quiet=True)
    check(SEQ, namespace["gru_backward"], hidden=hidden, quiet=True)


def test_the_student_notebooks_stubs_fail(expect_failure):
    namespace = notebook_namespace(NOTEBOOKS["student"], GIVEN_FORWARD_CELLS + ("gru-cell-backward", "gru-backward"))
    assert "NotImplementedError" in expect_failure(CELL, namespace["gru_cell_backward"])
    assert "NotImplementedError" in expect_failure(SEQ, namespace["gru_backward"])
