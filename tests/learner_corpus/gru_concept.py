"""Learner implementations for notebook 01: sigmoid, gru_update, memory_half_life."""

import math

import numpy as np

from learner_corpus import Entry

A = "01-gru-concept"


def sig_naive_silenced(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def sig_naive(x):
    return 1 / (1 + np.exp(-np.asarray(x)))


def sig_where_both(x):
    x = np.asarray(x)
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def _e(x):
    x = np.asarray(x)
    return x, np.exp(-np.abs(x))


def sig_two_branch(x):
    x, e = _e(x)
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sig_flipped(x):
    x, e = _e(x)
    return np.where(x >= 0, e / (1 + e), 1 / (1 + e))


def sig_abs(x):
    x, e = _e(x)
    return 1 / (1 + e)


def sig_negative_branch_wrong(x):
    x, e = _e(x)
    return np.where(x >= 0, 1 / (1 + e), 1 / (1 + 1 / e))  # e/(1+e) written as 1/(1 + 1/e): inf at x = -800


def sig_positive_branch_wrong(x):
    x, e = _e(x)
    return np.where(x >= 0, 1 - e / 2, e / (1 + e))


def sig_float64_out(x):
    x, e = _e(np.asarray(x, dtype=np.float64))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sig_float32_inside(x):
    x = np.asarray(x)
    x32, e = _e(x.astype(np.float32))
    return np.where(x32 >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sig_atleast_1d(x):
    x, e = _e(np.atleast_1d(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sig_tanh_form(x):  # right: the notebook's "other stable form"
    return 0.5 * (1 + np.tanh(np.asarray(x) / 2))


def expit(x):  # a learner's own helper that happens to share SciPy's name
    x, e = _e(x)
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sig_own_expit(x):
    return expit(x)


def sig_masked(x):
    x = np.asarray(x)
    out = np.empty_like(x, dtype=np.result_type(x, np.float16))
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1 + ex)
    return out if out.ndim else out[()]


def upd_interpolate(h, n, z):
    return n + z * (h - n)


def upd_seed(h, n, z):
    return z * n + (1 - z) * h


def upd_no_mix(h, n, z):
    return (1 - z) * n + h


def upd_both_z(h, n, z):
    return z * n + z * h


def upd_float64(h, n, z):
    return ((1 - z) * n + z * h).astype(np.float64)


def upd_in_place(h, n, z):
    h *= z
    h += (1 - z) * n
    return h


def upd_half(h, n, z):
    return 0.5 * n + 0.5 * h


def upd_mean_z(h, n, z):
    z = z.mean()
    return (1 - z) * n + z * h


def upd_reversed_roles(h, n, z):
    return (1 - z) * h + z * n


def upd_no_one_minus(h, n, z):
    return -z * n + z * h + n * 0


def upd_list(h, n, z):
    return [list(row) for row in (1 - z) * n + z * h]


def upd_einsum(h, n, z):
    return np.einsum("bh,bh->bh", 1 - z, n) + np.einsum("bh,bh->bh", z, h)


def hl_plain(z):
    return np.log(0.5) / np.log(z)


def hl_log2(z):
    return -1 / np.log2(z)


def hl_math(z):
    return math.log(0.5) / math.log(z)


def hl_inverse(z):
    return np.log(z) / np.log(0.5)


def hl_one_minus(z):
    return np.log(0.5) / np.log(1 - np.asarray(z))


def hl_time_constant(z):
    return 1 / (1 - np.asarray(z))


def hl_sign(z):
    return -np.log(0.5) / np.log(z)


def hl_ln2_only(z):
    return np.log(2) / np.asarray(z)


def hl_float64(z):
    return np.log(0.5) / np.log(np.asarray(z, dtype=np.float64))


def hl_rounded(z):
    return np.ceil(np.log(0.5) / np.log(z))


def hl_log10(z):
    return np.log10(0.5) / np.log(z)


def hl_float32_const(z):
    return np.float32(np.log(0.5)) / np.log(z)


def hl_expm(z):
    z = np.asarray(z)
    return np.log(0.5) / np.log1p(z - 1)


ENTRIES = [
    Entry(A, "test_sigmoid", "naive formula under np.errstate(over='ignore')", sig_naive_silenced, "errstate"),
    Entry(A, "test_sigmoid", "naive formula", sig_naive, "overflowed"),
    Entry(A, "test_sigmoid", "np.where over two naive branches", sig_where_both, "overflowed"),
    Entry(A, "test_sigmoid", "branches swapped", sig_flipped, "sigmoid(-x)"),
    Entry(A, "test_sigmoid", "1 / (1 + exp(-|x|)) everywhere", sig_abs, "sigmoid(|x|)"),
    Entry(A, "test_sigmoid", "x < 0 branch as 1 / (1 + 1/e)", sig_negative_branch_wrong, "overflowed"),
    Entry(A, "test_sigmoid", "x >= 0 branch approximated", sig_positive_branch_wrong, "x >= 0"),
    Entry(A, "test_sigmoid", "float32 in, float64 out", sig_float64_out, "float64 although"),
    Entry(A, "test_sigmoid", "computed in float32, cast back", sig_float32_inside, "float32 precision"),
    Entry(A, "test_sigmoid", "a number becomes a 1-element array", sig_atleast_1d, "plain number"),
    Entry(A, "test_sigmoid", "tanh form", sig_tanh_form),
    Entry(A, "test_sigmoid", "own helper named expit", sig_own_expit),
    Entry(A, "test_sigmoid", "boolean masks", sig_masked),
    Entry(A, "test_sigmoid", "two branches", sig_two_branch),
    Entry(A, "test_gru_update", "seed's convention", upd_seed, "swapped"),
    Entry(A, "test_gru_update", "h_prev added without its weight", upd_no_mix, "z = 0 must take the candidate"),
    Entry(A, "test_gru_update", "z on both terms", upd_both_z, "sum to 1"),
    Entry(A, "test_gru_update", "float32 in, float64 out", upd_float64, "float64 although"),
    Entry(A, "test_gru_update", "updates h_prev in place", upd_in_place, "changed its inputs"),
    Entry(A, "test_gru_update", "fixed z = 0.5", upd_half, "z = 1 must keep"),
    Entry(A, "test_gru_update", "one z for every unit (mean)", upd_mean_z, "its own z"),
    Entry(A, "test_gru_update", "roles of h and n exchanged", upd_reversed_roles, "swapped"),
    Entry(A, "test_gru_update", "minus sign instead of 1 - z", upd_no_one_minus, "z = 1 must keep"),
    Entry(A, "test_gru_update", "returns nested lists", upd_list, "single value"),
    Entry(A, "test_gru_update", "interpolation form n + z (h - n)", upd_interpolate),
    Entry(A, "test_gru_update", "einsum", upd_einsum),
    Entry(A, "test_memory_half_life", "ratio upside down", hl_inverse, "upside down"),
    Entry(A, "test_memory_half_life", "seed's 1 - z", hl_one_minus, "seed's convention"),
    Entry(A, "test_memory_half_life", "time constant", hl_time_constant, "mean lifetime"),
    Entry(A, "test_memory_half_life", "sign", hl_sign, "sign is wrong"),
    Entry(A, "test_memory_half_life", "ln 2 / z", hl_ln2_only, "halves the memory"),
    Entry(A, "test_memory_half_life", "rounded up to whole steps", hl_rounded, "half a step"),
    Entry(A, "test_memory_half_life", "log10 over ln", hl_log10, "halves the memory"),
    Entry(A, "test_memory_half_life", "math.log on arrays", hl_math, "raised"),
    Entry(A, "test_memory_half_life", "a float32 constant", hl_float32_const, "float32 precision"),
    Entry(A, "test_memory_half_life", "-1 / log2 z", hl_log2),
    Entry(A, "test_memory_half_life", "log1p", hl_expm),
]
