"""Small result files shipped with coursekit, for the notebooks that plot them (notebooks stay data-free).

- ``adding_sweep.csv``: final test MSE of RNN, LSTM and GRU on the adding problem at several sequence lengths and
  seeds (notebook 06), written by ``python benchmarks/adding_sweep.py`` (see that script for the settings);
- ``gate_ablation.csv``: the same experiment for the full GRU and the GRU without its reset gate, without its update
  gate, or without both (notebook 06), written by ``python benchmarks/adding_sweep.py --ablation``.
"""

import csv
import importlib.resources

import numpy as np

ADDING_SWEEP = "adding_sweep.csv"
ADDING_SWEEP_COMMAND = "python benchmarks/adding_sweep.py"
GATE_ABLATION = "gate_ablation.csv"
GATE_ABLATION_COMMAND = "python benchmarks/adding_sweep.py --ablation"
COMMANDS = {ADDING_SWEEP: ADDING_SWEEP_COMMAND, GATE_ABLATION: GATE_ABLATION_COMMAND}
INTEGER_COLUMNS = ("T", "seed", "steps", "hidden_size", "batch")
TEXT_COLUMNS = ("cell",)


def read_csv(name):
    """A shipped CSV file as {column: 1D array}: text columns as str arrays, integer columns as int64, the rest
    float64 ("none", as in an unclipped run's clip column, becomes nan). Raises FileNotFoundError naming the command
    that writes the file when it is missing."""
    resource = importlib.resources.files(__name__) / name
    if not resource.is_file():
        hint = f"; {COMMANDS[name]} writes it" if name in COMMANDS else ""
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
            columns[key] = np.array([np.nan if v == "none" else v for v in values], dtype=np.float64)
    return columns


def load_adding_sweep():
    """The adding-problem sweep of notebook 06: {column: array}, one entry per (cell, T, seed) training run.

    Columns: cell ("rnn", "lstm", "gru"), T, seed, steps, hidden_size, batch, lr, clip, test_mse, train_mse,
    cpu_seconds, wall_seconds.
    """
    return read_csv(ADDING_SWEEP)


def load_gate_ablation():
    """The GRU gate ablation of notebook 06, with the columns of :func:`load_adding_sweep`; cell is one of
    "gru", "gru_update_only" (reset gate pinned to r = 1), "gru_reset_only" (update gate pinned to z = 0) and
    "gru_no_gates" (both: a tanh RNN), see :mod:`coursekit.ablation`."""
    return read_csv(GATE_ABLATION)
