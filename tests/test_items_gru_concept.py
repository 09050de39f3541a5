"""The graded items of notebook 01-gru-concept: right answers pass, each listed mistake fails with its own
diagnosis, stubs, shortcuts through torch/coursekit and in-place modification fail."""

import math

import numpy as np
import pytest
import torch

from coursekit import harness
from coursekit import checking, checks
from coursekit.activations import sigmoid as course_sigmoid
from coursekit.items import get, gru_concept

ASSIGNMENT = "01-gru-concept"
SIGMOID = get(ASSIGNMENT, "test_sigmoid")
GRU_UPDATE = get(ASSIGNMENT, "test_gru_update")
HALF_LIFE = get(ASSIGNMENT, "test_memory_half_life")


def verdict_of(item, fn, hidden=False):
    """Judge ``fn``'s outputs only (the items' own mistake implementations may use coursekit, which a
    learner's code may not: the forbidden-name check is tested separately)."""
    cases = checking.cases_for(item, checking.PUBLIC_SEED, hidden)
    return checking.judge(item, cases, checking.call_learner(item, fn, cases))


# ----------------------------------------------------------------------------------------------------------------
# Learner-style solutions, written the way a learner might (these are not the items' references)
# ----------------------------------------------------------------------------------------------------------------

def sigmoid_two_branches(x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))  # in (0, 1], never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_logaddexp(x):
    # 1 / (1 + e^-x) = exp(-log(1 + e^-x)) = exp(-logaddexp(0, -x)), stable on both sides
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))


def sigmoid_loop(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        v = float(x[index])
        out[index] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out


def sigmoid_masked(x):
    x = np.array(x, dtype=np.result_type(np.asarray(x), np.float32))  # a copy: keeps float32 as float32
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


def gru_update_plain(h_prev, n, z):
    return (1 - z) * n + z * h_prev


def gru_update_interpolate(h_prev, n, z):
    return n + z * (h_prev - n)


def gru_update_einsum(h_prev, n, z):
    return np.einsum("bh,bh->bh", 1 - z, n) + np.einsum("bh,bh->bh", z, h_prev)


def gru_update_float64(h_prev, n, z):
    return gru_update_plain(*(np.asarray(a, dtype=np.float64) for a in (h_prev, n, z)))


def half_life_plain(z):
    return np.log(0.5) / np.log(z)


def half_life_python_constant(z):
    return math.log(0.5) / np.log(z)  # a Python float keeps float32 input in float32


def half_life_log2(z):
    return -1 / np.log2(z)


def half_life_loop(z):
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape):
        out[index] = math.log(0.5) / math.log(float(z[index]))
    return out if out.ndim else float(out)


# ----------------------------------------------------------------------------------------------------------------
# The items' references are right (checked against the formulas, independently of the items)
# ----------------------------------------------------------------------------------------------------------------

def test_sigmoid_reference_matches_the_definition():
    x = np.linspace(-30, 30, 121)
    expected = np.array([1 / (1 + math.exp(-v)) for v in x])
    np.testing.assert_allclose(SIGMOID.reference(x), expected, rtol=1e-14, atol=1e-16)
    # far tails: below 1e-300 (the input is clipped where exp would overflow) and exactly 1
    assert 0.0 <= SIGMOID.reference(np.array([-800.0]))[0] < 1e-300
    assert SIGMOID.reference(np.array([800.0]))[0] == 1.0


def test_update_reference_is_pytorchs_convention():
    h, n = np.array([[2.0, 2.0]]), np.array([[-1.0, -1.0]])
    z = np.array([[1.0, 0.0]])  # z = 1 keeps the old state, z = 0 takes the candidate
    np.testing.assert_array_equal(GRU_UPDATE.reference(h, n, z), [[2.0, -1.0]])


def test_half_life_reference_halves_the_state():
    z = np.array([0.5, 0.9, 0.99, 0.999])
    k = HALF_LIFE.reference(z)
    np.testing.assert_allclose(z ** k, 0.5, rtol=1e-12)
    np.testing.assert_allclose(k[0], 1.0, rtol=1e-15)


@pytest.mark.parametrize("item", gru_concept.ITEMS, ids=lambda item: item.name)
def test_reference_passes_public_and_hidden(item, expect_pass):
    expect_pass(item, item.reference)


def test_cases_are_deterministic_and_hidden_adds_edge_cases():
    for item in (SIGMOID, GRU_UPDATE, HALF_LIFE):
        public = checking.cases_for(item, 7, hidden=False)
        again = checking.cases_for(item, 7, hidden=False)
        assert [c.label for c in public] == [c.label for c in again]
        assert all(harness.same_value(a.args, b.args) for a, b in zip(public, again))
        hidden = checking.cases_for(item, 7, hidden=True)
        # public predicts hidden: every kind of hidden case is in the public ones (the hidden draw more numbers)
        assert {c.label for c in hidden} >= {c.label for c in public}
        assert all("B=" in label for label in {c.label for c in hidden} - {c.label for c in public})  # sizes
        assert any("float32" in case.label for case in public)


# ----------------------------------------------------------------------------------------------------------------
# Right answers written in other ways pass
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [sigmoid_two_branches, sigmoid_masked])
def test_stable_sigmoids_pass(fn, expect_pass):
    expect_pass(SIGMOID, fn)


@pytest.mark.parametrize("item, fn", [(SIGMOID, sigmoid_logaddexp), (SIGMOID, sigmoid_loop),
                                      (GRU_UPDATE, gru_update_float64)])
def test_float32_in_float64_out_is_refused(item, fn, expect_failure):
    """The text: "float32 input stays float32". Stable and right to the last digit, but upcast."""
    expect_failure(item, fn, "float64 although the inputs are float32")


@pytest.mark.parametrize("fn", [gru_update_plain, gru_update_interpolate, gru_update_einsum])
def test_correct_updates_pass(fn, expect_pass):
    expect_pass(GRU_UPDATE, fn)


@pytest.mark.parametrize("fn", [half_life_plain, half_life_python_constant, half_life_log2, half_life_loop])
def test_correct_half_lives_pass(fn, expect_pass):
    expect_pass(HALF_LIFE, fn)


def test_float32_inputs_give_float32_outputs_that_pass_at_float32_tolerance(expect_pass):
    for item, fn in ((SIGMOID, sigmoid_masked), (GRU_UPDATE, gru_update_plain),
                     (HALF_LIFE, half_life_python_constant)):
        f32 = [case for case in checking.cases_for(item, 1, hidden=True) if "float32" in case.label]
        assert f32 and all(case.rtol >= 1e-6 for case in f32)
        for case in f32:
            assert np.asarray(fn(*case.args)).dtype == np.float32
        expect_pass(item, fn)


# ----------------------------------------------------------------------------------------------------------------
# Every listed mistake fails with its own diagnosis; stubs fail
# ----------------------------------------------------------------------------------------------------------------

MISTAKES = [(item, diagnosis, wrong) for item in gru_concept.ITEMS for diagnosis, wrong in item.mistakes]


@pytest.mark.parametrize("item, diagnosis, wrong", MISTAKES, ids=[f"{i.name}-{k}" for k, (i, _, _) in
                                                                   enumerate(MISTAKES)])
def test_each_mistake_fails_with_its_diagnosis(item, diagnosis, wrong):
    verdict = verdict_of(item, wrong)
    assert not verdict.passed
    assert "Likely cause: " + diagnosis in verdict.message


@pytest.mark.parametrize("item", gru_concept.ITEMS, ids=lambda item: item.name)
def test_trivial_stubs_fail(item, expect_failure):
    def not_implemented(*args):
        raise NotImplementedError()

    assert "not answered yet" in expect_failure(item, not_implemented)
    assert expect_failure(item, lambda *args: np.zeros_like(np.asarray(args[0], dtype=float)))
    assert expect_failure(item, lambda *args: args[0])  # the input (sigmoid, half-life) or h_prev (update)
    assert expect_failure(item, lambda *args: None)
    assert expect_failure(item, lambda *args: np.ones_like(np.asarray(args[0], dtype=float)))


def test_naive_sigmoid_fails_through_its_overflow_warning(expect_failure):
    def naive(x):
        return 1 / (1 + np.exp(-x))

    def where_both_branches(x):  # np.where evaluates both branches: exp(-x) still overflows for x = -800
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))

    for fn in (naive, where_both_branches):
        message = expect_failure(SIGMOID, fn)
        assert "large |x|" in message and "overflow" in message


def test_sigmoid_that_is_right_only_for_arrays_fails_the_public_scalar_case(expect_failure):
    """Public predicts hidden: scalars are public cases too, and the plain-number probe names the cause."""
    def sigmoid_1d_only(x):
        return np.array([1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in x])

    cases = checking.cases_for(SIGMOID, checking.PUBLIC_SEED, hidden=False)
    problems = checking.problems_of(SIGMOID, cases, checking.call_learner(SIGMOID, sigmoid_1d_only, cases))
    assert any(p and p.label == "scalar" and "raised TypeError" in p.what for p in problems)
    expect_failure(SIGMOID, sigmoid_1d_only, hidden=True)


def test_seed_convention_is_named_in_the_update_diagnosis(expect_failure):
    message = expect_failure(GRU_UPDATE, lambda h, n, z: z * n + (1 - z) * h)
    assert "seed" in message and "(1 - z) * n + z * h_prev" in message


# ----------------------------------------------------------------------------------------------------------------
# Shortcuts and side effects are rejected
# ----------------------------------------------------------------------------------------------------------------

def torch_sigmoid(x):
    return torch.sigmoid(torch.as_tensor(x)).numpy()


def course_sigmoid_alias(x):
    return course_sigmoid(x)


def test_torch_and_coursekit_are_forbidden_in_sigmoid(expect_failure):
    assert "uses torch" in expect_failure(SIGMOID, torch_sigmoid)
    assert "uses course_sigmoid" in expect_failure(SIGMOID, course_sigmoid_alias)


def test_torch_is_forbidden_in_the_update_and_half_life(expect_failure):
    def update_with_torch(h_prev, n, z):
        return torch.lerp(torch.as_tensor(n), torch.as_tensor(h_prev), torch.as_tensor(z)).numpy()

    def half_life_with_torch(z):
        return (torch.log(torch.tensor(0.5)) / torch.log(torch.as_tensor(z))).numpy()

    assert "uses torch" in expect_failure(GRU_UPDATE, update_with_torch)
    assert "uses torch" in expect_failure(HALF_LIFE, half_life_with_torch)


def test_in_place_modification_is_detected(expect_failure):
    def sigmoid_overwrites_x(x):
        out = sigmoid_two_branches(x)
        x[...] = out
        return out

    def update_overwrites_h_prev(h_prev, n, z):
        h_prev *= z
        return (1 - z) * n + h_prev

    def half_life_overwrites_z(z):
        z = np.asarray(z)
        np.log(z, out=z)
        return np.log(0.5) / z

    for item, fn in ((SIGMOID, sigmoid_overwrites_x), (GRU_UPDATE, update_overwrites_h_prev),
                     (HALF_LIFE, half_life_overwrites_z)):
        assert "changed its inputs" in expect_failure(item, fn)


# ----------------------------------------------------------------------------------------------------------------
# The learner-facing wrappers in coursekit.checks
# ----------------------------------------------------------------------------------------------------------------

WRAPPERS = [(checks.check_sigmoid, SIGMOID), (checks.check_gru_update, GRU_UPDATE),
            (checks.check_memory_half_life, HALF_LIFE)]


@pytest.mark.parametrize("wrapper, item", WRAPPERS, ids=lambda w: getattr(w, "__name__", ""))
def test_wrappers_pass_the_right_answer_and_print_one_line(wrapper, item, capsys):
    assert wrapper(item.reference) is None
    assert wrapper(item.reference, hidden=True) is None
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("check passed: " + item.target) and lines[1].startswith("hidden check passed")


@pytest.mark.parametrize("wrapper, item", WRAPPERS, ids=lambda w: getattr(w, "__name__", ""))
def test_wrappers_raise_with_the_diagnosis(wrapper, item):
    wrong = {SIGMOID: lambda x: 1 - sigmoid_two_branches(x), GRU_UPDATE: lambda h, n, z: z * n + (1 - z) * h,
             HALF_LIFE: lambda z: np.log(z) / np.log(0.5)}[item]
    with pytest.raises(AssertionError, match="Likely cause"):
        wrapper(wrong)


def test_generic_check_and_unknown_names():
    checks.check(ASSIGNMENT, "test_sigmoid", sigmoid_two_branches, hidden=True)
    with pytest.raises(KeyError, match="test_sigmoid"):
        checks.check(ASSIGNMENT, "test_no_such_item", sigmoid_two_branches)
    with pytest.raises(KeyError, match="01-gru-concept"):
        checks.check("99-nothing", "test_sigmoid", sigmoid_two_branches)
