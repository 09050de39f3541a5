"""Held-out wrong answers: written after the probes and messages were final, and never used to tune them. The
corpus test only asserts that they fail both checks; benchmarks/diagnosis_corpus.py reports how many of them
the message names by the expected cause (an honest estimate of the naming rate on mistakes nobody listed)."""

import numpy as np
import torch

from learner_corpus import Entry
from learner_corpus import bigru as b5
from learner_corpus import gru_backprop as b3
from learner_corpus import gru_numpy as g2
from learner_corpus import parallel_gru as p7


def _held(assignment, item, label, fn, cause):
    return Entry(assignment, item, label, fn, cause, held_out=True)


def sig_clip_20(x):
    x = np.clip(x, -20, 20)  # "stable" by clipping too early: sigmoid(-30) becomes sigmoid(-20)
    return 1 / (1 + np.exp(-x))


def sig_round(x):
    x, e = np.asarray(x), np.exp(-np.abs(x))
    return np.round(np.where(x >= 0, 1 / (1 + e), e / (1 + e)), 6)


def upd_clip_z(h, n, z):
    z = np.clip(z, 0.01, 0.99)
    return (1 - z) * n + z * h


def cell_r_from_z_bias(x, h, p):
    q = dict(p, b_ir=p["b_iz"])  # copy-paste of the bias
    return g2.cell(x, h, q)


def cell_relu_candidate(x, h, p):
    r = g2.sigmoid(x @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
    z = g2.sigmoid(x @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
    n = np.maximum(0, x @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
    return (1 - z) * n + z * h


def cell_r_times_h_out(x, h, p):
    r = g2.sigmoid(x @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
    z = g2.sigmoid(x @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + h @ p["W_hn"].T + p["b_hn"])  # r computed, never used
    return (1 - z) * n + z * h + 0 * r


def seq_h0_twice(xs, h0, p):
    hs, h = g2.seq(xs, h0, p)
    return hs, h + 0 * hs[0] if len(xs) > 1 else h0


def seq_last_two_swapped(xs, h0, p):
    hs, h = g2.seq(xs, h0, p)
    if len(hs) > 1:
        hs = hs.copy()
        hs[[-1, -2]] = hs[[-2, -1]]
    return hs, h


def cell_bw_dz_without_sigmoid_prime(dh_next, cache):
    x, h_prev, p, r, z, n, gh_n = cache
    dx, dh_prev, grads = b3.cell_bw(dh_next, cache)
    da_z_wrong = dh_next * (h_prev - n)
    da_z = da_z_wrong * z * (1 - z)
    grads = dict(grads, W_iz=da_z_wrong.T @ x, b_iz=da_z_wrong.sum(0))
    return dx + (da_z_wrong - da_z) @ p["W_iz"], dh_prev, grads


def cell_bw_dx_transposed(dh_next, cache):
    x, h_prev, p, r, z, n, gh_n = cache
    dx, dh_prev, grads = b3.cell_bw(dh_next, cache)
    return dx, dh_prev, {k: (v.T if k.startswith("W") and v.shape[0] == v.shape[1] else v) for k, v in grads.items()}


def seq_bw_carry_without_upstream(dhs, caches):
    T = len(caches)
    dxs, dh = [None] * T, np.zeros_like(dhs[0])
    grads = {k: np.zeros_like(v) for k, v in caches[0][2].items()}
    for t in reversed(range(T)):
        dxs[t], dh_new, step = b3.cell_bw(dhs[t], caches[t])  # the carried dh is dropped, then added after
        dh = dh_new + dh
        for k in grads:
            grads[k] = grads[k] + step[k]
    return np.stack(dxs), dh, grads


def count_bias_once_per_layer(I, H, L=1, bi=False):
    D = 2 if bi else 1
    return sum(D * (3 * H * ((I if l == 0 else D * H) + H) + 3 * H) for l in range(L))


def lvo_lengths_from_nonzero(output, lengths, batch_first=False):
    out = torch.as_tensor(output)
    out = out.transpose(0, 1) if batch_first else out
    nonzero = (out.abs().sum(-1) > 0).sum(0)  # guesses the lengths from the padding
    return out[nonzero - 1, torch.arange(out.shape[1])]


def bigru_backward_from_h0_fwd(xs, pf, pb):
    outputs, h_n = b5.bigru(xs, pf, pb)
    hs_f, last_f = b5.gru_forward(xs, b5.zeros(xs, pf), pf)
    hs_b, last_b = b5.gru_forward(xs[::-1], last_f, pb)  # backward starts from the forward's final state
    H = hs_f.shape[2]
    return np.concatenate([hs_f, hs_b[::-1]], axis=2), np.stack([last_f, last_b]) if H else h_n


def bigru_average(xs, pf, pb):
    outputs, h_n = b5.bigru(xs, pf, pb)
    H = outputs.shape[2] // 2
    return np.concatenate([outputs[..., :H], (outputs[..., :H] + outputs[..., H:]) / 2], axis=2), h_n


def scan_float32_inside(a, b, h0):
    return p7.scan(a.astype(np.float32), b.astype(np.float32), h0.astype(np.float32)).astype(np.result_type(a, b))


def scan_stride_3(a, b, h0):
    A_, B_ = np.array(a, dtype=np.result_type(a, b, h0)), np.array(b, dtype=np.result_type(a, b, h0))
    B_[0] = a[0] * h0 + b[0]
    k = 1
    while k < len(A_):
        B_[k:], A_[k:] = A_[k:] * B_[:-k] + B_[k:], A_[k:] * A_[:-k]
        k *= 3  # strides 1, 3, 9: leaves gaps
    return B_


def mingru_z_from_W_h(xs, h0, p):
    return p7.mingru(xs, h0, dict(p, W_z=p["W_h"]))


def adding_values_in_markers(batch, T, rng):
    xs, ys = __import__("learner_corpus.vanishing_gradients", fromlist=["adding"]).adding(batch, T, rng)
    xs = xs.copy()
    xs[..., 1] *= xs[..., 0] + 0.5  # markers scaled by the values
    return xs, ys


def norms_of_cell_state_only(model, xs):
    from learner_corpus.vanishing_gradients import _steps
    hs, cs = _steps(model, xs)
    hs[-1].sum().backward()
    if not cs:
        return np.array([h.grad.norm().item() for h in hs])
    return np.array([(c.grad.norm().item() if c.grad is not None else 0.0) for c in cs])


A1, A2, A3, A4, A5, A6, A7 = ("01-gru-concept", "02-gru-numpy", "03-gru-backprop", "04-torch-gru", "05-bigru",
                              "06-vanishing-gradients", "07-parallel-gru")
ENTRIES = [
    _held(A1, "test_sigmoid", "clipped at +-20", sig_clip_20, "x < 0"),
    _held(A1, "test_sigmoid", "rounded to 6 digits", sig_round, "precision"),
    _held(A1, "test_gru_update", "z clipped to [0.01, 0.99]", upd_clip_z, "z = 1 must keep"),
    _held(A2, "test_gru_cell_forward", "r's input bias is b_iz", cell_r_from_z_bias, "reset gate"),
    _held(A2, "test_gru_cell_forward", "ReLU candidate", cell_relu_candidate, "candidate's input term"),
    _held(A2, "test_gru_cell_forward", "r computed, never used", cell_r_times_h_out, "reset gate"),
    _held(A2, "test_gru_forward", "last two states swapped", seq_last_two_swapped, "hs[t] is the state after"),
    _held(A2, "test_gru_forward", "h_last replaced for T = 1", seq_h0_twice, "h_last"),
    _held(A3, "test_gru_cell_backward", "dz without sigmoid' for W_iz", cell_bw_dz_without_sigmoid_prime,
          "update gate"),
    _held(A3, "test_gru_cell_backward", "square weight gradients transposed", cell_bw_dx_transposed, "W_h"),
    _held(A3, "test_gru_backward", "carried gradient added after the step", seq_bw_carry_without_upstream,
          "BPTT"),
    _held(A4, "test_gru_param_count", "one bias per layer and direction", count_bias_once_per_layer, "bias"),
    _held(A4, "test_last_valid_output", "lengths guessed from the zeros", lvo_lengths_from_nonzero, "padding"),
    _held(A5, "test_bigru_forward", "backward starts from the forward's final state", bigru_backward_from_h0_fwd,
          "backward direction"),
    _held(A5, "test_bigru_forward", "backward half averaged with forward", bigru_average, "backward direction"),
    _held(A6, "test_adding_problem", "markers scaled by the values", adding_values_in_markers, "0 or 1"),
    _held(A6, "test_grad_norms_over_time", "the cell state's gradient for the LSTM", norms_of_cell_state_only,
          "cell state"),
    _held(A7, "test_linear_recurrence_scan", "computed in float32", scan_float32_inside, "float32 precision"),
    _held(A7, "test_linear_recurrence_scan", "strides 1, 3, 9", scan_stride_3, "passes"),
    _held(A7, "test_mingru_forward", "z from W_h", mingru_z_from_W_h, "W_z"),
]
