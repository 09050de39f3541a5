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


def coefficients(xs, params):
    """The recurrence's coefficients for every step at once: a = 1 - z and b = z * h~, both (T, B, H).

    xs: (T, B, I). Two matrix products over all T * B rows: nothing here waits for a previous step.
    """
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise KeyError(f"minGRU params are missing {missing}; expected keys {list(PARAM_KEYS)}")
    xs = np.asarray(xs)
    W_z, W_h = np.asarray(params["W_z"]), np.asarray(params["W_h"])
    if xs.ndim != 3 or xs.shape[-1] != W_z.shape[1]:
        raise ValueError(f"xs has shape {xs.shape}; expected (T, B, I) with I = {W_z.shape[1]}")
    z = sigmoid(xs @ W_z.T + params["b_z"])
    candidate = xs @ W_h.T + params["b_h"]
    return 1.0 - z, z * candidate


def forward(xs, h0, params, *, sequential=False):
    """minGRU over a sequence. xs: (T, B, I), h0: (B, H) -> hs: (T, B, H), hs[t] the state after reading xs[t].

    sequential=True runs the plain loop instead of the scan (same result, for comparisons).
    """
    a, b = coefficients(xs, params)
    h0 = np.asarray(h0)
    if h0.shape != a.shape[1:]:
        raise ValueError(f"h0 has shape {h0.shape}; expected (B, H) = {a.shape[1:]}")
    return (linear_recurrence_loop if sequential else linear_recurrence_scan)(a, b, h0)


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
