"""The graded items of notebook 07-parallel-gru: right answers pass (public and hidden), each listed mistake fails
with its own diagnosis, trivial stubs and sequential loops fail, and the line counter cannot be switched off.

The learner-style implementations below are written independently of coursekit.scan and coursekit.mingru."""

import math

import numpy as np
import pytest

from coursekit.activations import sigmoid
from coursekit.checking import call_learner, cases_for, check, judge, judge_case, pack, run_item, unpack
from coursekit.items import get
from coursekit.items import parallel_gru as pg

SCAN = get("07-parallel-gru", "test_linear_recurrence_scan")
MINGRU = get("07-parallel-gru", "test_mingru_forward")


def diagnosis(item, start):
    matches = [text for text, _ in item.mistakes if text.startswith(start)]
    assert len(matches) == 1, start
    return matches[0]


# ----------------------------------------------------------------------------------------------------------------
# Learner-style scans
# ----------------------------------------------------------------------------------------------------------------

def hillis_steele(*, extra_pass=0, a_first=False, swapped_order=False, ignore_h0=False, exclusive=False):
    """A learner's Hillis-Steele scan with in-place slice updates, with one knob turned wrong."""
    def linear_recurrence_scan(a, b, h0):
        T = len(a)
        A = np.array(a, dtype=np.result_type(a, b, h0))
        B = np.array(b, dtype=A.dtype)
        if not ignore_h0:
            B[0] = B[0] + A[0] * h0
        passes_needed = math.ceil(math.log2(T)) if T > 1 else 0
        for p in range(passes_needed + extra_pass):
            k = 2 ** p
            A_prev = A.copy()
            if a_first:
                A[k:] = A[k:] * A[:-k]
            if swapped_order:
                B[k:] = A_prev[:-k] * B[k:] + B[:-k]
            else:
                B[k:] = A[k:] * B[:-k] + B[k:]
            if not a_first:
                A[k:] = A_prev[k:] * A_prev[:-k]
        if exclusive:
            return np.concatenate([np.asarray(h0)[None], B[:-1]])
        return B
    return linear_recurrence_scan


def blelloch(a, b, h0):
    """A work-efficient scan (up-sweep and down-sweep over a power-of-two padding), as a learner might write it."""
    T = len(a)
    size = 1 << max(T - 1, 0).bit_length()
    dtype = np.result_type(a, b, h0)
    A = np.ones((size, *np.shape(a)[1:]), dtype)
    B = np.zeros_like(A)
    A[:T], B[:T] = a, b
    B[0] = a[0] * h0 + b[0]
    d = 1
    while d < size:  # up-sweep: position i (every 2d) combines with i - d
        right, left = slice(2 * d - 1, size, 2 * d), slice(d - 1, size, 2 * d)
        B[right] = A[right] * B[left] + B[right]
        A[right] = A[right] * A[left]
        d *= 2
    d = size // 4
    while d >= 1:  # down-sweep: fill in the positions between
        target, source = slice(3 * d - 1, size, 2 * d), slice(2 * d - 1, size - d, 2 * d)
        B[target] = A[target] * B[source] + B[target]
        A[target] = A[target] * A[source]
        d //= 2
    return B[:T]


def log_space(a, b, h0):
    """The closed form with cumulative products: not a loop, but divides by products that underflow to 0."""
    with np.errstate(all="ignore"):
        P = np.cumprod(a, axis=0)
        return P * (h0 + np.cumsum(b / P, axis=0))


def loop(a, b, h0):
    h, hs = h0, []
    for t in range(len(a)):
        h = a[t] * h + b[t]
        hs.append(h)
    return np.stack(hs)


def test_right_answers_pass(expect_pass):
    expect_pass(SCAN, hillis_steele())
    expect_pass(SCAN, blelloch)


@pytest.mark.parametrize("knobs, start", [
    ({"ignore_h0": True}, "h0 is ignored"),
    ({"exclusive": True}, "hs[t] must be the state after step t"),
    ({"extra_pass": -1}, "the scan stops a pass too early"),
    ({"a_first": True}, "A was updated before B"),
    ({"swapped_order": True}, "the two pairs are combined in the wrong order"),
])
def test_scan_mistakes_are_diagnosed(knobs, start, expect_failure):
    assert diagnosis(SCAN, start) in expect_failure(SCAN, hillis_steele(**knobs))


def test_swapped_a_and_b_is_diagnosed(expect_failure):
    swapped = hillis_steele()
    assert diagnosis(SCAN, "a and b are swapped") in expect_failure(SCAN, lambda a, b, h0: swapped(b, a, h0))


def test_a_sequential_loop_fails_on_the_line_count_even_though_its_values_are_right(expect_failure):
    message = expect_failure(SCAN, loop)
    assert "loop over time" in message and "cases fail" in message


def test_the_unstable_closed_form_fails(expect_failure):
    """No Python loop, but the products of a underflow to 0 on long sequences, and a_t = 0 divides by zero: the
    public cases hold resets and underflow too (public predicts hidden), and the a = 0 probe names the part."""
    message = expect_failure(SCAN, log_space)
    assert "nan or inf" in message and "a_t = 0" in message
    short = lambda a, b, h0: log_space(a, b, h0) if len(a) < 1000 else loop(a, b, h0)
    cases = cases_for(SCAN, 2024, hidden=False)
    problems = {case.label: judge_case(SCAN, case, outcome)
                for case, outcome in zip(cases, call_learner(SCAN, short, cases))}
    # np.cumprod chains the products one after another (the Traced depth sees it) and divides by 0 at a reset
    assert problems["a_t = 0 at some steps (resets)"] is not None


def test_switching_the_counter_off_is_forbidden(expect_failure):
    import sys

    def linear_recurrence_scan(a, b, h0):
        sys.settrace(None)
        return loop(a, b, h0)
    assert "must be written without" in expect_failure(SCAN, linear_recurrence_scan)


def test_calling_coursekit_is_forbidden(expect_failure):
    from coursekit.scan import linear_recurrence_scan as library_scan
    assert "must be written without" in expect_failure(SCAN, lambda a, b, h0: library_scan(a, b, h0))


@pytest.mark.parametrize("stub", [lambda a, b, h0: np.zeros_like(b), lambda a, b, h0: b,
                                  lambda a, b, h0: np.cumsum(b, axis=0), lambda a, b, h0: a * h0 + b])
def test_scan_stubs_fail(stub, expect_failure):
    expect_failure(SCAN, stub)


def test_scan_not_implemented_and_in_place_changes_fail(expect_failure):
    def linear_recurrence_scan(a, b, h0):
        raise NotImplementedError()
    assert "NotImplementedError" in expect_failure(SCAN, linear_recurrence_scan)

    def in_place(a, b, h0):
        b[0] = b[0] + a[0] * h0
        k = 1
        while k < len(a):
            b[k:] = a[k:] * b[:-k] + b[k:]
            a[k:] = a[k:] * a[:-k]
            k *= 2
        return b
    assert "changed its inputs" in expect_failure(SCAN, in_place)


def test_line_budget_separates_a_loop_from_a_scan():
    for T in (1024, 2048, 4096, 8192):
        assert pg.line_budget(T) < T  # a loop runs at least T lines
    assert pg.line_budget(4096) == 920


def test_every_scan_mistake_differs_from_the_answer_on_some_public_case():
    cases = cases_for(SCAN, 2024, hidden=False)
    for text, wrong in SCAN.mistakes:
        assert any(not np.allclose(wrong(*c.args), SCAN.reference(*c.args), rtol=c.rtol, atol=c.atol)
                   for c in cases), text


# ----------------------------------------------------------------------------------------------------------------
# mingru_forward
# ----------------------------------------------------------------------------------------------------------------

def learner_mingru(*, swap=False, squash=None, zero_h0=False, before=False, transposed=False, no_bias=False,
                   scan=hillis_steele()):
    def mingru_forward(xs, h0, params):
        W_z, W_h = (params["W_z"].T, params["W_h"].T) if transposed else (params["W_z"], params["W_h"])
        b_z, b_h = (0.0, 0.0) if no_bias else (params["b_z"], params["b_h"])
        z = sigmoid(xs @ W_z.T + b_z)
        candidate = xs @ W_h.T + b_h
        if squash:
            candidate = squash(candidate)
        a, b = (z, (1 - z) * candidate) if swap else (1 - z, z * candidate)
        hs = scan(a, b, np.zeros_like(h0) if zero_h0 else h0)
        return np.concatenate([h0[None], hs[:-1]]) if before else hs
    return mingru_forward


def mingru_loop(xs, h0, params):
    h, hs = h0, []
    for x in xs:
        z = sigmoid(x @ params["W_z"].T + params["b_z"])
        h = (1 - z) * h + z * (x @ params["W_h"].T + params["b_h"])
        hs.append(h)
    return np.stack(hs)


def test_mingru_right_answer_passes(expect_pass):
    expect_pass(MINGRU, learner_mingru())
    expect_pass(MINGRU, learner_mingru(scan=blelloch))


@pytest.mark.parametrize("knobs, start", [
    ({"swap": True}, "z and 1 - z are swapped"),
    ({"squash": np.tanh}, "minGRU's candidate has no tanh"),
    ({"zero_h0": True}, "h0 is ignored"),
    ({"before": True}, "hs[t] must be the state after reading"),
    ({"transposed": True}, "the weights are transposed"),
    ({"no_bias": True}, "the biases b_z and b_h are missing"),
])
def test_mingru_mistakes_are_diagnosed(knobs, start, expect_failure):
    assert diagnosis(MINGRU, start) in expect_failure(MINGRU, learner_mingru(**knobs))


def test_mingru_by_a_loop_fails_on_the_line_count(expect_failure):
    assert "loop over time" in expect_failure(MINGRU, mingru_loop)


@pytest.mark.parametrize("stub", [lambda xs, h0, p: np.zeros((len(xs), *h0.shape)),
                                  lambda xs, h0, p: np.repeat(h0[None], len(xs), axis=0),
                                  lambda xs, h0, p: xs @ p["W_h"].T + p["b_h"]])
def test_mingru_stubs_fail(stub, expect_failure):
    expect_failure(MINGRU, stub)


def test_mingru_may_use_coursekit_sigmoid_but_not_coursekit_mingru(expect_failure):
    check(MINGRU, learner_mingru(), quiet=True)  # learner_mingru calls coursekit.activations.sigmoid
    from coursekit import mingru
    assert "must be written without" in expect_failure(MINGRU, lambda xs, h0, p: mingru.forward(xs, h0, p))


def test_grader_round_trip_through_plain_data():
    for item, right, wrong in ((SCAN, hillis_steele(), loop), (MINGRU, learner_mingru(), mingru_loop)):
        cases = cases_for(item, 11, True)
        result = unpack(pack(run_item(item, {item.target: right}, seed=11)))
        assert judge(item, cases, result["outcomes"]).passed
        result = unpack(pack(run_item(item, {item.target: wrong}, seed=11)))
        verdict = judge(item, cases, result["outcomes"])
        assert not verdict.passed and "loop over time" in verdict.message


# ----------------------------------------------------------------------------------------------------------------
# Chinese notebooks: every message of this notebook's items is in the catalog
# ----------------------------------------------------------------------------------------------------------------

# (that every message of these items has a translation: tests/test_i18n_messages.py)


def test_built_messages_are_chinese_in_a_chinese_notebook():
    with pytest.raises(AssertionError) as info:
        check(MINGRU, mingru_loop, quiet=True, language="zh_CN")
    assert "SequentialLoopError：对 T = 2048 个时间步执行了" in str(info.value)
