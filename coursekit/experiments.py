"""The adding-problem experiment of notebook 06: train an RNN, an LSTM, a GRU or a GRU with a gate removed
(:mod:`coursekit.ablation`) at one sequence length and measure its test error. The notebook's small runs and the
full sweeps (``benchmarks/adding_sweep.py``, whose results ship as ``coursekit/data/adding_sweep.csv`` and
``coursekit/data/gate_ablation.csv``) call the same function, so both measure exactly the same thing.

torch is imported lazily (through :mod:`coursekit.train`).
"""

import time

import numpy as np

from coursekit.ablation import VARIANTS, remove_gru_gates
from coursekit.tasks import adding_problem, to_torch

CELLS = ("rnn", "lstm", "gru", *(name for name in VARIANTS if name != "gru"))
"""What :func:`train_on_adding` can train: torch's three recurrent layers and the GRU variants of the gate ablation."""

TEST_SEED = 10_000
"""The test set at length T is ``adding_problem(test_size, T, rng=TEST_SEED + T)``: fixed, and never a training batch
(those are seeded by (seed, step) pairs, see :func:`coursekit.train.train`)."""


def adding_test_set(T, size=1000):
    """The fixed test batch at length T as torch tensors (xs (T, size, 2), ys (size, 1))."""
    return to_torch(*adding_problem(size, T, rng=TEST_SEED + T))


def adding_regressor(cell, hidden_size):
    """``SequenceRegressor(cell, 2, hidden_size, 1)`` for "rnn", "lstm", "gru"; for a GRU variant of
    :data:`coursekit.ablation.VARIANTS` the same GRU (same initial weights for the same seed) with its gates pinned."""
    from coursekit.train import SequenceRegressor

    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    model = SequenceRegressor(cell if cell in ("rnn", "lstm") else "gru", 2, hidden_size, 1)
    if cell in VARIANTS:
        keep_reset, keep_update = VARIANTS[cell]
        remove_gru_gates(model.rnn, reset=not keep_reset, update=not keep_update)
    return model


def train_on_adding(cell, T, *, steps, seed=0, hidden_size=32, batch=64, lr=1e-2, clip=1.0, test_size=1000,
                    device=None):
    """Train :func:`adding_regressor` ``(cell, hidden_size)`` on the adding problem at length T; evaluate on the
    test set.

    cell: one of :data:`CELLS`. Adam with learning rate ``lr``, gradient norm clipped to ``clip`` (None: off),
    batches of ``batch`` fresh sequences per step, everything seeded by ``seed``. device: where the model and the
    batches live (None: the CPU); the batches are drawn by NumPy, so a run is the same on every device up to rounding.

    Returns a dict: cell, T, seed, steps, test_mse (on the fixed test set; the baseline of always answering 1.0 is
    1/6), train_mse (mean of the last 50 training losses), cpu_seconds and wall_seconds of the training, and
    losses (the list of every training loss).
    """
    import torch

    from coursekit.train import set_seed, train_regression

    device = torch.device("cpu" if device is None else device)
    set_seed(seed)
    model = adding_regressor(cell, hidden_size).to(device)

    def make_batch(rng):
        return tuple(tensor.to(device) for tensor in to_torch(*adding_problem(batch, T, rng=rng)))

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    losses = train_regression(model, make_batch, steps=steps, lr=lr, seed=seed, clip=clip, progress=False)
    cpu_seconds, wall_seconds = time.process_time() - cpu_start, time.perf_counter() - wall_start
    xs, ys = (tensor.to(device) for tensor in adding_test_set(T, test_size))
    model.eval()
    with torch.no_grad():
        test_mse = torch.nn.functional.mse_loss(model(xs), ys).item()
    return {"cell": cell, "T": T, "seed": seed, "steps": steps, "test_mse": test_mse,
            "train_mse": float(np.mean(losses[-50:])), "cpu_seconds": cpu_seconds, "wall_seconds": wall_seconds,
            "losses": losses}
