"""Time every solution notebook, top to bottom, in a fresh kernel (what a learner's Run All costs).

    python benchmarks/bench_notebooks.py [--only 03-gru-backprop ...]

Prints each notebook's wall time and CPU time (kernel included) and the total, against the budgets: 30 s per
notebook (06-vanishing-gradients included: its long runs ship as results, see benchmarks/adding_sweep.py; 60 s for
08-tang-poems, which trains a small language model live) and 90 s for all of them together.
Notebooks run one after another, each in its own folder as cwd, like pytest's notebook tests do.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = {"08-tang-poems": 60.0}  # exceptions to DEFAULT_BUDGET_S: 08 trains a language model live
DEFAULT_BUDGET_S = 30.0
TOTAL_BUDGET_S = 90.0


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="assignment ids to time (default: all)")
    args = parser.parse_args()
    notebooks = sorted(ROOT.glob("solutions/*/*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.parent.name in args.only]
    print(f"{'notebook':<28}{'wall (s)':>10}{'cpu (s)':>9}{'budget':>8}")
    total, over = 0.0, False
    for path in notebooks:
        cpu_before = children_cpu_seconds()
        wall = run(path)
        cpu = children_cpu_seconds() - cpu_before  # the kernel is a child process; its CPU shows once it exits
        budget = BUDGET_S.get(path.parent.name, DEFAULT_BUDGET_S)
        over |= wall > budget
        total += wall
        print(f"{path.parent.name:<28}{wall:>10.1f}{cpu:>9.1f}{budget:>8.0f}  {'ok' if wall <= budget else 'OVER'}")
    over |= total > TOTAL_BUDGET_S
    print(f"{'total':<28}{total:>10.1f}{'':>9}{TOTAL_BUDGET_S:>8.0f}  {'ok' if total <= TOTAL_BUDGET_S else 'OVER'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
