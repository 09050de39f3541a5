"""Learner implementations for notebook 02: gru_cell_forward, gru_forward, gru_cell_forward_cho (NumPy only)."""

import numpy as np

from learner_corpus import Entry

A = "02-gru-numpy"


def sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def cell(x, h, p, *, reset="after", z_hidden="W_hz", b_hn_outside=False, square_T=False, no_b_hn=False,
         mix="pytorch", gates_from_x_only=False, r_no_hidden_bias=False, n_input=("W_in", "b_in"), float64=False,
         in_place=False):
    """A learner's GRU step with one slip switched on at a time (all off: right)."""
    Wh = (lambda k: p[k]) if square_T else (lambda k: p[k].T)  # square_T: only the (H, H) matrices transposed
    hr = 0 if gates_from_x_only else h @ Wh("W_hr")
    r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + hr + (0 if r_no_hidden_bias else p["b_hr"]))
    z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h @ Wh(z_hidden) + p["b_hz"])
    b_hn = 0 * p["b_hn"] if no_b_hn else p["b_hn"]
    a_in = x @ p[n_input[0]].T + p[n_input[1]]
    if reset == "before":
        n = np.tanh(a_in + (r * h) @ Wh("W_hn") + b_hn)
    elif b_hn_outside:
        n = np.tanh(a_in + r * (h @ Wh("W_hn")) + b_hn)
    else:
        n = np.tanh(a_in + r * (h @ Wh("W_hn") + b_hn))
    if mix == "seed":
        out = z * n + (1 - z) * h
    elif mix == "no h":
        out = (1 - z) * n
    else:
        out = (1 - z) * n + z * h
    if in_place:
        h[...] = out
        return h
    return out.astype(np.float64) if float64 else out


def cell_einsum(x, h, p):
    lin = lambda a, W, b: np.einsum("bi,hi->bh", a, W) + b  # noqa: E731
    r = sigmoid(lin(x, p["W_ir"], p["b_ir"]) + lin(h, p["W_hr"], p["b_hr"]))
    z = sigmoid(lin(x, p["W_iz"], p["b_iz"]) + lin(h, p["W_hz"], p["b_hz"]))
    n = np.tanh(lin(x, p["W_in"], p["b_in"]) + r * lin(h, p["W_hn"], p["b_hn"]))
    return np.einsum("bh,bh->bh", 1 - z, n) + np.einsum("bh,bh->bh", z, h)


def cell_stacked(x, h, p):
    """Stacks the three gates like weight_ih_l0 (r | z | n) and splits once."""
    H = h.shape[1]
    gi = x @ np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]]).T + np.concatenate([p["b_ir"], p["b_iz"], p["b_in"]])
    gh = h @ np.concatenate([p["W_hr"], p["W_hz"], p["W_hn"]]).T + np.concatenate([p["b_hr"], p["b_hz"], p["b_hn"]])
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h - n)


def cell_swapped_gates(x, h, p):
    H = h.shape[1]
    q = {**p, "W_ir": p["W_iz"], "W_iz": p["W_ir"], "W_hr": p["W_hz"], "W_hz": p["W_hr"], "b_ir": p["b_iz"],
         "b_iz": p["b_ir"], "b_hr": p["b_hz"], "b_hz": p["b_hr"]}
    return cell(x, h, q) if H else None


def cell_uses_gh_for_z(x, h, p):
    return cell(x, h, p, z_hidden="W_hr")


def seq(xs, h0, p, *, step=cell, buffer_dtype=None, reverse=False, before=False, h_last="last", **knobs):
    T = xs.shape[0]
    hs = np.zeros((T,) + h0.shape, dtype=buffer_dtype or np.result_type(xs, h0))
    h = h0
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        if before:
            hs[t] = h
        h = step(xs[t], h, p, **knobs)
        if not before:
            hs[t] = h
    return hs, (hs[0] if h_last == "first" else h)


def seq_batched(xs, h0, p):
    T, B, I = xs.shape
    H = h0.shape[1]
    W_i = np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]])
    gi = (xs.reshape(T * B, I) @ W_i.T).reshape(T, B, 3 * H) + np.concatenate([p["b_ir"], p["b_iz"], p["b_in"]])
    hs, h = [], h0
    for t in range(T):
        r = sigmoid(gi[t, :, :H] + h @ p["W_hr"].T + p["b_hr"])
        z = sigmoid(gi[t, :, H:2 * H] + h @ p["W_hz"].T + p["b_hz"])
        n = np.tanh(gi[t, :, 2 * H:] + r * (h @ p["W_hn"].T + p["b_hn"]))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs), h


def seq_list_output(xs, h0, p):
    hs, h = seq(xs, h0, p)
    return [hs, h]


def seq_zero_state_each_step(xs, h0, p):
    hs = np.stack([cell(x, h0, p) for x in xs])
    return hs, hs[-1]


def seq_ignores_h0(xs, h0, p):
    return seq(xs, np.zeros_like(h0), p)


def seq_squeezed(xs, h0, p):
    hs, h = seq(xs, h0, p)
    return hs.squeeze(), h.squeeze()


ENTRIES = [
    # gru_cell_forward
    Entry(A, "test_gru_cell_forward", "z from W_hr (copy-paste)", cell_uses_gh_for_z, "update gate's recurrent term"),
    Entry(A, "test_gru_cell_forward", "r multiplies W_hn h, b_hn outside", lambda x, h, p: cell(x, h, p,
          b_hn_outside=True), "b_hn included"),
    Entry(A, "test_gru_cell_forward", "only the square matrices transposed",
          lambda x, h, p: cell(x, h, p, square_T=True), "candidate's recurrent term"),
    Entry(A, "test_gru_cell_forward", "seed's update", lambda x, h, p: cell(x, h, p, mix="seed"), "swapped"),
    Entry(A, "test_gru_cell_forward", "b_hn dropped", lambda x, h, p: cell(x, h, p, no_b_hn=True), "b_hn"),
    Entry(A, "test_gru_cell_forward", "Cho's placement", lambda x, h, p: cell(x, h, p, reset="before"),
          "reset gate is applied before"),
    Entry(A, "test_gru_cell_forward", "gates r and z swapped", cell_swapped_gates, "r | z | n"),
    Entry(A, "test_gru_cell_forward", "float32 in, float64 out", lambda x, h, p: cell(x, h, p, float64=True),
          "float64 although"),
    Entry(A, "test_gru_cell_forward", "r without W_hr h", lambda x, h, p: cell(x, h, p, gates_from_x_only=True),
          "reset gate's recurrent term"),
    Entry(A, "test_gru_cell_forward", "r without b_hr", lambda x, h, p: cell(x, h, p, r_no_hidden_bias=True),
          "reset gate's recurrent term"),
    Entry(A, "test_gru_cell_forward", "candidate from W_iz", lambda x, h, p: cell(x, h, p, n_input=("W_iz", "b_in")),
          "candidate's input term"),
    Entry(A, "test_gru_cell_forward", "writes the result into h_prev", lambda x, h, p: cell(x, h, p, in_place=True),
          "changed its inputs"),
    Entry(A, "test_gru_cell_forward", "h_prev dropped from the mix", lambda x, h, p: cell(x, h, p, mix="no h"),
          "update mix"),
    Entry(A, "test_gru_cell_forward", "einsum", cell_einsum),
    Entry(A, "test_gru_cell_forward", "stacked r|z|n blocks, n + z (h - n)", cell_stacked),
    # gru_forward
    Entry(A, "test_gru_forward", "float64 state buffer", lambda xs, h0, p: seq(xs, h0, p, buffer_dtype=np.float64),
          "float64 although"),
    Entry(A, "test_gru_forward", "stores the state before the step", lambda xs, h0, p: seq(xs, h0, p, before=True),
          "hs[t] is the state after reading xs[t]"),
    Entry(A, "test_gru_forward", "h_last = hs[0]", lambda xs, h0, p: seq(xs, h0, p, h_last="first"), "hs[0]"),
    Entry(A, "test_gru_forward", "h0 ignored", seq_ignores_h0, "h0 is ignored"),
    Entry(A, "test_gru_forward", "every step starts from h0", seq_zero_state_each_step, "state passed on"),
    Entry(A, "test_gru_forward", "runs backwards in time", lambda xs, h0, p: seq(xs, h0, p, reverse=True),
          "time order"),
    Entry(A, "test_gru_forward", "cell with b_hn outside r", lambda xs, h0, p: seq(xs, h0, p, b_hn_outside=True),
          "b_hn included"),
    Entry(A, "test_gru_forward", "cell with z from W_hr", lambda xs, h0, p: seq(xs, h0, p, z_hidden="W_hr"),
          "update gate's recurrent term"),
    Entry(A, "test_gru_forward", "squeezes its outputs", seq_squeezed, "shape"),
    Entry(A, "test_gru_forward", "input projections batched", seq_batched),
    Entry(A, "test_gru_forward", "returns a list", seq_list_output),
    # gru_cell_forward_cho
    Entry(A, "test_gru_cell_forward_cho", "PyTorch's placement", cell, "reset gate is applied after"),
    Entry(A, "test_gru_cell_forward_cho", "seed's update", lambda x, h, p: cell(x, h, p, reset="before", mix="seed"),
          "swapped"),
    Entry(A, "test_gru_cell_forward_cho", "b_hn dropped",
          lambda x, h, p: cell(x, h, p, reset="before", no_b_hn=True), "b_hn"),
    Entry(A, "test_gru_cell_forward_cho", "z from W_hr",
          lambda x, h, p: cell(x, h, p, reset="before", z_hidden="W_hr"), "update gate's recurrent term"),
    Entry(A, "test_gru_cell_forward_cho", "square matrices transposed",
          lambda x, h, p: cell(x, h, p, reset="before", square_T=True), "candidate's recurrent term"),
    Entry(A, "test_gru_cell_forward_cho", "r without W_hr h",
          lambda x, h, p: cell(x, h, p, reset="before", gates_from_x_only=True), "reset gate's recurrent term"),
    Entry(A, "test_gru_cell_forward_cho", "float32 in, float64 out",
          lambda x, h, p: cell(x, h, p, reset="before", float64=True), "float64 although"),
    Entry(A, "test_gru_cell_forward_cho", "candidate from W_iz",
          lambda x, h, p: cell(x, h, p, reset="before", n_input=("W_iz", "b_in")), "candidate's input term"),
    Entry(A, "test_gru_cell_forward_cho", "Cho's formula", lambda x, h, p: cell(x, h, p, reset="before")),
    Entry(A, "test_gru_cell_forward_cho", "Cho's formula, einsum",
          lambda x, h, p: np.tanh(0 * h) + cell(x, h, p, reset="before")),
]
