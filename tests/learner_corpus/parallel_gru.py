"""Learner implementations for notebook 07: linear_recurrence_scan and mingru_forward (NumPy only)."""

import functools
import itertools

import numpy as np

from learner_corpus import Entry

A = "07-parallel-gru"


def scan(a, b, h0, *, passes=None, a_first=False, reverse_combine=False, use_h0=True, shift=False, dtype=None,
         in_place=False):
    """Hillis-Steele with one slip switched on at a time (all off: right)."""
    A_ = a if in_place else np.array(a, dtype=dtype or np.result_type(a, b, h0))
    B_ = np.array(b, dtype=dtype or A_.dtype)
    B_[0] = a[0] * (h0 if use_h0 else 0 * h0) + b[0]
    k, done = 1, 0
    while k < len(A_) and (passes is None or done < passes):
        if a_first:
            A_[k:] = A_[k:] * A_[:-k]
            B_[k:] = A_[k:] * B_[:-k] + B_[k:]
        elif reverse_combine:
            B_[k:], A_[k:] = A_[:-k] * B_[k:] + B_[:-k], A_[k:] * A_[:-k]
        else:
            B_[k:], A_[k:] = A_[k:] * B_[:-k] + B_[k:], A_[k:] * A_[:-k]
        k, done = 2 * k, done + 1
    if shift:
        return np.concatenate([np.asarray(h0)[None], B_[:-1]])
    return B_


def scan_too_few(a, b, h0):
    T = len(a)
    return scan(a, b, h0, passes=max(int(np.ceil(np.log2(T))) - 1, 0) if T > 1 else 0)


def scan_loop(a, b, h0):
    hs, h = [], h0
    for t in range(len(a)):
        h = a[t] * h + b[t]
        hs.append(h)
    return np.stack(hs)


def _affine_matrices(a, b):
    M = np.zeros(a.shape + (2, 2), dtype=np.result_type(a, b))
    M[..., 0, 0], M[..., 0, 1], M[..., 1, 1] = a, b, 1
    return M


def scan_accumulate(a, b, h0):
    """2x2 matrices composed by itertools.accumulate: no line of Python runs per step."""
    prefix = np.array(list(itertools.accumulate(_affine_matrices(a, b), lambda P, M: np.matmul(M, P))))
    return prefix[..., 0, 0] * h0 + prefix[..., 0, 1]


def scan_accumulate_hidden(a, b, h0):
    """The same, with the tool fetched by a computed name."""
    compose = getattr(itertools, "".join(["accu", "mulate"]))
    prefix = np.array(list(compose(_affine_matrices(a, b), functools.partial(_compose))))
    return prefix[..., 0, 0] * h0 + prefix[..., 0, 1]


def _compose(P, M):
    return np.matmul(M, P)


def scan_cumprod(a, b, h0):
    """Closed form h_t = P_t (h0 + sum_s b_s / P_s), P_t = a_0 ... a_t: divides by products of a."""
    P = np.cumprod(a, axis=0)
    return P * (h0 + np.cumsum(b / P, axis=0))


def scan_logspace(a, b, h0):
    log_P = np.cumsum(np.log(a), axis=0)
    return np.exp(log_P) * (h0 + np.cumsum(b * np.exp(-log_P), axis=0))


def scan_concatenate(a, b, h0):
    """Right, written functionally: every pass builds new arrays with concatenate."""
    A_, B_ = np.asarray(a), np.asarray(b)
    B_ = np.concatenate([(a[0] * h0 + b[0])[None], B_[1:]])
    k = 1
    while k < len(A_):
        B_ = np.concatenate([B_[:k], A_[k:] * B_[:-k] + B_[k:]])
        A_ = np.concatenate([A_[:k], A_[k:] * A_[:-k]])
        k *= 2
    return B_


def sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def mingru(xs, h0, p, *, swap=False, tanh=False, use_h0=True, shift=False, transpose=False, biases=True,
           scanner=scan, float64=False):
    W_z, W_h = (p["W_z"].T, p["W_h"].T) if transpose else (p["W_z"], p["W_h"])
    b_z, b_h = (p["b_z"], p["b_h"]) if biases else (0, 0)
    z = sigmoid(xs @ W_z.T + b_z)
    h_tilde = xs @ W_h.T + b_h
    if tanh:
        h_tilde = np.tanh(h_tilde)
    a, b = (z, (1 - z) * h_tilde) if swap else (1 - z, z * h_tilde)
    if float64:
        a, b = a.astype(np.float64), b.astype(np.float64)
    hs = scanner(a, b, h0 if use_h0 else np.zeros_like(h0))
    return np.concatenate([h0[None], hs[:-1]]) if shift else hs


ENTRIES = [
    Entry(A, "test_linear_recurrence_scan", "a loop over time", scan_loop, "loop over time"),
    Entry(A, "test_linear_recurrence_scan", "itertools.accumulate of 2x2 matrices", scan_accumulate, "accumulate"),
    Entry(A, "test_linear_recurrence_scan", "accumulate fetched by a computed name", scan_accumulate_hidden,
          "chain of"),
    Entry(A, "test_linear_recurrence_scan", "cumprod closed form", scan_cumprod, "a_t = 0"),
    Entry(A, "test_linear_recurrence_scan", "log space", scan_logspace, "a_t = 0"),
    Entry(A, "test_linear_recurrence_scan", "h0 ignored", lambda a, b, h0: scan(a, b, h0, use_h0=False),
          "h0 is ignored"),
    Entry(A, "test_linear_recurrence_scan", "state before the step", lambda a, b, h0: scan(a, b, h0, shift=True),
          "not before it"),
    Entry(A, "test_linear_recurrence_scan", "one pass too few", scan_too_few, "a pass too early"),
    Entry(A, "test_linear_recurrence_scan", "A before B", lambda a, b, h0: scan(a, b, h0, a_first=True),
          "A was updated before B"),
    Entry(A, "test_linear_recurrence_scan", "combine order", lambda a, b, h0: scan(a, b, h0, reverse_combine=True),
          "wrong order"),
    Entry(A, "test_linear_recurrence_scan", "a and b swapped", lambda a, b, h0: scan(b, a, h0), "swapped"),
    Entry(A, "test_linear_recurrence_scan", "works in a itself", lambda a, b, h0: scan(a, b, h0, in_place=True),
          "changed its inputs"),
    Entry(A, "test_linear_recurrence_scan", "float64 copies", lambda a, b, h0: scan(a, b, h0, dtype=np.float64),
          "float64 although"),
    Entry(A, "test_linear_recurrence_scan", "Hillis-Steele", scan),
    Entry(A, "test_linear_recurrence_scan", "Hillis-Steele with concatenate", scan_concatenate),
    Entry(A, "test_mingru_forward", "z and 1 - z swapped", lambda x, h, p: mingru(x, h, p, swap=True), "swapped"),
    Entry(A, "test_mingru_forward", "tanh candidate", lambda x, h, p: mingru(x, h, p, tanh=True), "no tanh"),
    Entry(A, "test_mingru_forward", "h0 ignored", lambda x, h, p: mingru(x, h, p, use_h0=False), "h0 is ignored"),
    Entry(A, "test_mingru_forward", "state before the step", lambda x, h, p: mingru(x, h, p, shift=True), "before"),
    Entry(A, "test_mingru_forward", "transposed weights", lambda x, h, p: mingru(x, h, p, transpose=True),
          "transposed"),
    Entry(A, "test_mingru_forward", "no biases", lambda x, h, p: mingru(x, h, p, biases=False), "biases"),
    Entry(A, "test_mingru_forward", "a loop over time", lambda x, h, p: mingru(x, h, p, scanner=scan_loop),
          "loop over time"),
    Entry(A, "test_mingru_forward", "float64 coefficients", lambda x, h, p: mingru(x, h, p, float64=True),
          "float64 although"),
    Entry(A, "test_mingru_forward", "accumulate", lambda x, h, p: mingru(x, h, p, scanner=scan_accumulate),
          "accumulate"),
    Entry(A, "test_mingru_forward", "through the learner's scan", mingru),
    Entry(A, "test_mingru_forward", "through a functional scan", lambda x, h, p: mingru(x, h, p,
                                                                                         scanner=scan_concatenate)),
]
