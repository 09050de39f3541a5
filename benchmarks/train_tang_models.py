"""Train the three character-level models of notebook 08 (GRU, LSTM, vanilla RNN) on the Tang poems and ship them.

    nice -n 10 python benchmarks/train_tang_models.py              # writes coursekit/data/tang_*.npz and *.csv
    python benchmarks/train_tang_models.py --quick --out /tmp/tang  # a few seconds, to try the script

Same budget for all three: the same data (the course's split of coursekit.tang300), the same embedding size, about
the same number of parameters (the GRU's hidden size is given, the LSTM's and the RNN's are solved for the GRU's
total), the same number of steps of truncated BPTT (batch 32, chunks of 64 characters, state detached between
chunks), Adam, gradient clipping at 1.0, dropout, seed 0. Each model keeps the weights of its last step (the
same budget for all; the lowest validation perplexity and its step are recorded too). Runs on the GPU when there
is one (``--device auto``), else on one CPU thread.

Writes into --out: ``tang_<cell>.npz`` (float16 weights, see coursekit.poetry.save_checkpoint),
``tang_training.csv`` (per model and measurement: step, mean training loss since the last measurement, perplexity
on the training, validation and test poems, the mark predictions on the test poems and, every --form-every steps,
the fraction of generated lines in form; the test curves are only drawn, never used to choose anything) and
``tang_results.csv`` (per model: sizes, time, and the measurements of coursekit.verse on the 30 held-out test
poems), and prints them.

The shipped files took 22 minutes of wall time (1343 s: GRU 567 s, LSTM 295 s, RNN 449 s, measurements included)
on a 2-core CPU shared with other jobs (load average 7 to 13), 6 minutes of CPU time on one thread.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

from coursekit import poetry, tang300, verse

ROOT = Path(__file__).resolve().parent.parent
CELLS = ("gru", "lstm", "rnn")
RESULT_COLUMNS = ("cell", "hidden_size", "parameters", "steps", "best_valid_step", "best_valid_perplexity",
                  "train_seconds", "device",
                  "train_perplexity", "valid_perplexity", "test_perplexity", "mark_recall", "false_marks",
                  "which_mark", "sampled_line_width_fraction")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--gru-hidden", type=int, default=128)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--form-every", type=int, default=200, help="steps between measurements of generated lines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    parser.add_argument("--out", type=Path, default=ROOT / "coursekit" / "data")
    parser.add_argument("--quick", action="store_true", help="40 steps, small models")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.gru_hidden, args.eval_every, args.form_every = 40, 32, 20, 40
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device == "cpu":
        torch.set_num_threads(1)  # small per-step work: one thread is as fast and keeps timings comparable
    args.out.mkdir(parents=True, exist_ok=True)

    split = tang300.split()
    vocab = poetry.build_vocabulary([poem.text for poem in split.train])
    streams = {name: poetry.encode_poems(getattr(split, name), vocab) for name in ("train", "valid", "test")}
    target = poetry.parameter_count("gru", len(vocab), args.embed, args.gru_hidden)
    print(f"vocabulary {len(vocab)}, stream lengths " + ", ".join(f"{k} {len(v)}" for k, v in streams.items())
          + f"; device {device}; about {target} parameters per model")

    def measure(step, model):
        """Memory on the held-out poems during training (seeded generators: the training is not disturbed)."""
        marks = verse.punctuation_prediction(poetry.stream_logits(model, streams["test"], device=device),
                                             streams["test"], vocab.punctuation_ids)
        row = {key: marks[key] for key in ("mark_recall", "false_marks", "which_mark")}
        if step % args.form_every == 0 or step == args.steps:
            row["sampled_line_width_fraction"], _ = verse.sampled_line_widths(model, vocab, split.test, device=device)
        return row

    results, curve_rows, start = [], [], time.perf_counter()
    for cell in CELLS:
        hidden = poetry.hidden_size_for(cell, target, len(vocab), args.embed)
        torch.manual_seed(args.seed)
        model = poetry.CharLM(cell, len(vocab), args.embed, hidden, dropout=args.dropout)
        run = poetry.train_language_model(
            model, streams["train"], steps=args.steps, valid_stream=streams["valid"], batch_size=args.batch,
            seq_len=args.seq_len, lr=args.lr, seed=args.seed, eval_every=args.eval_every, keep_best=False,
            extra_streams={"train": streams["train"], "test": streams["test"]}, on_eval=measure, device=device)
        previous = 0
        for k, (step, valid) in enumerate(zip(run.eval_steps, run.valid_perplexity)):
            curve_rows.append({"cell": cell, "step": step,
                               "train_loss": f"{np.mean(run.train_loss[previous:step]):.5f}",
                               "train_perplexity": f"{run.extra_perplexity['train'][k]:.4f}",
                               "valid_perplexity": f"{valid:.4f}",
                               "test_perplexity": f"{run.extra_perplexity['test'][k]:.4f}",
                               **{key: f"{value:.4f}" for key, value in run.eval_metrics[k].items()}})
            previous = step
        path = args.out / f"tang_{cell}.npz"
        poetry.save_checkpoint(path, model, vocab, steps=args.steps, seed=args.seed)
        # measure the shipped (float16) weights, as the notebook will
        model, _, _ = poetry.load_checkpoint(path)
        test_logits = poetry.stream_logits(model, streams["test"])
        marks = verse.punctuation_prediction(test_logits, streams["test"], vocab.punctuation_ids)
        width_fraction, _ = verse.sampled_line_widths(model, vocab, split.test)
        results.append({
            "cell": cell, "hidden_size": hidden, "parameters": sum(p.numel() for p in model.parameters()),
            "steps": args.steps, "best_valid_step": run.best_step,
            "best_valid_perplexity": f"{run.best_valid_perplexity:.2f}", "train_seconds": f"{run.seconds:.1f}",
            "device": device,
            "train_perplexity": f"{poetry.stream_perplexity(model, streams['train']):.2f}",
            "valid_perplexity": f"{poetry.stream_perplexity(model, streams['valid']):.2f}",
            "test_perplexity": f"{poetry.perplexity(test_logits, streams['test'][1:]):.2f}",
            "mark_recall": f"{marks['mark_recall']:.4f}", "false_marks": f"{marks['false_marks']:.4f}",
            "which_mark": f"{marks['which_mark']:.4f}", "sampled_line_width_fraction": f"{width_fraction:.4f}"})
        print(", ".join(f"{k} {v}" for k, v in results[-1].items()), flush=True)

    curve_columns = ("cell", "step", "train_loss", "train_perplexity", "valid_perplexity", "test_perplexity",
                     "mark_recall", "false_marks", "which_mark", "sampled_line_width_fraction")
    for name, rows, columns in (("tang_training.csv", curve_rows, curve_columns),
                                ("tang_results.csv", results, RESULT_COLUMNS)):
        with open(args.out / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
    sizes = sum((args.out / f"tang_{cell}.npz").stat().st_size for cell in CELLS)
    print(f"total {time.perf_counter() - start:.0f} s; checkpoints {sizes / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
