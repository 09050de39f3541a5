"""Linear recurrences h_t = a_t * h_{t-1} + b_t, by a loop and by a parallel scan (并行扫描). Notebook 07.

A GRU cannot be computed this way: its gates read h_{t-1}, so step t must wait for step t-1. When the gates read
only the input, as in minGRU (:mod:`coursekit.mingru`), a_t and b_t are known for every t in advance and the
recurrence is linear in h. Composing two steps gives another step of the same form::

    h -> a1 * h + b1, then h -> a2 * h + b2   is   h -> (a2 * a1) * h + (a2 * b1 + b2)

and this composition is associative, so the T steps can be combined in any bracketing: a tree of depth log2(T)
instead of a chain of length T. :func:`linear_recurrence_scan` is the Hillis-Steele scan: pass k combines every
position t with position t - 2**k, so after ceil(log2 T) passes each position holds the composition of all steps up
to it. It does O(T log T) work in O(log T) vectorised passes (Blelloch's scan does O(T) work in 2 log2 T passes).

Both functions take NumPy arrays or torch tensors (autograd flows through the scan).
"""

import numpy as np

from coursekit.harness import count_python_lines  # noqa: F401  (notebook 07 imports it from here)


def _check(a, b, h0):
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"a has shape {tuple(a.shape)} and b has shape {tuple(b.shape)}; they must be equal (T, ...)")
    if len(a.shape) < 1 or a.shape[0] < 1:
        raise ValueError(f"a and b have shape {tuple(a.shape)}; expected (T, ...) with T >= 1")
    if tuple(h0.shape) != tuple(a.shape[1:]):
        raise ValueError(f"h0 has shape {tuple(h0.shape)}; expected a.shape[1:] = {tuple(a.shape[1:])}")


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def linear_recurrence_loop(a, b, h0):
    """The sequential definition: h_t = a_t * h_{t-1} + b_t for t = 0..T-1, starting from h_{-1} = h0.

    Inputs: a, b: (T, ...) arrays of the same shape; h0: (...) = a.shape[1:].
    Returns hs: (T, ...), hs[t] = h_t. T dependent steps: step t needs the result of step t - 1.
    """
    if not _is_torch(a):
        a, b, h0 = np.asarray(a), np.asarray(b), np.asarray(h0)
    _check(a, b, h0)
    hs, h = [], h0
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        hs.append(h)
    if _is_torch(a):
        import torch

        return torch.stack(hs)
    return np.stack(hs)


def linear_recurrence_scan(a, b, h0):
    """The same h_t as :func:`linear_recurrence_loop`, by a Hillis-Steele scan: ceil(log2 T) vectorised passes.

    Inputs: a, b: (T, ...) arrays of the same shape; h0: (...) = a.shape[1:].
    Returns hs: (T, ...).

    Position t holds a pair (A_t, B_t) meaning "h -> A_t * h + B_t". h0 is folded into the first pair (B_0 becomes
    a_0 * h0 + b_0), so once every pair covers steps 0..t, B_t is h_t itself. Only products of a's and sums appear
    (no division), so a_t = 0 (a full reset) and products that underflow are harmless.
    """
    torch_input = _is_torch(a)
    if torch_input:
        import torch

        concatenate = torch.cat
    else:
        a, b, h0 = np.asarray(a), np.asarray(b), np.asarray(h0)
        concatenate = np.concatenate
    _check(a, b, h0)
    T = a.shape[0]
    A = a
    B = concatenate([a[:1] * h0 + b[:1], b[1:]])
    k = 1
    while k < T:
        # Position t >= k combines with t - k: first (A_{t-k}, B_{t-k}), then (A_t, B_t). Positions t < k already
        # cover steps 0..t. New arrays (not in-place updates) so that torch's autograd can go through.
        B = concatenate([B[:k], A[k:] * B[:-k] + B[k:]])
        A = concatenate([A[:k], A[k:] * A[:-k]])
        k *= 2
    return B
