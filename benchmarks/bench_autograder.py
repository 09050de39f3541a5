"""Grading throughput: serial ``nbgrader autograde`` against ``python -m autograder grade --workers 2``.

The same submissions of 02-gru-numpy (a realistic mix: half solved, three in ten with one broken function, two in
ten blank) are graded by both, in a temporary copy of the course. The submissions are split into batches and the
two graders alternate batch by batch (and which one goes first), so that a change in the machine's load during the
run hits both alike. Prints seconds per submission and the throughput ratio, and fails if any submission gets a
different score. Our grader runs with its defaults, including the sandbox when it works on this machine (the line
it prints is shown).

    /tmp/venv/bin/python benchmarks/bench_autograder.py          # 40 submissions in 4 batches
    /tmp/venv/bin/python benchmarks/bench_autograder.py --n 8    # a quick look
    /tmp/venv/bin/python benchmarks/bench_autograder.py --compare-sandbox   # ours also with --sandbox none
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import corpus  # noqa: E402
from autograder.assignment import load_assignment  # noqa: E402

ASSIGNMENT = "02-gru-numpy"
NOTEBOOK = "gru_numpy"


def _env():
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic; both must come from this interpreter
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def _timed(command, cwd):
    """(wall seconds, stderr) of running ``command``. (CPU time is not reported: sandboxed kernels are reaped
    inside their own pid namespace, so the grader's process tree does not account for them.)"""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_env(), check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stderr


def make_course(root):
    """A temporary course root with 02-gru-numpy released by nbgrader *with* the gradebook (autograde needs it)."""
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root / "autograder", env=_env(), check=True, capture_output=True)
    return load_assignment(root, ASSIGNMENT)


def make_submissions(root, assignment, n, batches):
    """``n`` notebooks: per ten, 5 solved, 3 with one broken function (each item in turn), 2 blank; student ids
    start with their batch (b0-, b1-, ...)."""
    released = nbformat.read(root / "course" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    solved = corpus.solved(released, assignment.notebook)
    tests = list(assignment.tests.items())
    pattern = ["solved"] * 5 + ["broken"] * 3 + ["blank"] * 2
    notebooks, broken = {}, 0
    for i in range(n):
        kind, batch = pattern[i % len(pattern)], i % batches
        if kind == "broken":
            gid, item = tests[broken % len(tests)]
            broken += 1
            notebooks[f"b{batch}-s{i:03d}-broken-{item.target}"] = corpus.broken(solved, gid, item.target)
        else:
            notebooks[f"b{batch}-s{i:03d}-{kind}"] = solved if kind == "solved" else released
    return notebooks


def run_nbgrader(root, notebooks, batch):
    for student, notebook in notebooks.items():
        folder = root / "autograder" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NOTEBOOK}.ipynb")
    return _timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, f"--student=b{batch}-*"],
                  root / "autograder")


def nbgrader_scores(root, students):
    from nbgrader.api import Gradebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "gru-course") as gb:
            return {student: sum(grade.auto_score or 0.0 for notebook in gb.find_submission(ASSIGNMENT, student)
                                 .notebooks for grade in notebook.grades) for student in students}


def run_autograder(root, notebooks, batch, workers, sandbox=None):
    """Our grader on one batch; ``sandbox`` ("none", ...) is passed as --sandbox (default: the grader's own)."""
    tag = f"-{sandbox}" if sandbox else ""
    submissions, out = root / "ours" / f"b{batch}{tag}", root / "ours" / f"out-b{batch}{tag}"
    for student, notebook in notebooks.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / f"{NOTEBOOK}.ipynb")
    return _timed([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out),
                   "--root", str(root), "--workers", str(workers), "--quiet",
                   *(["--sandbox", sandbox] if sandbox else [])], REPO)


def our_rows(root, batches, sandbox=None):
    rows = {}
    for batch in range(batches):
        with open(root / "ours" / f"out-b{batch}{f'-{sandbox}' if sandbox else ''}" / "grades.csv") as file:
            rows.update({row["student_id"]: row for row in csv.DictReader(file)})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="number of submissions (default 40)")
    parser.add_argument("--batches", type=int, default=0, help="alternating batches (default: one per 10)")
    parser.add_argument("--workers", type=int, default=2, help="workers of our grader (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course folder")
    parser.add_argument("--compare-sandbox", action="store_true",
                        help="also run our grader with --sandbox none on every batch (the sandbox's cost)")
    args = parser.parse_args()
    if not (REPO / "solutions" / ASSIGNMENT).is_dir():
        sys.exit(f"solutions/{ASSIGNMENT} does not exist yet")
    batches = args.batches or max(1, args.n // 10)
    root = Path(tempfile.mkdtemp(prefix="bench-autograder-"))
    try:
        assignment = make_course(root)
        notebooks = make_submissions(root, assignment, args.n, batches)
        print(f"{args.n} submissions of {ASSIGNMENT} in {batches} batch(es); {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
        totals = {"nbgrader": 0.0, "ours": 0.0, **({"ours-none": 0.0} if args.compare_sandbox else {})}
        for batch in range(batches):
            mine = {s: nb for s, nb in notebooks.items() if s.startswith(f"b{batch}-")}
            runs = [("ours", lambda: run_autograder(root, mine, batch, args.workers)),
                    ("nbgrader", lambda: run_nbgrader(root, mine, batch))]
            if args.compare_sandbox:
                runs.append(("ours-none", lambda: run_autograder(root, mine, batch, args.workers, "none")))
            # each batch starts with another grader, so that a change of the machine's load hits all alike
            for name, run in runs[batch % len(runs):] + runs[:batch % len(runs)]:
                wall, stderr = run()
                totals[name] += wall
                if name == "ours" and batch == 0:
                    print(f"  our grader: {stderr.splitlines()[0]}", flush=True)
                print(f"  batch {batch}: {name:<8} {len(mine)} submissions in {wall:6.1f} s "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        rows = our_rows(root, batches)
        ours = {student: float(row["score"]) for student, row in rows.items()}
        nbg = nbgrader_scores(root, notebooks)

        nb_s, ours_s, n = totals["nbgrader"], totals["ours"], args.n
        print(f"\n{'grader':<40}{'total s':>9}{'s/submission':>14}{'throughput':>12}")
        print(f"{'nbgrader autograde (serial)':<40}{nb_s:>9.1f}{nb_s / n:>14.2f}{1.0:>11.2f}x")
        print(f"{f'python -m autograder grade --workers {args.workers}':<40}{ours_s:>9.1f}{ours_s / n:>14.2f}"
              f"{nb_s / ours_s:>11.2f}x")
        if args.compare_sandbox:
            none_s = totals["ours-none"]
            print(f"{'  the same with --sandbox none':<40}{none_s:>9.1f}{none_s / n:>14.2f}{nb_s / none_s:>11.2f}x")
            print(f"\nthe sandbox's cost: {ours_s / none_s:.2f}x the time of the unsandboxed grader")
            unsandboxed = {s: float(row["score"]) for s, row in our_rows(root, batches, "none").items()}
            if unsandboxed != {s: float(row["score"]) for s, row in our_rows(root, batches).items()}:
                sys.exit("scores differ between the sandboxed and the unsandboxed grader")
        differ = {s: (nbg[s], ours.get(s)) for s in notebooks if ours.get(s) != nbg[s]}
        statuses = sorted({row["status"] for row in rows.values()})
        print(f"\nscores: {len(notebooks) - len(differ)}/{len(notebooks)} equal; our statuses: {statuses}; "
              f"load average {os.getloadavg()[0]:.1f} at the end")
        if differ:
            for student, (theirs, mine) in differ.items():
                print(f"  {student}: nbgrader {theirs} vs autograder {mine} ({rows.get(student, {}).get('flags')})")
            sys.exit("scores differ")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
