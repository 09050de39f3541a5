"""Learner implementations for notebook 03: gru_cell_backward and gru_backward (BPTT), on the notebook's caches
cache = (x, h_prev, params, r, z, n, gh_n) of one step, and a list of them for a sequence."""

import collections

import numpy as np

from learner_corpus import Entry

A = "03-gru-backprop"


def cell_bw(dh_next, cache, slip=None):
    x, h_prev, p, r, z, n, gh_n = cache
    if slip == "square n in place":
        n2 = np.square(n, out=n)
    else:
        n2 = n * n
    one = np.ones(z.shape) if slip == "float64 ones" else 1
    dh_prev = 0 * dh_next if slip == "no direct path" else dh_next * z
    dn = dh_next * (z if slip == "dn with z" else one - z)
    dz = dh_next * ((n - h_prev) if slip == "dz sign" else (h_prev - n))
    da_n = dn if slip == "no tanh'" else dn * (1 - n2)
    dr = da_n * ((gh_n - p["b_hn"]) if slip == "dr without b_hn" else gh_n)
    dgh_n = da_n if slip == "W_hn without r" else da_n * r
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    dx = da_r @ p["W_ir"] + da_z @ p["W_iz"] + da_n @ p["W_in"]
    dh_prev = dh_prev + da_r @ p["W_hr"] + dgh_n @ p["W_hn"]
    if slip != "no W_hz path":
        dh_prev = dh_prev + da_z @ p["W_hz"]
    grads = {"W_ir": da_r.T @ x, "W_iz": da_z.T @ x, "W_in": da_n.T @ x, "W_hr": da_r.T @ h_prev,
             "W_hz": da_z.T @ h_prev, "W_hn": dgh_n.T @ h_prev, "b_ir": da_r.sum(0), "b_iz": da_z.sum(0),
             "b_in": da_n.sum(0), "b_hr": da_r.sum(0), "b_hz": da_z.sum(0),
             "b_hn": (da_n if slip == "db_hn like db_in" else dgh_n).sum(0)}
    if slip == "db_hr from da_z":
        grads["b_hr"] = da_z.sum(0)
    return dx, dh_prev, grads


def cell_defaultdict(dh_next, cache):
    dx, dh_prev, grads = cell_bw(dh_next, cache)
    out = collections.defaultdict(float)
    out.update(grads)
    return dx, dh_prev, out


def cell_einsum(dh_next, cache):
    x, h_prev, p, r, z, n, gh_n = cache
    da_n = dh_next * (1 - z) * (1 - n ** 2)
    da_z = dh_next * (h_prev - n) * z * (1 - z)
    da_r = da_n * gh_n * r * (1 - r)
    dgh = da_n * r
    mm = lambda a, W: np.einsum("bh,hk->bk", a, W)  # noqa: E731
    outer = lambda a, v: np.einsum("bh,bk->hk", a, v)  # noqa: E731
    dx = mm(da_r, p["W_ir"]) + mm(da_z, p["W_iz"]) + mm(da_n, p["W_in"])
    dh_prev = dh_next * z + mm(da_r, p["W_hr"]) + mm(da_z, p["W_hz"]) + mm(dgh, p["W_hn"])
    grads = {"W_ir": outer(da_r, x), "W_iz": outer(da_z, x), "W_in": outer(da_n, x), "W_hr": outer(da_r, h_prev),
             "W_hz": outer(da_z, h_prev), "W_hn": outer(dgh, h_prev)}
    for gate, d in (("r", da_r), ("z", da_z)):
        grads[f"b_i{gate}"] = grads[f"b_h{gate}"] = d.sum(axis=0)
    grads["b_in"], grads["b_hn"] = da_n.sum(axis=0), dgh.sum(axis=0)
    return dx, dh_prev, grads


def seq_bw(dhs, caches, slip=None, cell_slip=None):
    T = len(caches)
    dxs = [None] * T
    shape_dtype = None if slip == "float64 buffers" else "same"
    grads = {k: (np.zeros(v.shape) if shape_dtype is None else np.zeros_like(v)) for k, v in caches[0][2].items()}
    dh = np.zeros(dhs[0].shape) if shape_dtype is None else np.zeros_like(dhs[0])
    order = range(T) if slip == "forward in time" else reversed(range(T))
    for t in order:
        if slip == "no carry":
            dh = dhs[t]
        elif slip == "dhs in place":
            dhs[t] += dh
            dh = dhs[t]
        else:
            dh = dh + dhs[t]
        dx, dh, step = cell_bw(dh, caches[t], cell_slip)
        dxs[T - 1 - t if slip == "dxs reversed" else t] = dx
        for k in grads:
            grads[k] = step[k] if slip == "grads overwritten" else grads[k] + step[k]
    return np.stack(dxs), dh, grads


def seq_defaultdict(dhs, caches):
    grads = collections.defaultdict(lambda: 0)
    dxs, dh = [], np.zeros_like(dhs[0])
    for t in range(len(caches) - 1, -1, -1):
        dx, dh, step = cell_bw(dh + dhs[t], caches[t])
        dxs.append(dx)
        for k, v in step.items():
            grads[k] = grads[k] + v
    return np.stack(dxs[::-1]), dh, grads


def seq_dh0_is_upstream(dhs, caches):
    dxs, _, grads = seq_bw(dhs, caches)
    return dxs, dhs[0], grads


ENTRIES = [
    Entry(A, "test_gru_cell_backward", "db_hn summed like db_in", lambda d, c: cell_bw(d, c, "db_hn like db_in"),
          "db_hn"),
    Entry(A, "test_gru_cell_backward", "no tanh'", lambda d, c: cell_bw(d, c, "no tanh'"), "tanh"),
    Entry(A, "test_gru_cell_backward", "dz sign", lambda d, c: cell_bw(d, c, "dz sign"), "sign"),
    Entry(A, "test_gru_cell_backward", "dn with z", lambda d, c: cell_bw(d, c, "dn with z"), "1 - z"),
    Entry(A, "test_gru_cell_backward", "no direct path", lambda d, c: cell_bw(d, c, "no direct path"),
          "direct path"),
    Entry(A, "test_gru_cell_backward", "dr without b_hn", lambda d, c: cell_bw(d, c, "dr without b_hn"), "b_hn"),
    Entry(A, "test_gru_cell_backward", "W_hn gradient without r", lambda d, c: cell_bw(d, c, "W_hn without r"),
          "r * (h_prev W_hn^T + b_hn)"),
    Entry(A, "test_gru_cell_backward", "squares the cached n in place",
          lambda d, c: cell_bw(d, c, "square n in place"), "changed its inputs"),
    Entry(A, "test_gru_cell_backward", "float64 ones for 1 - z", lambda d, c: cell_bw(d, c, "float64 ones"),
          "float64 although"),
    Entry(A, "test_gru_cell_backward", "dh_prev misses the W_hz path", lambda d, c: cell_bw(d, c, "no W_hz path"),
          "da_z @ W_hz"),
    Entry(A, "test_gru_cell_backward", "db_hr from da_z", lambda d, c: cell_bw(d, c, "db_hr from da_z"),
          "db_hr = db_ir"),
    Entry(A, "test_gru_cell_backward", "grads in a defaultdict", cell_defaultdict),
    Entry(A, "test_gru_cell_backward", "einsum", cell_einsum),
    Entry(A, "test_gru_backward", "loop forward in time", lambda d, c: seq_bw(d, c, "forward in time"),
          "time order of the BPTT loop"),
    Entry(A, "test_gru_backward", "no gradient carried back", lambda d, c: seq_bw(d, c, "no carry"),
          "gradient from the future is dropped"),
    Entry(A, "test_gru_backward", "grads overwritten", lambda d, c: seq_bw(d, c, "grads overwritten"),
          "not summed over time"),
    Entry(A, "test_gru_backward", "dxs stored reversed", lambda d, c: seq_bw(d, c, "dxs reversed"),
          "reverse time order"),
    Entry(A, "test_gru_backward", "adds into dhs in place", lambda d, c: seq_bw(d, c, "dhs in place"),
          "changed its inputs"),
    Entry(A, "test_gru_backward", "float64 buffers", lambda d, c: seq_bw(d, c, "float64 buffers"),
          "float64 although"),
    Entry(A, "test_gru_backward", "cell with db_hn like db_in",
          lambda d, c: seq_bw(d, c, cell_slip="db_hn like db_in"), "db_hn"),
    Entry(A, "test_gru_backward", "cell without tanh'", lambda d, c: seq_bw(d, c, cell_slip="no tanh'"), "tanh"),
    Entry(A, "test_gru_backward", "dh0 = dhs[0]", seq_dh0_is_upstream, "dh0: the gradient on h0"),
    Entry(A, "test_gru_backward", "grads in a defaultdict, dxs reversed at the end", seq_defaultdict),
    Entry(A, "test_gru_backward", "plain", seq_bw),
]
