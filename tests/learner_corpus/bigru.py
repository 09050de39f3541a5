"""Learner implementations for notebook 05: bigru_forward (NumPy, with the notebook's one-direction gru_forward)
and top_layer_final_states (on nn.GRU's h_n tensor)."""

import numpy as np
import torch

from learner_corpus import Entry

A = "05-bigru"


def sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def gru_forward(xs, h0, p):
    """The notebook's given one-direction GRU: (hs (T, B, H), h_last)."""
    h, hs = h0, []
    for x in xs:
        r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"])
        z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"])
        n = np.tanh(x @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs), h


def zeros(xs, p):
    return np.zeros((xs.shape[1], p["W_hr"].shape[0]), dtype=xs.dtype)


def bigru(xs, pf, pb, *, flip_back=True, reverse_input=True, h_n_from="final", order="fb", h_n_order="fb",
          same_params=False, h0_float64=False, concat_axis=2):
    h0 = np.zeros((xs.shape[1], pf["W_hr"].shape[0])) if h0_float64 else zeros(xs, pf)
    hs_f, last_f = gru_forward(xs, h0, pf)
    hs_b, last_b = gru_forward(xs[::-1] if reverse_input else xs, h0, pf if same_params else pb)
    shown_b = hs_b[::-1] if flip_back else hs_b
    halves = [hs_f, shown_b] if order == "fb" else [shown_b, hs_f]
    outputs = np.concatenate(halves, axis=concat_axis)
    if h_n_from == "last output":
        last_b = shown_b[-1]
    h_n = np.stack([last_f, last_b] if h_n_order == "fb" else [last_b, last_f])
    return outputs, h_n


def bigru_in_place(xs, pf, pb):
    out = bigru(xs, pf, pb)
    xs[:] = xs[::-1].copy()  # "reverses" the input for the backward pass and leaves it so
    return out


def bigru_preallocated(xs, pf, pb):
    T, B, _ = xs.shape
    H = pf["W_hr"].shape[0]
    outputs = np.empty((T, B, 2 * H), dtype=np.result_type(xs, pf["W_hr"]))
    outputs[:, :, :H], h_f = gru_forward(xs, zeros(xs, pf), pf)
    hs_b, h_b = gru_forward(xs[::-1], zeros(xs, pb), pb)
    outputs[:, :, H:] = hs_b[::-1]
    return outputs, np.stack([h_f, outputs[0, :, H:]])


def top(h_n, num_layers, *, split="layer-major", swap=False, layer=-1, squeeze=False):
    h_n = torch.as_tensor(h_n)
    B, H = h_n.shape[1], h_n.shape[2]
    if split == "layer-major":
        view = h_n.view(num_layers, 2, B, H)[layer]
        fwd, bwd = view[0], view[1]
    elif split == "direction-major":
        view = h_n.view(2, num_layers, B, H)
        fwd, bwd = view[0, layer], view[1, layer]
    else:  # the last two rows, in either order
        fwd, bwd = h_n[-2], h_n[-1]
    if squeeze:
        fwd, bwd = fwd.squeeze(), bwd.squeeze()
    return (bwd, fwd) if swap else (fwd, bwd)


def top_resized(h_n, num_layers):
    out = (h_n[-2].clone(), h_n[-1].clone())
    h_n.resize_(2, h_n.shape[1], h_n.shape[2])  # "keeps only the top layer" in the caller's tensor
    return out


def top_numpy(h_n, num_layers):
    arr = h_n.numpy()
    return arr[2 * num_layers - 2].copy(), arr[2 * num_layers - 1].copy()


ENTRIES = [
    Entry(A, "test_bigru_forward", "backward states not flipped back", lambda xs, pf, pb: bigru(xs, pf, pb,
          flip_back=False), "re-reversed"),
    Entry(A, "test_bigru_forward", "h_n[1] from outputs[-1]", lambda xs, pf, pb: bigru(xs, pf, pb,
          h_n_from="last output"), "outputs[0, :, H:]"),
    Entry(A, "test_bigru_forward", "directions swapped in outputs and h_n", lambda xs, pf, pb: bigru(xs, pf, pb,
          order="bf", h_n_order="bf"), "wrong order"),
    Entry(A, "test_bigru_forward", "h_n directions swapped", lambda xs, pf, pb: bigru(xs, pf, pb, h_n_order="bf"),
          "the order of directions in h_n"),
    Entry(A, "test_bigru_forward", "backward GRU reads xs unreversed", lambda xs, pf, pb: bigru(xs, pf, pb,
          reverse_input=False, flip_back=False), "un-reversed"),
    Entry(A, "test_bigru_forward", "unreversed input, flipped output", lambda xs, pf, pb: bigru(xs, pf, pb,
          reverse_input=False), "un-reversed"),
    Entry(A, "test_bigru_forward", "params_fwd for both", lambda xs, pf, pb: bigru(xs, pf, pb, same_params=True),
          "params_bwd"),
    Entry(A, "test_bigru_forward", "float64 zero state", lambda xs, pf, pb: bigru(xs, pf, pb, h0_float64=True),
          "float64 although"),
    Entry(A, "test_bigru_forward", "reverses xs in place", bigru_in_place, "changed its inputs"),
    Entry(A, "test_bigru_forward", "stacked on a new axis", lambda xs, pf, pb: bigru(xs, pf, pb, concat_axis=0),
          "shape"),
    Entry(A, "test_bigru_forward", "two GRUs and a concatenation", bigru),
    Entry(A, "test_bigru_forward", "preallocated outputs", bigru_preallocated),
    Entry(A, "test_top_layer_final_states", "direction-major view", lambda h, L: top(h, L, split="direction-major"),
          "(2, num_layers, B, H)"),
    Entry(A, "test_top_layer_final_states", "first layer", lambda h, L: top(h, L, layer=0), "first layer"),
    Entry(A, "test_top_layer_final_states", "directions swapped", lambda h, L: top(h, L, swap=True), "swapped"),
    Entry(A, "test_top_layer_final_states", "squeezed", lambda h, L: top(h, L, squeeze=True), "shape"),
    Entry(A, "test_top_layer_final_states", "resizes the caller's h_n", top_resized, "changed its inputs"),
    Entry(A, "test_top_layer_final_states", "second layer from the top",
          lambda h, L: top(h, L, layer=-2 if L > 1 else -1), "h_n.view"),
    Entry(A, "test_top_layer_final_states", "direction-major, last", lambda h, L: top(h, L, split="direction-major",
          layer=-1, swap=True), "h_n"),
    Entry(A, "test_top_layer_final_states", "whole h_n returned", lambda h, L: (h, h), "shape"),
    Entry(A, "test_top_layer_final_states", "view(num_layers, 2, B, H)[-1]", top),
    Entry(A, "test_top_layer_final_states", "the last two rows", lambda h, L: top(h, L, split="rows")),
    Entry(A, "test_top_layer_final_states", "through NumPy", top_numpy),
]
