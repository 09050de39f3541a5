"""Seeded synthetic sequence tasks for the torch notebooks (no downloads).

Notebook 04 (torch.nn.GRU in practice) introduces :func:`adding_problem` and :func:`to_torch`; notebook 05 (Bi-GRU)
uses :func:`future_marker` and :func:`next_step_sequences`; notebook 06 (vanishing gradients, RNN vs LSTM vs GRU)
uses :func:`adding_problem`, :func:`copy_memory` and :func:`delayed_recall`; notebook 07 (parallel GRU / minGRU)
reuses the adding problem.

Conventions shared by every generator:

- ``rng`` is keyword-only and required: an ``int`` seed or a ``np.random.Generator``. The same seed gives the same
  arrays, and passing one Generator to successive calls gives fresh batches.
- Inputs are float64 and sequence-first, xs: (T, B, I), like ``nn.GRU``'s default; ``batch_first=True`` gives
  (B, T, I) with exactly the same numbers (the arrays are transposed copies of the sequence-first ones).
- Per-step targets follow the same layout, (T, B) or (T, B, O); one-per-sequence targets are (B, ...).
- Integer class targets are int64, so :func:`to_torch` turns them into the ``torch.long`` that cross-entropy wants.
"""

import numpy as np

ADDING_BASELINE_MSE = 1.0 / 6.0
"""MSE of always answering 1.0 on the adding problem: E[U1 + U2] = 1 and Var(U1 + U2) = 2 * (1/12) = 1/6 ≈ 0.167.

A model whose loss stays near this line has learned the mean but not the task (it does not remember the values)."""


# ----------------------------------------------------------------------------------------------------------------
# Argument checks and layout
# ----------------------------------------------------------------------------------------------------------------

def _check_int(name, value, minimum, why=""):
    """Return ``value`` as an int, or raise ValueError naming the argument and the reason for the bound."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{why}, got {value}")
    return int(value)


def _check_probability(name, value):
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    return float(value)


def _make_rng(rng):
    """A Generator from an int seed or a Generator; None is refused because the data would not be reproducible."""
    if rng is None:
        raise ValueError("pass rng=<int seed> or rng=np.random.default_rng(seed) so the data are reproducible")
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer, np.random.Generator)):
        raise ValueError(f"rng must be an int seed or a np.random.Generator, got {type(rng).__name__}")
    return np.random.default_rng(rng)


def _layout(array, batch_first):
    """Sequence-first (T, B, ...) array -> the requested layout, as a contiguous array."""
    if batch_first:
        array = np.swapaxes(array, 0, 1)
    return np.ascontiguousarray(array)


def _one_hot(labels, n):
    """Integer array (...) -> float64 one-hot (..., n)."""
    return np.eye(n, dtype=np.float64)[labels]


# ----------------------------------------------------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------------------------------------------------

def adding_problem(batch, T, *, rng, batch_first=False):
    """The adding problem (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015).

    Each step carries two features: a value ~ U(0, 1) and a marker that is 1 at exactly two positions, one drawn
    from the first half [0, T // 2) and one from the second half [T // 2, T), and 0 elsewhere. The target is the sum
    of the two marked values. The model must hold the first value in its hidden state (隐藏状态) until the end.
    Always predicting 1.0 scores ``ADDING_BASELINE_MSE`` = 1/6.

    Returns xs: (T, B, 2) float64 with xs[..., 0] the values and xs[..., 1] the markers, and ys: (B, 1) float64.
    """
    batch = _check_int("batch", batch, 1)
    T = _check_int("T", T, 2, " (one marker goes in each half of the sequence)")
    rng = _make_rng(rng)
    half = T // 2
    values = rng.uniform(0.0, 1.0, size=(T, batch))
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, T, size=batch)
    markers = np.zeros((T, batch))
    columns = np.arange(batch)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    xs = np.stack([values, markers], axis=-1)
    ys = (values[first, columns] + values[second, columns])[:, None]
    return _layout(xs, batch_first), ys


def copy_memory(batch, T_delay, *, n_symbols=8, length=10, rng, batch_first=False):
    """The copy-memory task (Hochreiter & Schmidhuber 1997; the form of Arjovsky et al. 2016).

    Tokens: 0 is the blank, 1..n_symbols are data symbols, n_symbols + 1 is the delimiter. One input sequence of
    T_total = T_delay + 2 * length steps is::

        `length` random symbols | T_delay - 1 blanks | delimiter | `length` blanks

    and the target is blank everywhere except the last `length` steps, where it repeats the symbols in order. The
    delimiter says "start writing now", so the model has to carry `length` symbols across T_delay steps.
    Remembering nothing scores :func:`copy_memory_baseline` in cross-entropy.

    Returns xs: (T_total, B, n_symbols + 2) float64 one-hot, and ys: (T_total, B) int64 classes in 0..n_symbols
    (so the output layer needs n_symbols + 1 classes).
    """
    batch = _check_int("batch", batch, 1)
    T_delay = _check_int("T_delay", T_delay, 1, " (the delimiter occupies the last delay step)")
    n_symbols = _check_int("n_symbols", n_symbols, 1)
    length = _check_int("length", length, 1)
    rng = _make_rng(rng)
    T_total = T_delay + 2 * length
    symbols = rng.integers(1, n_symbols + 1, size=(length, batch))
    tokens = np.zeros((T_total, batch), dtype=np.int64)
    tokens[:length] = symbols
    tokens[length + T_delay - 1] = n_symbols + 1
    ys = np.zeros((T_total, batch), dtype=np.int64)
    ys[-length:] = symbols
    xs = _one_hot(tokens, n_symbols + 2)
    return _layout(xs, batch_first), _layout(ys, batch_first)


def copy_memory_baseline(T_delay, *, n_symbols=8, length=10):
    """Mean per-step cross-entropy (nats) of the best model that remembers nothing on :func:`copy_memory`.

    It outputs blank with certainty for the first T_delay + length steps and a uniform guess over the n_symbols
    symbols for the last `length` steps: length * ln(n_symbols) / (T_delay + 2 * length).
    """
    T_delay = _check_int("T_delay", T_delay, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 1)
    length = _check_int("length", length, 1)
    return length * np.log(n_symbols) / (T_delay + 2 * length)


def delayed_recall(batch, delay, *, n_classes=4, noise=0.0, rng, batch_first=False):
    """Show a symbol at step 0, then `delay` distractor steps; the target is the symbol. Difficulty grows with delay.

    Step 0 is the one-hot symbol; steps 1..delay are zeros plus Gaussian noise of standard deviation `noise`
    (0 gives blank steps). Reading the answer from the last hidden state needs memory over `delay` steps; chance
    level is accuracy 1 / n_classes, cross-entropy ln(n_classes).

    Returns xs: (delay + 1, B, n_classes) float64 and ys: (B,) int64 classes in 0..n_classes - 1.
    """
    batch = _check_int("batch", batch, 1)
    delay = _check_int("delay", delay, 0)
    n_classes = _check_int("n_classes", n_classes, 2, " (one class would leave nothing to remember)")
    if not float(noise) >= 0.0:
        raise ValueError(f"noise is a standard deviation and must be >= 0, got {noise}")
    rng = _make_rng(rng)
    ys = rng.integers(0, n_classes, size=batch)
    xs = np.zeros((delay + 1, batch, n_classes))
    xs[0] = _one_hot(ys, n_classes)
    if noise > 0:
        xs[1:] = noise * rng.standard_normal((delay, batch, n_classes))
    return _layout(xs, batch_first), ys.astype(np.int64)


def future_marker(batch, T, *, p=0.1, rng, batch_first=False):
    """Label each step t by whether a marker appears at some later step s > t (for the Bi-GRU of notebook 05).

    Every step holds a marker independently with probability p. The label at t depends only on the future, so a
    left-to-right model can do no better than guessing from t alone (:func:`future_marker_causal_accuracy`), while
    a bidirectional model (双向) can be exact. The label at the last step is always 0.

    Returns xs: (T, B, 1) float64 markers in {0, 1} and ys: (T, B) float64 labels in {0, 1} (float so that they go
    straight into ``nn.BCEWithLogitsLoss``).
    """
    batch = _check_int("batch", batch, 1)
    T = _check_int("T", T, 2, " (with one step there is no future)")
    p = _check_probability("p", p)
    rng = _make_rng(rng)
    markers = (rng.random((T, batch)) < p).astype(np.float64)
    # Markers at steps >= t, counted from the end; shifting by one step makes it strictly later than t.
    at_or_after = np.cumsum(markers[::-1], axis=0)[::-1]
    ys = np.zeros((T, batch))
    ys[:-1] = at_or_after[1:] > 0
    return _layout(markers[..., None], batch_first), _layout(ys, batch_first)


def future_marker_causal_accuracy(T, *, p=0.1):
    """Best mean per-step accuracy on :func:`future_marker` for a model that sees only the past and present.

    Markers are independent, so the past carries no information about the label; the best such model answers the
    more likely label at each t, where P(label_t = 1) = 1 - (1 - p) ** (T - 1 - t). A bidirectional model can reach 1.
    """
    T = _check_int("T", T, 2)
    p = _check_probability("p", p)
    q = 1.0 - (1.0 - p) ** (T - 1 - np.arange(T))
    return float(np.mean(np.maximum(q, 1.0 - q)))


def next_step_sequences(batch, T, *, a=0.9, rng, batch_first=False):
    """Next-step prediction on a stationary AR(1) sequence: the target at t is the input at t + 1.

    x_{t+1} = a * x_t + sqrt(1 - a**2) * eps_t, with eps_t ~ N(0, 1) and x_0 ~ N(0, 1), so every x_t has variance 1.
    The fresh noise cannot be predicted from the past: the best left-to-right model predicts a * x_t and scores
    MSE 1 - a**2 (0.19 for a = 0.9). A bidirectional model reads x_{t+1} from its backward half and gets close to 0,
    which is cheating: at prediction time the future is not available (notebook 05).

    Returns xs: (T, B, 1) and ys: (T, B, 1) float64, with ys[t] == xs[t + 1] for t < T - 1.
    """
    batch = _check_int("batch", batch, 1)
    T = _check_int("T", T, 1)
    if not -1.0 < float(a) < 1.0:
        raise ValueError(f"a must lie strictly between -1 and 1 for a stationary sequence, got {a}")
    rng = _make_rng(rng)
    x = np.empty((T + 1, batch))
    x[0] = rng.standard_normal(batch)
    eps = rng.standard_normal((T, batch))
    scale = np.sqrt(1.0 - a * a)
    for t in range(T):
        x[t + 1] = a * x[t] + scale * eps[t]
    return _layout(x[:-1, :, None], batch_first), _layout(x[1:, :, None], batch_first)


# ----------------------------------------------------------------------------------------------------------------
# Bridge to torch
# ----------------------------------------------------------------------------------------------------------------

def to_torch(*arrays, dtype=None):
    """NumPy arrays from a task -> torch tensors (torch is imported here, not at ``import coursekit.tasks``).

    Floating arrays become `dtype` (default ``torch.float32``, what ``nn.GRU`` expects unless the model was
    converted with ``.double()``); integer arrays become ``torch.long`` class indices; booleans stay bool.
    Returns one tensor for one array, a tuple for several: ``xs, ys = to_torch(*adding_problem(64, 50, rng=0))``.
    """
    import torch

    if not arrays:
        raise ValueError("to_torch needs at least one array, e.g. to_torch(xs, ys)")
    dtype = torch.float32 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch dtype such as torch.float32, got {dtype!r}")
    tensors = []
    for i, array in enumerate(arrays):
        array = np.asarray(array)
        if array.dtype.kind == "f":
            tensors.append(torch.tensor(array, dtype=dtype))
        elif array.dtype.kind in "iu":
            tensors.append(torch.tensor(array, dtype=torch.long))
        elif array.dtype.kind == "b":
            tensors.append(torch.tensor(array))
        else:
            raise ValueError(f"array {i} has dtype {array.dtype}; expected floats, integers or booleans")
    return tensors[0] if len(tensors) == 1 else tuple(tensors)
