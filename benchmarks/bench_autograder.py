"""Grading throughput: serial ``nbgrader autograde`` against ``python -m autograder grade --workers 2``.

The same submissions of 02-gru-numpy (a realistic mix: half solved, three in ten with one broken function, two in
ten blank) are graded by both, in a temporary copy of the course, one after the other in the same run. Prints
seconds per submission and the throughput ratio, and fails if any submission gets a different score.

    /tmp/venv/bin/python benchmarks/bench_autograder.py          # 40 submissions
    /tmp/venv/bin/python benchmarks/bench_autograder.py --n 8    # a quick look
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


def make_course(root):
    """A temporary course root with 02-gru-numpy released by nbgrader *with* the gradebook (autograde needs it)."""
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root / "autograder", env=_env(), check=True, capture_output=True)
    return load_assignment(root, ASSIGNMENT)


def make_submissions(root, assignment, n):
    """``n`` notebooks: per ten, 5 solved, 3 with one broken function (each item in turn), 2 blank."""
    released = nbformat.read(root / "course" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    solved = corpus.solved(released, assignment.notebook)
    tests = list(assignment.tests.items())
    pattern = ["solved"] * 5 + ["broken"] * 3 + ["blank"] * 2
    notebooks, broken = {}, 0
    for i in range(n):
        kind = pattern[i % len(pattern)]
        if kind == "broken":
            gid, item = tests[broken % len(tests)]
            broken += 1
            notebooks[f"s{i:03d}-broken-{item.target}"] = corpus.broken(solved, gid, item.target)
        else:
            notebooks[f"s{i:03d}-{kind}"] = solved if kind == "solved" else released
    return notebooks


def run_nbgrader(root, notebooks):
    for student, notebook in notebooks.items():
        folder = root / "autograder" / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NOTEBOOK}.ipynb")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=root / "autograder",
                   env=_env(), check=True, capture_output=True)
    seconds = time.perf_counter() - start
    from nbgrader.api import Gradebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "gru-course") as gb:
            scores = {}
            for student in notebooks:
                submission = gb.find_submission(ASSIGNMENT, student)
                scores[student] = sum(grade.auto_score or 0.0 for notebook in submission.notebooks
                                      for grade in notebook.grades)
    return seconds, scores


def run_autograder(root, notebooks, workers):
    submissions, out = root / "ours" / "submissions", root / "ours" / "out"
    for student, notebook in notebooks.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / f"{NOTEBOOK}.ipynb")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out),
                    "--root", str(root), "--workers", str(workers), "--quiet"], cwd=REPO, env=_env(), check=True,
                   capture_output=True)
    seconds = time.perf_counter() - start
    with open(out / "grades.csv") as file:
        rows = list(csv.DictReader(file))
    return seconds, {row["student_id"]: float(row["score"]) for row in rows}, {r["student_id"]: r for r in rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="number of submissions (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="workers of our grader (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course folder")
    args = parser.parse_args()
    if not (REPO / "solutions" / ASSIGNMENT).is_dir():
        sys.exit(f"solutions/{ASSIGNMENT} does not exist yet")
    root = Path(tempfile.mkdtemp(prefix="bench-autograder-"))
    try:
        assignment = make_course(root)
        notebooks = make_submissions(root, assignment, args.n)
        print(f"{args.n} submissions of {ASSIGNMENT} ({os.cpu_count()} cores; course copy in {root})", flush=True)
        ours_s, ours, rows = run_autograder(root, notebooks, args.workers)
        print(f"  autograder done in {ours_s:.1f} s", flush=True)
        nb_s, nbg = run_nbgrader(root, notebooks)
        print(f"  nbgrader done in {nb_s:.1f} s", flush=True)

        print(f"\n{'grader':<40}{'total s':>10}{'s/submission':>15}{'throughput':>12}")
        print(f"{'nbgrader autograde (serial)':<40}{nb_s:>10.1f}{nb_s / args.n:>15.2f}{1.0:>11.2f}x")
        print(f"{f'python -m autograder grade --workers {args.workers}':<40}{ours_s:>10.1f}"
              f"{ours_s / args.n:>15.2f}{nb_s / ours_s:>11.2f}x")
        differ = {s: (nbg[s], ours.get(s)) for s in notebooks if ours.get(s) != nbg[s]}
        statuses = {row["status"] for row in rows.values()}
        print(f"\nscores: {len(notebooks) - len(differ)}/{len(notebooks)} equal; our statuses: {sorted(statuses)}")
        if differ:
            for student, (theirs, mine) in differ.items():
                print(f"  {student}: nbgrader {theirs} vs autograder {mine} ({rows.get(student, {}).get('flags')})")
            sys.exit("scores differ")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
