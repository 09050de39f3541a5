"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gates do not read the hidden state. Notebook 07.

One step, for x: (B, I) and h: (B, H)::

    z  = sigmoid(W_z x + b_z)          update gate 更新门, from the input only
    h~ = W_h x + b_h                   candidate 候选隐藏状态, from the input only (no tanh, no reset gate)
    h' = (1 - z) * h + z * h~

so h' = a * h + b with a = 1 - z and b = z * h~ known for every step before the recurrence starts, and
:func:`coursekit.scan.linear_recurrence_scan` computes all states in O(log T) passes.

Note the convention: in minGRU's own formula z near 1 takes the *new* candidate (like the seed tutorial and Chung et
al. 2014), the opposite of nn.GRU, where z near 1 keeps the old state (see :mod:`coursekit.gru`). We keep the
paper's formula here so that it can be compared with the paper.

Parameters: W_z, W_h (H, I); b_z, b_h (H,). The torch module :class:`MinGRU` holds them in two ``nn.Linear`` layers,
``linear_z`` and ``linear_h`` (weight (H, I), bias (H,)); :func:`params_from_torch` copies them out.

The paper's own minGRU goes one step further, for numerical range over long sequences: it passes the candidate
through g(x) = x + 0.5 for x >= 0 and sigmoid(x) for x < 0 (continuous at 0, always > 0), so that every b_t and,
with h0 > 0, every h_t is positive, and computes the scan on logarithms (:func:`forward_log_space`): a cumulative
sum of log a_t and a cumulative log-sum-exp, both associative scans, with no product of many small a_t ever formed.
``forward(..., positive=True)`` is the same model computed directly, for comparison.
"""

import functools

import numpy as np

from coursekit.activations import sigmoid
from coursekit.scan import linear_recurrence_loop, linear_recurrence_scan

PARAM_KEYS = ("W_z", "b_z", "W_h", "b_h")


def init_params(input_size, hidden_size, *, rng=None, dtype=np.float64):
    """Draw parameters like ``nn.Linear`` does: every entry ~ U(-1/sqrt(I), 1/sqrt(I)).

    Returns a dict with keys W_z, W_h (H, I) and b_z, b_h (H,).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}")
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(input_size)
    shapes = {"W_z": (hidden_size, input_size), "b_z": (hidden_size,),
              "W_h": (hidden_size, input_size), "b_h": (hidden_size,)}
    return {key: rng.uniform(-bound, bound, size=shapes[key]).astype(dtype) for key in PARAM_KEYS}


def g(x):
    """The paper's candidate activation: x + 0.5 for x >= 0, sigmoid(x) for x < 0. Continuous (both give 0.5 at 0),
    increasing, and always > 0, so that the states stay positive and have a logarithm."""
    x = np.asarray(x)
    return np.where(x >= 0, x + 0.5, sigmoid(np.minimum(x, 0)))


def log_g(x):
    """log g(x), computed without forming g(x): log(x + 0.5) for x >= 0, log sigmoid(x) = -softplus(-x) for x < 0."""
    x = np.asarray(x)
    return np.where(x >= 0, np.log(np.maximum(x, 0) + 0.5), -np.logaddexp(0.0, -np.minimum(x, 0)))


def _pre_activations(xs, params):
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise KeyError(f"minGRU params are missing {missing}; expected keys {list(PARAM_KEYS)}")
    xs = np.asarray(xs)
    W_z, W_h = np.asarray(params["W_z"]), np.asarray(params["W_h"])
    if xs.ndim != 3 or xs.shape[-1] != W_z.shape[1]:
        raise ValueError(f"xs has shape {xs.shape}; expected (T, B, I) with I = {W_z.shape[1]}")
    return xs @ W_z.T + params["b_z"], xs @ W_h.T + params["b_h"]


def coefficients(xs, params, *, positive=False):
    """The recurrence's coefficients for every step at once: a = 1 - z and b = z * h~, both (T, B, H).

    xs: (T, B, I). Two matrix products over all T * B rows: nothing here waits for a previous step.
    positive=True uses the paper's candidate h~ = g(W_h x + b_h) (see :func:`g`) instead of the linear one.
    """
    gate, candidate = _pre_activations(xs, params)
    z = sigmoid(gate)
    return 1.0 - z, z * (g(candidate) if positive else candidate)


def forward(xs, h0, params, *, sequential=False, positive=False):
    """minGRU over a sequence. xs: (T, B, I), h0: (B, H) -> hs: (T, B, H), hs[t] the state after reading xs[t].

    sequential=True runs the plain loop instead of the scan (same result, for comparisons); positive=True uses the
    paper's candidate g(W_h x + b_h), the model that :func:`forward_log_space` computes in log space.
    """
    a, b = coefficients(xs, params, positive=positive)
    h0 = np.asarray(h0)
    if h0.shape != a.shape[1:]:
        raise ValueError(f"h0 has shape {h0.shape}; expected (B, H) = {a.shape[1:]}")
    return (linear_recurrence_loop if sequential else linear_recurrence_scan)(a, b, h0)


def log_space_scan(log_a, log_b, log_h0):
    """log h_t for h_t = a_t * h_{t-1} + b_t with positive a_t, b_t, h0, from their logarithms: (T, ...) -> (T, ...).

    With A_t = a_0 ... a_t, h_t = A_t * (h0 + sum_{k<=t} b_k / A_k), so
    log h_t = cumsum(log a)_t + logcumsumexp([log h0, log b_k - cumsum(log a)_k])_t. Both are scans of associative
    operations (+ and log-sum-exp), as parallel as the Hillis-Steele scan; neither A_t nor 1 / A_k is ever formed,
    so a long run of small a_t does not underflow (the ``np.cumprod`` shortcut does).
    """
    log_a, log_b = np.asarray(log_a, dtype=np.float64), np.asarray(log_b, dtype=np.float64)
    log_h0 = np.asarray(log_h0, dtype=np.float64)
    if log_a.shape != log_b.shape or log_h0.shape != log_a.shape[1:]:
        raise ValueError(f"log_a {log_a.shape} and log_b {log_b.shape} must be (T, ...), log_h0 {log_h0.shape} "
                         f"their (...)")
    a_star = np.cumsum(log_a, axis=0)
    terms = np.concatenate([log_h0[None], log_b - a_star])
    return a_star + np.logaddexp.accumulate(terms, axis=0)[1:]


def forward_log_space(xs, h0, params):
    """The paper's minGRU, computed in log space: the same states as ``forward(xs, h0, params, positive=True)``.

    xs: (T, B, I), h0: (B, H) with every entry > 0 (log h0 must exist) -> hs: (T, B, H), all positive.
    log z = -softplus(-k) and log(1 - z) = -softplus(k) for the gate's pre-activation k, log h~ = log_g(W_h x + b_h).
    """
    h0 = np.asarray(h0, dtype=np.float64)
    if np.any(h0 <= 0):
        raise ValueError("the log-space minGRU needs h0 > 0 (its log is taken); e.g. h0 = g(something)")
    gate, candidate = _pre_activations(xs, params)
    if h0.shape != gate.shape[1:]:
        raise ValueError(f"h0 has shape {h0.shape}; expected (B, H) = {gate.shape[1:]}")
    log_z, log_one_minus_z = -np.logaddexp(0.0, -gate), -np.logaddexp(0.0, gate)
    return np.exp(log_space_scan(log_one_minus_z, log_z + log_g(candidate), np.log(h0)))


@functools.cache
def _torch_classes():
    """Build the torch modules once, on first use, so that importing this module does not import torch."""
    import torch
    from torch import nn

    class MinGRU(nn.Module):
        """minGRU layer. x: (T, B, I), h0: (B, H) or None (zeros) -> hs: (T, B, H).

        The gates and candidates of all steps are two ``nn.Linear`` calls; the recurrence is a parallel scan.
        """

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.linear_z = nn.Linear(input_size, hidden_size)
            self.linear_h = nn.Linear(input_size, hidden_size)

        def forward(self, x, h0=None):
            z = torch.sigmoid(self.linear_z(x))
            candidate = self.linear_h(x)
            if h0 is None:
                h0 = x.new_zeros(x.shape[1], self.hidden_size)
            return linear_recurrence_scan(1 - z, z * candidate, h0)

    class MinGRURegressor(nn.Module):
        """A :class:`MinGRU` whose last state feeds a linear head: x (T, B, I) -> (B, output_size), like
        :class:`coursekit.train.SequenceRegressor` for nn.GRU."""

        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.rnn = MinGRU(input_size, hidden_size)
            self.head = nn.Linear(hidden_size, output_size)

        def forward(self, x):
            return self.head(self.rnn(x)[-1])

    for cls in (MinGRU, MinGRURegressor):  # let pickle and torch.save find them as coursekit.mingru.<name>
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    return {"MinGRU": MinGRU, "MinGRURegressor": MinGRURegressor}


def params_from_torch(module):
    """float64 NumPy copies of a :class:`MinGRU`'s parameters, keys as in :func:`init_params`."""
    def copy(tensor):
        return np.array(tensor.detach().cpu().double().numpy(), copy=True)

    return {"W_z": copy(module.linear_z.weight), "b_z": copy(module.linear_z.bias),
            "W_h": copy(module.linear_h.weight), "b_h": copy(module.linear_h.bias)}


def __getattr__(name):
    # PEP 562: only called for names not defined above, so torch loads on first access of MinGRU/MinGRURegressor.
    classes = ("MinGRU", "MinGRURegressor")
    if name in classes:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "MinGRU", "MinGRURegressor"])
