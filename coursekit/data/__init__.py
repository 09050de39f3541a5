"""Small result files shipped with coursekit, for the notebooks that plot them (notebooks stay data-free).

- ``adding_sweep.csv``: final test MSE of RNN, LSTM and GRU on the adding problem at several sequence lengths and
  seeds (notebook 06), written by ``python benchmarks/adding_sweep.py`` (see that script for the settings).
"""

import csv
import importlib.resources

import numpy as np

ADDING_SWEEP = "adding_sweep.csv"
ADDING_SWEEP_COMMAND = "python benchmarks/adding_sweep.py"
INTEGER_COLUMNS = ("T", "seed", "steps", "hidden_size", "batch")
TEXT_COLUMNS = ("cell",)


def read_csv(name):
    """A shipped CSV file as {column: 1D array}: text columns as str arrays, integer columns as int64, the rest
    float64. Raises FileNotFoundError naming the command that writes the file when it is missing."""
    resource = importlib.resources.files(__name__) / name
    if not resource.is_file():
        hint = f"; {ADDING_SWEEP_COMMAND} writes it" if name == ADDING_SWEEP else ""
        raise FileNotFoundError(f"coursekit/data/{name} is missing{hint}")
    with resource.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"coursekit/data/{name} has no rows")
    columns = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        if key in TEXT_COLUMNS:
            columns[key] = np.array(values, dtype=str)
        elif key in INTEGER_COLUMNS:
            columns[key] = np.array(values, dtype=np.int64)
        else:
            columns[key] = np.array(values, dtype=np.float64)
    return columns


def load_adding_sweep():
    """The adding-problem sweep of notebook 06: {column: array}, one entry per (cell, T, seed) training run.

    Columns: cell ("rnn", "lstm", "gru"), T, seed, steps, hidden_size, batch, lr, clip, test_mse, train_mse,
    cpu_seconds, wall_seconds.
    """
    return read_csv(ADDING_SWEEP)
