"""The Elman RNN with tanh in NumPy, with PyTorch's names and conventions: the baseline the GRU is compared with.

One step, for a batch x: (B, I) and the previous hidden state (隐藏状态) h: (B, H)::

    h' = tanh(W_ih x + b_ih + W_hh h + b_hh)

exactly as ``torch.nn.RNN(nonlinearity="tanh")`` and ``torch.nn.RNNCell``. Weights: W_ih (H, I), W_hh (H, H),
b_ih (H,), b_hh (H,). The two biases are redundant (only their sum matters) but kept so that the weights of a
PyTorch module map one to one.

API (the same shape as ``coursekit.gru`` and ``coursekit.lstm``):

- ``init_params(I, H)``; ``cell_forward(x, h_prev, params) -> (h_next, cache)``;
  ``cell_backward(dh_next, cache) -> (dx, dh_prev, grads)``
- ``forward(xs, h0, params) -> (hs, cache)``; ``backward(dhs, cache) -> (dxs, dh0, grads)``
- ``params_from_torch(module, layer, reverse)``, ``params_to_torch(params, module, layer, reverse)``
"""

import numpy as np

from coursekit import torch_bridge

PARAM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


# ----------------------------------------------------------------------------------------------------------------
# Parameters and input checks
# ----------------------------------------------------------------------------------------------------------------

def init_params(input_size, hidden_size, *, rng=None, dtype=np.float64):
    """Draw parameters like PyTorch does: every entry ~ U(-1/sqrt(H), 1/sqrt(H)).

    ``rng`` is a seed or a ``np.random.Generator``. Returns a dict with keys W_ih (H, I), W_hh (H, H),
    b_ih (H,), b_hh (H,).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}")
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {"W_ih": (hidden_size, input_size), "W_hh": (hidden_size, hidden_size),
              "b_ih": (hidden_size,), "b_hh": (hidden_size,)}
    return {key: rng.uniform(-bound, bound, size=shapes[key]).astype(dtype) for key in PARAM_KEYS}


def _unpack(params):
    """(W_ih, W_hh, b_ih, b_hh) after checking that the keys exist and the shapes agree."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise KeyError(f"RNN params are missing {missing}; expected keys {list(PARAM_KEYS)}")
    W_ih, W_hh, b_ih, b_hh = (np.asarray(params[key]) for key in PARAM_KEYS)
    if W_ih.ndim != 2:
        raise ValueError(f"W_ih has shape {W_ih.shape}; expected (H, I)")
    H = W_ih.shape[0]
    for name, value, expected in (("W_hh", W_hh, (H, H)), ("b_ih", b_ih, (H,)), ("b_hh", b_hh, (H,))):
        if value.shape != expected:
            raise ValueError(f"{name} has shape {value.shape}; expected {expected} since W_ih is {W_ih.shape}")
    return W_ih, W_hh, b_ih, b_hh


def _check_inputs(x, h, W_ih, *, x_name, h_name, sequence):
    """Raise a ValueError naming the expected shape: x (B, I) or (T, B, I), h (B, H)."""
    H, I = W_ih.shape
    ndim, layout = (3, "(T, B, I)") if sequence else (2, "(B, I)")
    if x.ndim != ndim or x.shape[-1] != I:
        raise ValueError(f"{x_name} has shape {x.shape}; expected {layout} with I = {I}")
    B = x.shape[-2]
    if h.shape != (B, H):
        raise ValueError(f"{h_name} has shape {h.shape}; expected (B, H) = ({B}, {H})")


# ----------------------------------------------------------------------------------------------------------------
# Cell API
# ----------------------------------------------------------------------------------------------------------------

def cell_forward(x, h_prev, params):
    """One RNN step.

    Inputs:
    - x: (B, I) input at this time step
    - h_prev: (B, H) previous hidden state
    - params: dict of weights, see :func:`init_params`

    Returns (h_next, cache): h_next (B, H), cache for :func:`cell_backward`.
    """
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    x, h_prev = np.asarray(x), np.asarray(h_prev)
    _check_inputs(x, h_prev, W_ih, x_name="x", h_name="h_prev", sequence=False)
    h_next = np.tanh(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)
    return h_next, (x, h_prev, h_next, W_ih, W_hh)


def cell_backward(dh_next, cache):
    """Backward pass of :func:`cell_forward`.

    Inputs:
    - dh_next: (B, H) upstream gradient on h_next
    - cache: from cell_forward

    Returns (dx, dh_prev, grads): dx (B, I), dh_prev (B, H), grads with the keys of params.
    """
    x, h_prev, h_next, W_ih, W_hh = cache
    dh_next = np.asarray(dh_next)
    if dh_next.shape != h_next.shape:
        raise ValueError(f"dh_next has shape {dh_next.shape}; expected (B, H) = {h_next.shape}")
    da = dh_next * (1.0 - h_next * h_next)  # tanh' = 1 - tanh^2, from the saved output
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": db, "b_hh": db.copy()}
    return da @ W_ih, da @ W_hh, grads


# ----------------------------------------------------------------------------------------------------------------
# Sequence API
# ----------------------------------------------------------------------------------------------------------------

def forward(xs, h0, params):
    """Run the RNN over a sequence.

    The input projections of all T steps are one (T*B, I) x (I, H) matrix product before the loop; only the
    product with the hidden state has to wait for the previous step.

    Inputs:
    - xs: (T, B, I) inputs, sequence first
    - h0: (B, H) initial hidden state
    - params: dict of weights, see :func:`init_params`

    Returns (hs, cache): hs (T, B, H) the hidden state after every step (hs[-1] is the final state).
    """
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    xs, h0 = np.asarray(xs), np.asarray(h0)
    _check_inputs(xs, h0, W_ih, x_name="xs", h_name="h0", sequence=True)
    T, B, I = xs.shape
    x_proj = (xs.reshape(T * B, I) @ W_ih.T + b_ih + b_hh).reshape(T, B, -1)
    hs = np.empty(x_proj.shape, dtype=np.result_type(x_proj, h0, W_hh))
    h = h0
    for t in range(T):
        h = np.tanh(x_proj[t] + h @ W_hh.T)
        hs[t] = h
    return hs, (xs, h0, hs, W_ih, W_hh)


def backward(dhs, cache):
    """Backpropagation through time (时间反向传播) for :func:`forward`.

    Inputs:
    - dhs: (T, B, H) upstream gradient on every hidden state hs[t] (e.g. zeros except the last step)
    - cache: from forward

    Returns (dxs, dh0, grads): dxs (T, B, I), dh0 (B, H), grads with the keys of params.
    """
    xs, h0, hs, W_ih, W_hh = cache
    dhs = np.asarray(dhs)
    if dhs.shape != hs.shape:
        raise ValueError(f"dhs has shape {dhs.shape}; expected (T, B, H) = {hs.shape}")
    T, B, I = xs.shape
    das = np.empty_like(hs, dtype=np.result_type(dhs, hs))
    dh = np.zeros_like(das[0])
    for t in reversed(range(T)):
        dh = dh + dhs[t]  # the loss at step t plus what flows back from step t+1
        das[t] = dh * (1.0 - hs[t] * hs[t])
        dh = das[t] @ W_hh
    # Like the forward pass, the weight gradients of all steps are one matrix product each.
    da_flat = das.reshape(T * B, -1)
    h_prevs = np.concatenate([h0[None], hs[:-1]]).reshape(T * B, -1)
    db = da_flat.sum(axis=0)
    grads = {"W_ih": da_flat.T @ xs.reshape(T * B, I), "W_hh": da_flat.T @ h_prevs, "b_ih": db, "b_hh": db.copy()}
    dxs = (da_flat @ W_ih).reshape(T, B, I)
    return dxs, dh, grads


# ----------------------------------------------------------------------------------------------------------------
# Bridges to torch.nn.RNN and torch.nn.RNNCell
# ----------------------------------------------------------------------------------------------------------------

def _check_module(module):
    import torch

    if not isinstance(module, (torch.nn.RNN, torch.nn.RNNCell)):
        raise ValueError(f"expected a torch.nn.RNN or torch.nn.RNNCell, got {type(module).__name__}")
    if module.nonlinearity != "tanh":
        raise ValueError(f"the module uses nonlinearity={module.nonlinearity!r}; coursekit.rnn computes 'tanh'")


def params_from_torch(module, layer=0, reverse=False):
    """Copy one layer/direction of an nn.RNN (or an nn.RNNCell) into a float64 params dict.

    ``layer`` and ``reverse`` pick e.g. ``weight_ih_l1_reverse``. A module built with bias=False gives zero biases.
    """
    _check_module(module)
    arrays = torch_bridge.read_tensors(module, torch_bridge.tensor_names(module, layer, reverse))
    return dict(zip(PARAM_KEYS, arrays))


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy a params dict into one layer/direction of an nn.RNN or nn.RNNCell (in place, keeping its dtype)."""
    _check_module(module)
    arrays = _unpack(params)
    torch_bridge.write_tensors(module, torch_bridge.tensor_names(module, layer, reverse), arrays)
