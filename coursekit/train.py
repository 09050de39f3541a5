"""Seeded, deterministic training for the torch notebooks (04 nn.GRU in practice, 05 Bi-GRU, 06 vanishing gradients,
07 parallel GRU / minGRU).

``import coursekit.train`` imports only NumPy: torch and tqdm are imported inside the functions that use them, and
:class:`SequenceRegressor` (one prediction per sequence) and :class:`SequenceTagger` (one per time step) are built
on first access (``from coursekit.train import SequenceRegressor`` works).

Typical use, with a task from :mod:`coursekit.tasks`::

    set_seed(0)
    model = SequenceRegressor("gru", input_size=2, hidden_size=32, output_size=1)
    make_batch = lambda rng: to_torch(*adding_problem(64, 50, rng=rng))
    losses = train_regression(model, make_batch, steps=500, seed=0)
"""

import functools
import math
import random

import numpy as np

from coursekit.i18n import N_, Text, kernel_language, render

CELLS = ("gru", "lstm", "rnn")
LOSSES = ("mse", "cross_entropy", "bce_logits")


def set_seed(seed, *, deterministic=False):
    """Seed Python's ``random``, NumPy's global generator and torch; return ``np.random.default_rng(seed)``.

    deterministic=True also calls ``torch.use_deterministic_algorithms(True)``, which makes torch raise on
    operations that have no deterministic implementation (the CPU ops used in this course all have one).
    """
    import torch

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # the legacy global generator only takes 32-bit seeds
    torch.manual_seed(int(seed))
    if deterministic:
        torch.use_deterministic_algorithms(True)
    return np.random.default_rng(int(seed))


def _loss_function(loss):
    import torch.nn.functional as F

    if callable(loss):
        return loss
    named = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy, "bce_logits": F.binary_cross_entropy_with_logits}
    if loss not in named:
        raise ValueError(f"loss must be one of {LOSSES} or a callable(outputs, targets) -> scalar, got {loss!r}")
    return named[loss]


def _unpack_batch(batch, step):
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(Text("make_batch(rng) must return (inputs, targets); at step {step} it returned "
                             "{type}. Did you forget to return the targets?", step=step,
                             type=type(batch).__name__).render(kernel_language()))
    return batch


def train(model, make_batch, *, loss, steps, lr=1e-2, seed=0, progress=True, clip=None):
    """Train `model` with Adam for `steps` steps on batches from `make_batch`; return the loss of every step.

    make_batch(rng) -> (inputs, targets) tensors, where rng is a ``np.random.Generator`` seeded from (seed, step), so
    batch k is the same in every run with the same seed whatever happened before it.
    loss: "mse", "cross_entropy" (logits (N, C) or (N, C, d), long targets), "bce_logits", or a callable
    (outputs, targets) -> scalar tensor.
    clip: if set, the total gradient norm is clipped to this value before each update (梯度裁剪).
    progress: show a tqdm bar (it renders as a widget in notebooks); progress=False prints nothing.
    seed: also passed to :func:`set_seed` before the first step, so random layers such as dropout repeat too (the
    model's initial weights come from whatever seed was set when it was built).

    Returns the list of per-step training losses (floats). Raises FloatingPointError as soon as the loss is not
    finite, naming the step, since every later step would be wasted.
    """
    import torch
    from tqdm.auto import tqdm

    language = kernel_language()
    steps = int(steps)
    if steps < 1:
        raise ValueError(Text("steps must be >= 1, got {steps}", steps=steps).render(language))
    if clip is not None and not clip > 0:
        raise ValueError(Text("clip is a maximum gradient norm and must be > 0 (or None), got {clip}",
                              clip=clip).render(language))
    loss_fn = _loss_function(loss)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(render(N_("the model has no trainable parameters; did you build its layers in __init__?"),
                                language))
    set_seed(seed)
    optimizer = torch.optim.Adam(params, lr=lr)
    model.train()
    history = []
    bar = tqdm(range(steps), desc=render(N_("training"), language), disable=not progress, leave=True)
    for step in bar:
        inputs, targets = _unpack_batch(make_batch(np.random.default_rng([seed, step])), step)
        optimizer.zero_grad()
        value = loss_fn(model(inputs), targets)
        value.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        history.append(value.item())
        if not math.isfinite(history[-1]):
            bar.close()
            raise FloatingPointError(Text("the loss became {loss} at step {step}; try a smaller lr (now {lr}) or "
                                          "clip=1.0", loss=history[-1], step=step, lr=lr).render(language))
        if step % 10 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{history[-1]:.4f}", refresh=False)
    bar.close()
    return history


def train_regression(model, make_batch, *, steps, lr=1e-2, seed=0, progress=True, clip=None):
    """:func:`train` with the mean squared error (e.g. the adding problem, baseline 1/6)."""
    return train(model, make_batch, loss="mse", steps=steps, lr=lr, seed=seed, progress=progress, clip=clip)


def train_classification(model, make_batch, *, steps, lr=1e-2, seed=0, progress=True, clip=None):
    """:func:`train` with cross-entropy on logits and integer class targets (copy memory, delayed recall)."""
    return train(model, make_batch, loss="cross_entropy", steps=steps, lr=lr, seed=seed, progress=progress,
                 clip=clip)


@functools.cache
def _sequence_regressor_class():
    """Build the SequenceRegressor class once, on first use, so that importing this module does not import torch."""
    from torch import nn

    recurrent_layers = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}

    class SequenceRegressor(nn.Module):
        """A recurrent layer (nn.GRU, nn.LSTM or nn.RNN) whose last hidden state (隐藏状态) feeds a linear head.

        x: (T, B, input_size), or (B, T, input_size) with batch_first=True -> (B, output_size).
        The outputs are raw numbers: predictions for regression, logits for classification.
        """

        def __init__(self, cell, input_size, hidden_size, output_size, *, num_layers=1, batch_first=False):
            super().__init__()
            if cell not in recurrent_layers:
                raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
            self.cell = cell
            self.rnn = recurrent_layers[cell](input_size, hidden_size, num_layers=num_layers,
                                              batch_first=batch_first)
            self.head = nn.Linear(hidden_size, output_size)

        def forward(self, x):
            _, h_n = self.rnn(x)
            if self.cell == "lstm":
                h_n = h_n[0]  # the LSTM returns (h_n, c_n); the cell state stays inside
            return self.head(h_n[-1])  # h_n: (num_layers, B, H); the top layer's state

    # Let pickle and torch.save find the class as coursekit.train.SequenceRegressor (see __getattr__ below).
    SequenceRegressor.__module__ = __name__
    SequenceRegressor.__qualname__ = "SequenceRegressor"
    return SequenceRegressor


@functools.cache
def _sequence_tagger_class():
    """Build the SequenceTagger class once, on first use (like SequenceRegressor). Introduced in notebook 05."""
    from torch import nn

    recurrent_layers = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}

    class SequenceTagger(nn.Module):
        """A recurrent layer whose output at every time step feeds a linear head: one prediction per step.

        x: (T, B, input_size) -> (T, B, output_size), or (B, T, ...) for both with batch_first=True.
        bidirectional=True (双向) adds a second layer reading the sequence reversed; the head then sees both
        directions' states, 2 * hidden_size features per step, so the prediction at step t depends on the whole
        sequence. Without it, the prediction at step t depends only on x[0..t].
        """

        def __init__(self, cell, input_size, hidden_size, output_size, *, num_layers=1, bidirectional=False,
                     batch_first=False):
            super().__init__()
            if cell not in recurrent_layers:
                raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
            self.cell = cell
            self.rnn = recurrent_layers[cell](input_size, hidden_size, num_layers=num_layers,
                                              bidirectional=bidirectional, batch_first=batch_first)
            self.head = nn.Linear((2 if bidirectional else 1) * hidden_size, output_size)

        def forward(self, x):
            output, _ = self.rnn(x)  # the top layer's state at every step (both directions concatenated)
            return self.head(output)

    SequenceTagger.__module__ = __name__
    SequenceTagger.__qualname__ = "SequenceTagger"
    return SequenceTagger


_LAZY_CLASSES = {"SequenceRegressor": _sequence_regressor_class, "SequenceTagger": _sequence_tagger_class}


def __getattr__(name):
    # Module-level __getattr__ (PEP 562): only called for names not defined above, so torch loads on first access.
    if name in _LAZY_CLASSES:
        return _LAZY_CLASSES[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY_CLASSES])
