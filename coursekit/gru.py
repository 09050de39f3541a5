"""The gated recurrent unit (GRU, 门控循环单元) in NumPy, with PyTorch's names and conventions.

Introduced in notebook 02 (forward) and notebook 03 (backward); notebooks 05 and 07 reuse it.

One step, for a batch x: (B, I) and the previous hidden state (隐藏状态) h: (B, H)::

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate 重置门
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate 更新门
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))       candidate 候选隐藏状态   (reset="after")
    n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)       Cho et al. 2014, d2l   (reset="before")
    h' = (1 - z) * n + z * h                             new hidden state

Conventions, so that nothing is mixed up:

- Gate order r, z, n, exactly as the rows of ``nn.GRU.weight_ih_l0`` (r|z|n).
- ``reset="after"`` is what PyTorch and cuDNN compute; ``reset="before"`` is the original GRU of Cho et al. 2014
  (also d2l's). They are different functions of the same weights.
- ``h' = (1 - z) * n + z * h``: z near 1 *keeps* the old state (PyTorch, Cho et al. 2014). Chung et al. 2014 and the
  seed tutorial write ``h' = z * n + (1 - z) * h``. :func:`flip_update_gate` converts parameters exactly between the
  two: negating the update gate's weights and biases turns z into 1 - z, since sigmoid(-a) = 1 - sigmoid(a).

Weights: W_i* are (H, I), W_h* are (H, H), biases (H,). Internally the three gates are stacked in r|z|n order so a
step costs one matrix product with the hidden state (two for reset="before").
"""

import numpy as np

from coursekit import torch_bridge
from coursekit.activations import sigmoid

GATES = ("r", "z", "n")
WEIGHT_KEYS = ("W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn")
BIAS_KEYS = ("b_ir", "b_iz", "b_in", "b_hr", "b_hz", "b_hn")
PARAM_KEYS = WEIGHT_KEYS + BIAS_KEYS
RESET_PLACEMENTS = ("after", "before")


# ----------------------------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------------------------

def init_params(input_size, hidden_size, *, rng=None, dtype=np.float64):
    """Draw parameters like PyTorch does: every entry ~ U(-1/sqrt(H), 1/sqrt(H)).

    Returns a dict with keys W_ir, W_iz, W_in (H, I), W_hr, W_hz, W_hn (H, H), b_ir, ..., b_hn (H,).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}")
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {"i": (hidden_size, input_size), "h": (hidden_size, hidden_size)}
    params = {}
    for key in WEIGHT_KEYS:
        params[key] = rng.uniform(-bound, bound, size=shapes[key[2]]).astype(dtype)
    for key in BIAS_KEYS:
        params[key] = rng.uniform(-bound, bound, size=hidden_size).astype(dtype)
    return params


def flip_update_gate(params):
    """Convert parameters between the two update-gate conventions (exact, and its own inverse).

    PyTorch: h' = (1 - z) * n + z * h. Chung et al. 2014 and the seed tutorial: h' = z' * n + (1 - z') * h.
    With the update gate's weights and biases negated, z' = sigmoid(-a) = 1 - sigmoid(a) = 1 - z, so both
    formulas give the same h'. Returns a new dict; the input is not modified.
    """
    flipped = {key: np.array(value, copy=True) for key, value in params.items()}
    for key in ("W_iz", "W_hz", "b_iz", "b_hz"):
        flipped[key] = -flipped[key]
    return flipped


def _stacked(params):
    """The r|z|n blocks stacked: W_i (3H, I), W_h (3H, H), b_i (3H,), b_h (3H,)."""
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise KeyError(f"GRU params are missing {missing}; expected keys {list(PARAM_KEYS)}")
    W_i = np.concatenate([params["W_ir"], params["W_iz"], params["W_in"]])
    W_h = np.concatenate([params["W_hr"], params["W_hz"], params["W_hn"]])
    b_i = np.concatenate([params["b_ir"], params["b_iz"], params["b_in"]])
    b_h = np.concatenate([params["b_hr"], params["b_hz"], params["b_hn"]])
    return W_i, W_h, b_i, b_h


def _unstacked(dW_i, dW_h, db_i, db_h):
    """Split stacked r|z|n gradients back into a dict with the keys of the params."""
    grads = {}
    for stacked, keys in ((dW_i, WEIGHT_KEYS[:3]), (dW_h, WEIGHT_KEYS[3:]), (db_i, BIAS_KEYS[:3]),
                          (db_h, BIAS_KEYS[3:])):
        for key, block in zip(keys, np.split(stacked, 3)):
            grads[key] = block
    return grads


def _check_reset(reset):
    if reset not in RESET_PLACEMENTS:
        raise ValueError(f"reset must be 'after' (PyTorch) or 'before' (Cho et al. 2014), got {reset!r}")


def _check_shapes(x_shape, h_shape, W_i, *, x_name, h_name):
    """Raise a ValueError that names the expected shape; x_shape ends in I, h_shape is (B, H)."""
    three_h, input_size = W_i.shape
    hidden_size = three_h // 3
    batch = x_shape[-2] if len(x_shape) >= 2 else None
    if len(x_shape) < 2 or x_shape[-1] != input_size:
        raise ValueError(f"{x_name} has shape {x_shape}; expected (..., B, I) with I = {input_size}")
    if tuple(h_shape) != (batch, hidden_size):
        raise ValueError(f"{h_name} has shape {tuple(h_shape)}; expected (B, H) = ({batch}, {hidden_size})")


# ----------------------------------------------------------------------------------------------------------------
# One time step, shared by the cell API and the sequence API
# ----------------------------------------------------------------------------------------------------------------

def _input_projection(x, W_i, b_i, b_h):
    """x W_i^T + b_i for x: (N, I), with the hidden biases b_hr, b_hz already added: (N, 3H).

    b_hr and b_hz are only ever added to the input projection, so adding them here, once for all time steps, leaves
    the recurrence less to do; b_hn stays inside, where the reset gate multiplies it.
    """
    H = W_i.shape[0] // 3
    bias = b_i.copy()
    bias[:2 * H] += b_h[:2 * H]
    gi = x @ W_i.T
    gi += bias  # one pass over the (N, 3H) result, not two
    return gi


def _step_forward(gi, h_prev, W_h, b_hn, reset, out=None):
    """One recurrence step given gi = :func:`_input_projection` of this step's input: (B, 3H).

    Returns h_next (B, H) and the step cache (h_prev, r, z, n, u, gh_n) where u is what W_hn multiplies
    (h_prev, or r * h_prev for reset="before") and gh_n = u W_hn^T + b_hn.

    ``out`` = (h_next, rz, n, gh_n) preallocated arrays to write into: the sequence forward passes slices of
    (T, ...) buffers, so a step allocates almost nothing. The arithmetic is the formula in the module docstring,
    done in place (``out=``), which is what makes the NumPy loop competitive with torch.
    """
    B, H = h_prev.shape
    if out is None:
        dtype = np.result_type(gi, h_prev)
        out = (np.empty((B, H), dtype), np.empty((B, 2 * H), dtype), np.empty((B, H), dtype),
               np.empty((B, H), dtype))
    h_next, rz, n, gh_n = out
    if reset == "after":
        gh = h_prev @ W_h.T
        np.add(gi[:, :2 * H], gh[:, :2 * H], out=rz)  # r and z together: fewer, larger array operations
        sigmoid(rz, out=rz)
        np.add(gh[:, 2 * H:], b_hn, out=gh_n)
        u = h_prev
        np.multiply(rz[:, :H], gh_n, out=n)          # r * (W_hn h + b_hn)
    else:
        np.add(gi[:, :2 * H], h_prev @ W_h[:2 * H].T, out=rz)
        sigmoid(rz, out=rz)
        u = rz[:, :H] * h_prev                         # r * h, before the product
        np.matmul(u, W_h[2 * H:].T, out=gh_n)
        gh_n += b_hn
        np.copyto(n, gh_n)
    n += gi[:, 2 * H:]
    np.tanh(n, out=n)
    r, z = rz[:, :H], rz[:, H:]
    np.subtract(h_prev, n, out=h_next)                 # h' = (1 - z) n + z h = n + z (h - n)
    h_next *= z
    h_next += n
    return h_next, (h_prev, r, z, n, u, gh_n)


def _step_backward(dh_next, step_cache, W_h, reset):
    """Backward through one step.

    Returns dgi (B, 3H), the gradient on the input projection; dgh (B, 3H), the gradient on the hidden
    projections before their biases (r|z blocks multiply h_prev, the n block multiplies u); and dh_prev (B, H).
    """
    h_prev, r, z, n, u, gh_n = step_cache
    H = h_prev.shape[1]
    # h' = (1 - z) n + z h: the direct path dh'/dh = diag(z) is what lets gradients through long sequences.
    dh_prev = dh_next * z
    dn = dh_next * (1.0 - z)
    dz = dh_next * (h_prev - n)
    da_n = dn * (1.0 - n * n)  # tanh' = 1 - tanh^2
    if reset == "after":
        dr = da_n * gh_n
        dgh_n = da_n * r
    else:
        du = da_n @ W_h[2 * H:]
        dr = du * h_prev
        dh_prev = dh_prev + du * r
        dgh_n = da_n
    da_r = dr * r * (1.0 - r)  # sigmoid' = s (1 - s)
    da_z = dz * z * (1.0 - z)
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, dgh_n], axis=1)
    if reset == "after":
        dh_prev = dh_prev + dgh @ W_h
    else:
        dh_prev = dh_prev + dgh[:, :2 * H] @ W_h[:2 * H]
    return dgi, dgh, dh_prev


def _hidden_weight_grad(dgh, h_prev, u):
    """dW_h (3H, H) from dgh (N, 3H): r|z blocks multiplied h_prev (N, H), the n block multiplied u (N, H)."""
    H = h_prev.shape[1]
    return np.concatenate([dgh[:, :2 * H].T @ h_prev, dgh[:, 2 * H:].T @ u])


# ----------------------------------------------------------------------------------------------------------------
# Cell API (notebook 02: gru_cell_forward; notebook 03: cell backward)
# ----------------------------------------------------------------------------------------------------------------

def cell_forward(x, h_prev, params, *, reset="after"):
    """One GRU step.

    Inputs:
    - x: (B, I) input at this time step
    - h_prev: (B, H) previous hidden state
    - params: dict of weights, see :func:`init_params`
    - reset: "after" (PyTorch) or "before" (Cho et al. 2014)

    Returns (h_next, cache): h_next (B, H), cache for :func:`cell_backward`.
    """
    _check_reset(reset)
    W_i, W_h, b_i, b_h = _stacked(params)
    x, h_prev = np.asarray(x), np.asarray(h_prev)
    _check_shapes(x.shape, h_prev.shape, W_i, x_name="x", h_name="h_prev")
    if x.ndim != 2:
        raise ValueError(f"x has shape {x.shape}; cell_forward expects (B, I), use forward() for sequences")
    gi = _input_projection(x, W_i, b_i, b_h)
    h_next, step_cache = _step_forward(gi, h_prev, W_h, b_h[2 * W_h.shape[1]:], reset)
    return h_next, (x, step_cache, (W_i, W_h), reset)


def cell_backward(dh_next, cache):
    """Backward pass of :func:`cell_forward`.

    Inputs:
    - dh_next: (B, H) upstream gradient on h_next
    - cache: from cell_forward

    Returns (dx, dh_prev, grads): dx (B, I), dh_prev (B, H), grads with the keys of params.
    """
    x, step_cache, (W_i, W_h), reset = cache
    dgi, dgh, dh_prev = _step_backward(dh_next, step_cache, W_h, reset)
    h_prev, u = step_cache[0], step_cache[4]
    grads = _unstacked(dgi.T @ x, _hidden_weight_grad(dgh, h_prev, u), dgi.sum(axis=0), dgh.sum(axis=0))
    return dgi @ W_i, dh_prev, grads


# ----------------------------------------------------------------------------------------------------------------
# Sequence API (notebook 02: gru_forward; notebook 03: backpropagation through time)
# ----------------------------------------------------------------------------------------------------------------

def forward(xs, h0, params, *, reset="after"):
    """Run a GRU over a sequence.

    The input projections of all T steps are one (T*B, I) x (I, 3H) matrix product before the recurrence, as cuDNN
    does (notebook 07); only the hidden-state product has to wait for the previous step.

    Inputs:
    - xs: (T, B, I) inputs, sequence first
    - h0: (B, H) initial hidden state
    - params: dict of weights, see :func:`init_params`

    Returns (hs, cache): hs (T, B, H) the hidden state after every step (hs[-1] is the final state).
    """
    _check_reset(reset)
    W_i, W_h, b_i, b_h = _stacked(params)
    xs, h0 = np.asarray(xs), np.asarray(h0)
    if xs.ndim != 3:
        raise ValueError(f"xs has shape {xs.shape}; expected (T, B, I)")
    _check_shapes(xs.shape, h0.shape, W_i, x_name="xs", h_name="h0")
    T, B, _ = xs.shape
    gis = _input_projection(xs.reshape(T * B, -1), W_i, b_i, b_h).reshape(T, B, -1)
    dtype = np.result_type(gis, h0)
    H = h0.shape[1]
    hs, ns, gh_ns = (np.empty((T, B, H), dtype) for _ in range(3))
    rzs = np.empty((T, B, 2 * H), dtype)
    b_hn = b_h[2 * H:]
    h = h0
    step_caches = []
    for t in range(T):
        h, step_cache = _step_forward(gis[t], h, W_h, b_hn, reset, out=(hs[t], rzs[t], ns[t], gh_ns[t]))
        step_caches.append(step_cache)
    return hs, (xs, step_caches, (W_i, W_h), reset)


def backward(dhs, cache):
    """Backpropagation through time (时间反向传播) for :func:`forward`.

    Inputs:
    - dhs: (T, B, H) upstream gradient on every hidden state hs[t] (e.g. zeros but the last step)
    - cache: from forward

    Returns (dxs, dh0, grads): dxs (T, B, I), dh0 (B, H), grads with the keys of params.
    Like the forward pass, the input-side gradients of all steps are collected and multiplied once at the end.
    """
    xs, step_caches, (W_i, W_h), reset = cache
    T, B, I = xs.shape
    if np.shape(dhs) != (T, B, W_h.shape[1]):
        raise ValueError(f"dhs has shape {np.shape(dhs)}; expected (T, B, H) = {(T, B, W_h.shape[1])}")
    dgis = np.empty((T, B, W_h.shape[0]), dtype=np.result_type(dhs, W_h))
    dghs = np.empty_like(dgis)
    dh = np.zeros_like(dhs[0])
    for t in reversed(range(T)):
        dh = dh + dhs[t]  # gradient from the loss at step t plus what flows back from step t+1
        dgis[t], dghs[t], dh = _step_backward(dh, step_caches[t], W_h, reset)
    dgi_flat, dgh_flat = dgis.reshape(T * B, -1), dghs.reshape(T * B, -1)
    h_prevs = np.stack([c[0] for c in step_caches]).reshape(T * B, -1)
    us = h_prevs if reset == "after" else np.stack([c[4] for c in step_caches]).reshape(T * B, -1)
    grads = _unstacked(dgi_flat.T @ xs.reshape(T * B, I), _hidden_weight_grad(dgh_flat, h_prevs, us),
                       dgi_flat.sum(axis=0), dgh_flat.sum(axis=0))
    dxs = (dgi_flat @ W_i).reshape(T, B, I)
    return dxs, dh, grads


# ----------------------------------------------------------------------------------------------------------------
# Bidirectional and stacked GRUs (notebook 05), laid out exactly like nn.GRU's outputs
# ----------------------------------------------------------------------------------------------------------------

def _hidden_size(params):
    return params["W_hr"].shape[0]


def bidirectional_forward(xs, params_fwd, params_bwd, h0=None, *, reset="after"):
    """A bidirectional GRU (双向GRU): one GRU reads the sequence forwards, another reads it reversed.

    Inputs:
    - xs: (T, B, I)
    - params_fwd, params_bwd: the two directions' params (nn.GRU's *_l0 and *_l0_reverse weights)
    - h0: (2, B, H) initial states [forward, backward], zeros if None

    Returns (outputs, h_n): outputs (T, B, 2H) with the forward state in [..., :H] and the backward state in
    [..., H:], both aligned to time step t; h_n (2, B, H) the final state of each direction. Note that the backward
    direction's final state is at outputs[0, :, H:], not outputs[-1, :, H:].
    """
    xs = np.asarray(xs)
    H = _hidden_size(params_fwd)
    if h0 is None:
        h0 = np.zeros((2, xs.shape[1], H), dtype=xs.dtype)
    h0 = np.asarray(h0)
    if h0.shape[0] != 2:
        raise ValueError(f"h0 has shape {h0.shape}; expected (2, B, H) for two directions")
    hs_fwd, _ = forward(xs, h0[0], params_fwd, reset=reset)
    hs_bwd_reversed, _ = forward(xs[::-1], h0[1], params_bwd, reset=reset)
    hs_bwd = hs_bwd_reversed[::-1]  # re-align: hs_bwd[t] has read xs[t:], in reverse
    outputs = np.concatenate([hs_fwd, hs_bwd], axis=2)
    h_n = np.stack([hs_fwd[-1], hs_bwd_reversed[-1]])
    return outputs, h_n


def stacked_forward(xs, layers, h0=None, *, reset="after"):
    """A multi-layer GRU (num_layers > 1): each layer's outputs are the next layer's inputs.

    Inputs:
    - xs: (T, B, I)
    - layers: a list of params (unidirectional), or a list of (params_fwd, params_bwd) pairs (bidirectional)
    - h0: (L * D, B, H) with D = 2 if bidirectional else 1, ordered like nn.GRU: layer 0 [fwd, bwd], layer 1 ...

    Returns (outputs, h_n): outputs (T, B, D * H) of the last layer, h_n (L * D, B, H).
    """
    if not layers:
        raise ValueError("layers is empty: give at least one layer's params")
    bidirectional = isinstance(layers[0], (tuple, list))
    D = 2 if bidirectional else 1
    first = layers[0][0] if bidirectional else layers[0]
    xs = np.asarray(xs)
    H = _hidden_size(first)
    if h0 is None:
        h0 = np.zeros((len(layers) * D, xs.shape[1], H), dtype=xs.dtype)
    h0 = np.asarray(h0)
    if h0.shape[0] != len(layers) * D:
        raise ValueError(f"h0 has shape {h0.shape}; expected ({len(layers) * D}, B, H) for "
                         f"{len(layers)} layers x {D} directions")
    outputs, finals = xs, []
    for index, layer in enumerate(layers):
        h0_layer = h0[index * D:(index + 1) * D]
        if bidirectional:
            outputs, h_n = bidirectional_forward(outputs, layer[0], layer[1], h0_layer, reset=reset)
            finals.extend(h_n)
        else:
            outputs, _ = forward(outputs, h0_layer[0], layer, reset=reset)
            finals.append(outputs[-1])
    return outputs, np.stack(finals)


# ----------------------------------------------------------------------------------------------------------------
# Bridges to torch.nn.GRU and torch.nn.GRUCell (rows of weight_ih_l0 are r|z|n)
# ----------------------------------------------------------------------------------------------------------------

def params_from_torch(module, layer=0, reverse=False):
    """Copy one layer/direction of an nn.GRU (or an nn.GRUCell) into a float64 params dict.

    A module built with bias=False gives zero biases.
    """
    return _unstacked(*torch_bridge.read_tensors(module, torch_bridge.tensor_names(module, layer, reverse)))


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy a params dict into one layer/direction of an nn.GRU or nn.GRUCell (in place, keeping its dtype)."""
    torch_bridge.write_tensors(module, torch_bridge.tensor_names(module, layer, reverse), _stacked(params))
