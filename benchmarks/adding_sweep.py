"""RNN vs LSTM vs GRU on the adding problem at several sequence lengths and seeds (the full run of notebook 06).

    nice -n 10 python benchmarks/adding_sweep.py            # full sweep, writes coursekit/data/adding_sweep.csv
    nice -n 10 python benchmarks/adding_sweep.py --ablation # GRU gate ablation, writes coursekit/data/gate_ablation.csv
    python benchmarks/adding_sweep.py --quick --out /tmp/a.csv   # a few seconds, to try the script

--ablation is short for ``--cells gru,gru_update_only,gru_reset_only,gru_no_gates --lengths 25,50,100,200
--out coursekit/data/gate_ablation.csv``: the GRU with its reset gate pinned to r = 1, its update gate pinned to
z = 0, or both (:mod:`coursekit.ablation`), next to the full GRU, from the same initial weights.

Every run is :func:`coursekit.experiments.train_on_adding` (Adam, lr 1e-2, gradient clipping at 1.0, batches of 64
fresh sequences, hidden size 32, one torch thread) evaluated on a fixed test set of 1000 sequences. Rows are written
as they finish, so an interrupted sweep keeps what it has done. At the end a table gives, per model and length,
the median test MSE over seeds and its ratio to the baseline 1/6 of always answering 1.0 (a ratio near 1 means the
model learned nothing about the two marked values).
"""

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import torch

from coursekit.experiments import CELLS as CELLS_TRAINABLE
from coursekit.experiments import train_on_adding
from coursekit.tasks import ADDING_BASELINE_MSE

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("cell", "T", "seed", "steps", "hidden_size", "batch", "lr", "clip", "test_mse", "train_mse",
           "cpu_seconds", "wall_seconds")
CELLS = ("rnn", "lstm", "gru")
ABLATION = ("gru", "gru_update_only", "gru_reset_only", "gru_no_gates")
ABLATION_LENGTHS = "25,50,100,200"


def clip_value(text):
    """--clip: a positive number, or "none" for no clipping."""
    return None if text.lower() == "none" else float(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="10,25,50,100,200", help="comma-separated sequence lengths")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--clip", type=clip_value, default=1.0, help='gradient-norm clipping, or "none"')
    parser.add_argument("--cells", default=",".join(CELLS),
                        help=f"comma-separated models, from {', '.join(CELLS_TRAINABLE)}")
    parser.add_argument("--ablation", action="store_true",
                        help=f"the GRU gate ablation: --cells {','.join(ABLATION)} --lengths {ABLATION_LENGTHS}, "
                             "written to coursekit/data/gate_ablation.csv")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV to write (default coursekit/data/adding_sweep.csv, or gate_ablation.csv)")
    parser.add_argument("--quick", action="store_true", help="lengths 5,10, one seed, 20 steps")
    args = parser.parse_args()
    if args.ablation:
        args.cells, args.lengths = ",".join(ABLATION), ABLATION_LENGTHS
    out = args.out or ROOT / "coursekit" / "data" / ("gate_ablation.csv" if args.ablation else "adding_sweep.csv")
    cells = args.cells.split(",")
    unknown = sorted(set(cells) - set(CELLS_TRAINABLE))
    if unknown:
        parser.error(f"unknown cells {unknown}; choose from {', '.join(CELLS_TRAINABLE)}")
    lengths = [int(v) for v in args.lengths.split(",")]
    seeds, steps = args.seeds, args.steps
    if args.quick:
        lengths, seeds, steps = [5, 10], 1, 20
    torch.set_num_threads(1)  # one core: per-step work is small, and the timings stay comparable
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its first use imports a lot: keep that out of row 1

    results = []
    start = time.perf_counter()
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for T in lengths:
            for seed in range(seeds):
                for cell in cells:
                    run = train_on_adding(cell, T, steps=steps, seed=seed, hidden_size=args.hidden_size,
                                          batch=args.batch, lr=args.lr, clip=args.clip)
                    row = {key: run[key] for key in ("cell", "T", "seed", "steps", "test_mse", "train_mse",
                                                     "cpu_seconds", "wall_seconds")}
                    row.update(hidden_size=args.hidden_size, batch=args.batch, lr=args.lr,
                               clip="none" if args.clip is None else args.clip)
                    for key in ("test_mse", "train_mse"):
                        row[key] = f"{row[key]:.6g}"
                    for key in ("cpu_seconds", "wall_seconds"):
                        row[key] = f"{row[key]:.2f}"
                    writer.writerow(row)
                    handle.flush()
                    results.append(run)
                    print(f"T={T:4d} seed={seed} {cell:>4}: test MSE {run['test_mse']:.4f}  "
                          f"({run['cpu_seconds']:.1f} s CPU)", flush=True)

    print(f"\nmedian test MSE over {seeds} seed(s), {steps} steps; ratio to the baseline {ADDING_BASELINE_MSE:.4f}")
    print(f"{'T':>5}" + "".join(f"{cell:>18}" for cell in cells))
    for T in lengths:
        entries = []
        for cell in cells:
            mse = statistics.median(r["test_mse"] for r in results if r["cell"] == cell and r["T"] == T)
            entries.append(f"{mse:9.4f} ({mse / ADDING_BASELINE_MSE:5.2f})")
        print(f"{T:>5}" + "".join(f"{e:>18}" for e in entries))
    cpu = sum(r["cpu_seconds"] for r in results)
    print(f"\ntraining CPU time {cpu:.0f} s, wall time {time.perf_counter() - start:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
