"""The derivation exercises of notebooks 01 and 03: update_bias_for_memory and candidate_backward.

Each item passes its reference, whose values are checked independently (a simulated unit, coursekit.gru's backward
pass), and fails every listed wrong implementation with that mistake's own diagnosis.
"""

import numpy as np
import pytest

from coursekit import checking, gru
from coursekit.activations import sigmoid
from coursekit.items import gru_backprop, gru_concept
from coursekit.items.cases import gru_params

BIAS = gru_concept.UPDATE_BIAS_FOR_MEMORY
CANDIDATE = gru_backprop.CANDIDATE_BACKWARD


def verdict_of(item, fn, hidden=False):
    """Judge ``fn``'s outputs only: the items' own references and mistakes live in coursekit, which the
    forbidden-name check refuses in a learner's code (tested separately)."""
    cases = checking.cases_for(item, checking.PUBLIC_SEED, hidden)
    return checking.judge(item, cases, checking.call_learner(item, fn, cases))


def as_function(wrong, item):
    """A learner's function computing a listed wrong answer (candidate_backward gets a cache, like the learner)."""
    if item is CANDIDATE:
        def candidate_backward(dn, cache):
            x, h_prev, params = cache[0], cache[1], cache[2]
            return wrong(dn, x, h_prev, params)
        return candidate_backward
    return wrong


# ----------------------------------------------------------------------------------------------------------------
# update_bias_for_memory
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k, fraction", [(1, 0.5), (10, 0.5), (100, 0.1), (1000, 0.9), (10**5, 0.5)])
def test_the_bias_keeps_the_fraction_in_a_simulated_gru_unit(k, fraction):
    """A 1-unit GRU with zero weights, a zero candidate and this update bias keeps `fraction` of h0 after k steps."""
    b = float(BIAS.reference(k, fraction))
    params = {key: np.zeros_like(value) for key, value in gru.init_params(1, 1, rng=np.random.default_rng(0)).items()}
    params["b_iz"] = np.array([b / 2])  # the gate sees b_iz + b_hz
    params["b_hz"] = np.array([b / 2])
    if k <= 1000:
        hs, _ = gru.forward(np.zeros((k, 1, 1)), np.ones((1, 1)), params)
        assert hs[-1, 0, 0] == pytest.approx(fraction, rel=1e-9)
    assert float(sigmoid(b)) ** k == pytest.approx(fraction, rel=1e-9)


def test_the_bias_grows_like_ln_k():
    b = BIAS.reference(np.array([1e3, 1e4, 1e5]), 0.5)
    assert np.diff(b) == pytest.approx([np.log(10)] * 2, abs=1e-3)
    assert BIAS.reference(1, 0.5) == 0.0


def test_update_bias_for_memory_passes_the_reference_and_a_naive_two_line_answer():
    assert verdict_of(BIAS, BIAS.reference, hidden=True).passed

    def update_bias_for_memory(k, fraction=0.5):
        z = fraction ** (1 / np.asarray(k))
        return np.log(z / (1 - z))

    checking.check(BIAS, update_bias_for_memory, hidden=True, quiet=True)


@pytest.mark.parametrize("diagnosis, wrong", BIAS.mistakes, ids=[d[:40] for d, _ in BIAS.mistakes])
def test_update_bias_for_memory_names_each_mistake(diagnosis, wrong):
    verdict = verdict_of(BIAS, wrong)
    assert not verdict.passed and diagnosis in verdict.message


def test_update_bias_for_memory_refuses_scipy():
    import types

    scipy = types.ModuleType("scipy")
    namespace = {"scipy": scipy, "np": np}
    exec("def update_bias_for_memory(k, fraction=0.5):\n    return scipy.special.logit(fraction ** (1 / k))",
         namespace)
    with pytest.raises(AssertionError, match="uses scipy"):
        checking.check(BIAS, namespace["update_bias_for_memory"], quiet=True)


# ----------------------------------------------------------------------------------------------------------------
# candidate_backward
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_candidate_reference_agrees_with_the_bias_gradients_of_coursekit_gru(seed):
    """With dn = dh' * (1 - z), the batch sums of da_n, dgh_n and da_r are the gradients of b_in, b_hn and b_hr."""
    rng = np.random.default_rng(seed)
    B, I, H = 3, 4, 5
    x, h, params = rng.standard_normal((B, I)), rng.standard_normal((B, H)), gru_params(rng, I, H)
    dh_next = rng.standard_normal((B, H))
    _, cache = gru_backprop.cell_cache(x, h, params)
    z = cache[4]
    out = CANDIDATE.reference(dh_next * (1 - z), x, h, params)
    grads = gru_backprop.cell_backward_reference(dh_next, x, h, params)[2]
    assert list(out) == list(gru_backprop.CANDIDATE_KEYS)
    np.testing.assert_allclose(out["da_n"].sum(axis=0), grads["b_in"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["dgh_n"].sum(axis=0), grads["b_hn"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["da_r"].sum(axis=0), grads["b_hr"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["dgh_n"].T @ h, grads["W_hn"], rtol=1e-12, atol=1e-14)


def test_candidate_backward_passes_a_learner_style_answer():
    def candidate_backward(dn, cache):
        x, h_prev, p, r, z, n, gh_n = cache
        da_n = dn * (1 - n**2)
        dr = da_n * gh_n
        return {"da_n": da_n, "dr": dr, "dgh_n": da_n * r, "da_r": dr * r * (1 - r)}

    checking.check(CANDIDATE, candidate_backward, hidden=True, quiet=True)


@pytest.mark.parametrize("diagnosis, wrong", CANDIDATE.mistakes, ids=[d[:40] for d, _ in CANDIDATE.mistakes])
def test_candidate_backward_names_each_mistake(diagnosis, wrong):
    verdict = verdict_of(CANDIDATE, as_function(wrong, CANDIDATE))
    assert not verdict.passed and diagnosis in verdict.message


def test_candidate_backward_says_which_gradient_is_wrong_and_refuses_a_tuple():
    def candidate_backward(dn, cache):
        x, h_prev, p, r, z, n, gh_n = cache
        da_n = dn * (1 - n**2)
        dr = da_n * gh_n
        return {"da_n": da_n, "dr": dr, "dgh_n": da_n * r, "da_r": dr * 0.5}

    verdict = verdict_of(CANDIDATE, candidate_backward)
    assert not verdict.passed and "da_r" in verdict.message
    assert not any(f"'{key}']" in verdict.message for key in ("da_n", "dr", "dgh_n"))

    def as_tuple(dn, cache):
        x, h_prev, p, r, z, n, gh_n = cache
        da_n = dn * (1 - n**2)
        return da_n, da_n * gh_n, da_n * r, da_n * gh_n * r * (1 - r)

    verdict = verdict_of(CANDIDATE, as_tuple)
    assert not verdict.passed and "dict" in verdict.message


def test_candidate_reference_passes_the_hidden_cases():
    assert verdict_of(CANDIDATE, as_function(CANDIDATE.reference, CANDIDATE), hidden=True).passed
