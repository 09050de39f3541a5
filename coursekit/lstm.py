"""The long short-term memory (LSTM, 长短期记忆网络) in NumPy, with PyTorch's names and gate order i, f, g, o.

The gated model the GRU is compared with. One step, for a batch x: (B, I), the previous hidden state
(隐藏状态) h: (B, H) and the previous cell state (记忆细胞) c: (B, H)::

    i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate 输入门
    f  = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate 遗忘门
    g  = tanh(W_ig x + b_ig + W_hg h + b_hg)         candidate cell state 候选记忆细胞
    o  = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate 输出门
    c' = f * c + i * g
    h' = o * tanh(c')

exactly as ``torch.nn.LSTM`` (without proj_size) and ``torch.nn.LSTMCell``; the rows of ``weight_ih_l0`` are
i|f|g|o. Weights: W_i* (H, I), W_h* (H, H), biases (H,). Internally the four gates are stacked in i|f|g|o order,
so a step costs one matrix product with the hidden state.

API (the same shape as ``coursekit.gru`` and ``coursekit.rnn``, with the state being the pair (h, c)):

- ``init_params(I, H)``
- ``cell_forward(x, h_prev, c_prev, params) -> (h_next, c_next, cache)``
- ``cell_backward(dh_next, dc_next, cache) -> (dx, dh_prev, dc_prev, grads)``
- ``forward(xs, h0, c0, params) -> (hs, cs, cache)``, hs and cs (T, B, H): the states after every step
- ``backward(dhs, dcs, cache) -> (dxs, dh0, dc0, grads)``, dcs may be None (no loss on the cell states)
- ``params_from_torch(module, layer, reverse)``, ``params_to_torch(params, module, layer, reverse)``
"""

import numpy as np

from coursekit import torch_bridge
from coursekit.activations import sigmoid

GATES = ("i", "f", "g", "o")
WEIGHT_KEYS = ("W_ii", "W_if", "W_ig", "W_io", "W_hi", "W_hf", "W_hg", "W_ho")
BIAS_KEYS = ("b_ii", "b_if", "b_ig", "b_io", "b_hi", "b_hf", "b_hg", "b_ho")
PARAM_KEYS = WEIGHT_KEYS + BIAS_KEYS


# ----------------------------------------------------------------------------------------------------------------
# Parameters and input checks
# ----------------------------------------------------------------------------------------------------------------

def init_params(input_size, hidden_size, *, rng=None, dtype=np.float64):
    """Draw parameters like PyTorch does: every entry ~ U(-1/sqrt(H), 1/sqrt(H)).

    ``rng`` is a seed or a ``np.random.Generator``. Returns a dict with keys W_ii, W_if, W_ig, W_io (H, I),
    W_hi, W_hf, W_hg, W_ho (H, H), b_ii, ..., b_ho (H,).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}")
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {"i": (hidden_size, input_size), "h": (hidden_size, hidden_size)}
    params = {key: rng.uniform(-bound, bound, size=shapes[key[2]]).astype(dtype) for key in WEIGHT_KEYS}
    params.update({key: rng.uniform(-bound, bound, size=hidden_size).astype(dtype) for key in BIAS_KEYS})
    return params


def _stacked(params):
    """The i|f|g|o blocks stacked: W_i (4H, I), W_h (4H, H), b_i (4H,), b_h (4H,), after checking shapes."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise KeyError(f"LSTM params are missing {missing}; expected keys {list(PARAM_KEYS)}")
    W_ii = np.asarray(params["W_ii"])
    if W_ii.ndim != 2:
        raise ValueError(f"W_ii has shape {W_ii.shape}; expected (H, I)")
    H, I = W_ii.shape
    expected = {"i": (H, I), "h": (H, H), "b": (H,)}
    for key in PARAM_KEYS:
        shape = np.shape(params[key])
        want = expected["b"] if key.startswith("b") else expected[key[2]]
        if shape != want:
            raise ValueError(f"{key} has shape {shape}; expected {want} since W_ii is {(H, I)}")
    return tuple(np.concatenate([np.asarray(params[key]) for key in keys])
                 for keys in (WEIGHT_KEYS[:4], WEIGHT_KEYS[4:], BIAS_KEYS[:4], BIAS_KEYS[4:]))


def _unstacked(dW_i, dW_h, db_i, db_h):
    """Split stacked i|f|g|o arrays back into a dict with the keys of the params."""
    grads = {}
    for stacked, keys in ((dW_i, WEIGHT_KEYS[:4]), (dW_h, WEIGHT_KEYS[4:]), (db_i, BIAS_KEYS[:4]),
                          (db_h, BIAS_KEYS[4:])):
        grads.update(zip(keys, np.split(stacked, 4)))
    return grads


def _check_inputs(x, h, c, W_i, *, names, sequence):
    """Raise a ValueError naming the expected shape: x (B, I) or (T, B, I), h and c (B, H)."""
    H, I = W_i.shape[0] // 4, W_i.shape[1]
    x_name, h_name, c_name = names
    ndim, layout = (3, "(T, B, I)") if sequence else (2, "(B, I)")
    if x.ndim != ndim or x.shape[-1] != I:
        raise ValueError(f"{x_name} has shape {x.shape}; expected {layout} with I = {I}")
    B = x.shape[-2]
    for name, state in ((h_name, h), (c_name, c)):
        if state.shape != (B, H):
            raise ValueError(f"{name} has shape {state.shape}; expected (B, H) = ({B}, {H})")


# ----------------------------------------------------------------------------------------------------------------
# One time step, shared by the cell API and the sequence API
# ----------------------------------------------------------------------------------------------------------------

def _step_forward(gi, h_prev, c_prev, W_h, b_h):
    """One step given the input projection gi = x W_i^T + b_i: (B, 4H).

    Returns h_next, c_next (B, H) and the step cache (c_prev, gates, tanh_c) with gates = i|f|g|o (B, 4H).
    """
    H = h_prev.shape[1]
    a = gi + h_prev @ W_h.T + b_h
    gates = np.empty_like(a)
    gates[:, :2 * H] = sigmoid(a[:, :2 * H])  # i, f
    gates[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])  # g
    gates[:, 3 * H:] = sigmoid(a[:, 3 * H:])  # o
    i, f, g, o = np.split(gates, 4, axis=1)
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    return o * tanh_c, c_next, (c_prev, gates, tanh_c)


def _step_backward(dh_next, dc_next, step_cache, W_h):
    """Backward through one step. Returns da (B, 4H), the gradient on the gate pre-activations, dh_prev, dc_prev."""
    c_prev, gates, tanh_c = step_cache
    i, f, g, o = np.split(gates, 4, axis=1)
    do = dh_next * tanh_c
    # c' reaches the loss directly (dc_next) and through h' = o tanh(c').
    dc = dc_next + dh_next * o * (1.0 - tanh_c * tanh_c)
    da = np.concatenate([
        dc * g * i * (1.0 - i),  # sigmoid' = s (1 - s)
        dc * c_prev * f * (1.0 - f),
        dc * i * (1.0 - g * g),  # tanh' = 1 - tanh^2
        do * o * (1.0 - o),
    ], axis=1)
    # dc_prev = dc * f: the additive path through the cell state, gated only by f.
    return da, da @ W_h, dc * f


# ----------------------------------------------------------------------------------------------------------------
# Cell API
# ----------------------------------------------------------------------------------------------------------------

def cell_forward(x, h_prev, c_prev, params):
    """One LSTM step.

    Inputs:
    - x: (B, I) input at this time step
    - h_prev: (B, H) previous hidden state
    - c_prev: (B, H) previous cell state
    - params: dict of weights, see :func:`init_params`

    Returns (h_next, c_next, cache): h_next, c_next (B, H), cache for :func:`cell_backward`.
    """
    W_i, W_h, b_i, b_h = _stacked(params)
    x, h_prev, c_prev = np.asarray(x), np.asarray(h_prev), np.asarray(c_prev)
    _check_inputs(x, h_prev, c_prev, W_i, names=("x", "h_prev", "c_prev"), sequence=False)
    h_next, c_next, step_cache = _step_forward(x @ W_i.T + b_i, h_prev, c_prev, W_h, b_h)
    return h_next, c_next, (x, h_prev, step_cache, W_i, W_h)


def cell_backward(dh_next, dc_next, cache):
    """Backward pass of :func:`cell_forward`.

    Inputs:
    - dh_next: (B, H) upstream gradient on h_next
    - dc_next: (B, H) upstream gradient on c_next (zeros, or None, if only h_next reaches the loss)
    - cache: from cell_forward

    Returns (dx, dh_prev, dc_prev, grads): dx (B, I), dh_prev, dc_prev (B, H), grads with the keys of params.
    """
    x, h_prev, step_cache, W_i, W_h = cache
    dh_next = np.asarray(dh_next)
    dc_next = np.zeros_like(dh_next) if dc_next is None else np.asarray(dc_next)
    for name, grad in (("dh_next", dh_next), ("dc_next", dc_next)):
        if grad.shape != h_prev.shape:
            raise ValueError(f"{name} has shape {grad.shape}; expected (B, H) = {h_prev.shape}")
    da, dh_prev, dc_prev = _step_backward(dh_next, dc_next, step_cache, W_h)
    db = da.sum(axis=0)
    grads = _unstacked(da.T @ x, da.T @ h_prev, db, db.copy())
    return da @ W_i, dh_prev, dc_prev, grads


# ----------------------------------------------------------------------------------------------------------------
# Sequence API
# ----------------------------------------------------------------------------------------------------------------

def forward(xs, h0, c0, params):
    """Run the LSTM over a sequence.

    The input projections of all T steps are one (T*B, I) x (I, 4H) matrix product before the loop; only the
    product with the hidden state has to wait for the previous step.

    Inputs:
    - xs: (T, B, I) inputs, sequence first
    - h0, c0: (B, H) initial hidden and cell states
    - params: dict of weights, see :func:`init_params`

    Returns (hs, cs, cache): hs, cs (T, B, H) the hidden and cell states after every step; hs[-1] and cs[-1] are
    nn.LSTM's h_n and c_n.
    """
    W_i, W_h, b_i, b_h = _stacked(params)
    xs, h0, c0 = np.asarray(xs), np.asarray(h0), np.asarray(c0)
    _check_inputs(xs, h0, c0, W_i, names=("xs", "h0", "c0"), sequence=True)
    T, B, I = xs.shape
    gis = (xs.reshape(T * B, I) @ W_i.T + b_i).reshape(T, B, -1)
    dtype = np.result_type(gis, h0, c0, W_h)
    hs = np.empty((T, B, W_h.shape[1]), dtype=dtype)
    cs = np.empty_like(hs)
    h, c = h0, c0
    step_caches = []
    for t in range(T):
        h, c, step_cache = _step_forward(gis[t], h, c, W_h, b_h)
        hs[t], cs[t] = h, c
        step_caches.append(step_cache)
    return hs, cs, (xs, h0, hs, step_caches, W_i, W_h)


def backward(dhs, dcs, cache):
    """Backpropagation through time (时间反向传播) for :func:`forward`.

    Inputs:
    - dhs: (T, B, H) upstream gradient on every hidden state hs[t]
    - dcs: (T, B, H) upstream gradient on every cell state cs[t], or None for zeros. For a loss on nn.LSTM's
      c_n only, pass zeros with dcs[-1] = dc_n.
    - cache: from forward

    Returns (dxs, dh0, dc0, grads): dxs (T, B, I), dh0, dc0 (B, H), grads with the keys of params.
    """
    xs, h0, hs, step_caches, W_i, W_h = cache
    dhs = np.asarray(dhs)
    dcs = np.zeros_like(dhs) if dcs is None else np.asarray(dcs)
    for name, grad in (("dhs", dhs), ("dcs", dcs)):
        if grad.shape != hs.shape:
            raise ValueError(f"{name} has shape {grad.shape}; expected (T, B, H) = {hs.shape}")
    T, B, I = xs.shape
    das = np.empty((T, B, W_h.shape[0]), dtype=np.result_type(dhs, dcs, hs))
    dh = np.zeros_like(dhs[0])
    dc = np.zeros_like(dcs[0])
    for t in reversed(range(T)):
        # The loss at step t plus what flows back from step t+1, for both states.
        das[t], dh, dc = _step_backward(dh + dhs[t], dc + dcs[t], step_caches[t], W_h)
    # Like the forward pass, the weight gradients of all steps are one matrix product each.
    da_flat = das.reshape(T * B, -1)
    h_prevs = np.concatenate([h0[None], hs[:-1]]).reshape(T * B, -1)
    db = da_flat.sum(axis=0)
    grads = _unstacked(da_flat.T @ xs.reshape(T * B, I), da_flat.T @ h_prevs, db, db.copy())
    dxs = (da_flat @ W_i).reshape(T, B, I)
    return dxs, dh, dc, grads


# ----------------------------------------------------------------------------------------------------------------
# Bridges to torch.nn.LSTM and torch.nn.LSTMCell (rows of weight_ih_l0 are i|f|g|o)
# ----------------------------------------------------------------------------------------------------------------

def _check_module(module):
    import torch

    if not isinstance(module, (torch.nn.LSTM, torch.nn.LSTMCell)):
        raise ValueError(f"expected a torch.nn.LSTM or torch.nn.LSTMCell, got {type(module).__name__}")
    if getattr(module, "proj_size", 0):
        raise ValueError(f"the module has proj_size={module.proj_size}; coursekit.lstm has no projection (use 0)")


def params_from_torch(module, layer=0, reverse=False):
    """Copy one layer/direction of an nn.LSTM (or an nn.LSTMCell) into a float64 params dict.

    ``layer`` and ``reverse`` pick e.g. ``weight_ih_l1_reverse``. A module built with bias=False gives zero biases.
    """
    _check_module(module)
    return _unstacked(*torch_bridge.read_tensors(module, torch_bridge.tensor_names(module, layer, reverse)))


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy a params dict into one layer/direction of an nn.LSTM or nn.LSTMCell (in place, keeping its dtype)."""
    _check_module(module)
    torch_bridge.write_tensors(module, torch_bridge.tensor_names(module, layer, reverse), _stacked(params))
