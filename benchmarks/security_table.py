"""The adversarial corpus (tests/security_corpus.py) through plain ``nbgrader autograde`` and through this grader.

Builds a temporary copy of the course with 02-gru-numpy released by nbgrader (with its gradebook), grades every
case with ``python -m autograder grade`` (one run, parallel workers, the sandbox when it works here) and with
``nbgrader autograde`` (each case in its own fresh course copy, because several attacks damage the course),
and prints a Markdown table: attack | nbgrader outcome | this grader's outcome.

For nbgrader the outcome is what its gradebook says (score incl. extra credit), plus what the attack achieved:
the marker it printed when it succeeded (e.g. LEAKED-HIDDEN-TESTS), a connection it made, a process it left
running, a gradebook that no longer opens. For this grader it is the grades.csv row (score, status, flags); the
script fails if that differs from what the corpus expects or if any attack's marker shows in its output.

    /tmp/venv/bin/python benchmarks/security_table.py                      # writes benchmarks/results/...md
    /tmp/venv/bin/python benchmarks/security_table.py --only fork,network   # a few cases, table on stdout only
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]

import security_corpus as sc  # noqa: E402
from autograder.safety import csv_cell, file_stem  # noqa: E402
from bench_autograder import _env, make_course  # noqa: E402

OUT = REPO / "benchmarks" / "results" / "security_table.md"
NBGRADER_TIMEOUT = 900


class Listener:
    """A local TCP port that records who connected (the network attack's target)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(1000))
                except OSError:
                    self.received.append(b"")


def _outputs_text(path):
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:
        return ""
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells])


# -- this grader ----------------------------------------------------------------------------------------------------

def run_ours(root, ctx, cases, workers):
    submissions = sc.write_submissions(ctx, root / "ours" / "submissions", cases)
    out = root / "ours" / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", sc.ASSIGNMENT, str(submissions), "--out",
                           str(out), "--root", str(root), "--workers", str(workers), "--quiet"], cwd=REPO,
                          env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"python -m autograder grade failed:\n{done.stderr[-3000:]}")
    with open(out / "grades.csv") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    outcomes = {}
    for case in cases:  # grades.csv and the file names hold the student id made safe (autograder/safety.py)
        text = sc.outcome(rows[csv_cell(case.student)], case.flags, case.reviewed)
        leaked = case.evidence and any(case.evidence in (_outputs_text(p) if p.suffix == ".ipynb" else p.read_text())
                                       for p in out.glob(f"*/{file_stem(case.student)}.*"))
        outcomes[case.name] = text + (f" -- ATTACK SUCCEEDED ({case.evidence})" if leaked else "")
    return outcomes, done.stderr.splitlines()[0]


# -- nbgrader -------------------------------------------------------------------------------------------------------

def _gradebook_score(root, student):
    from nbgrader.api import Gradebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "gru-course") as gb:
            submission = gb.find_submission(sc.ASSIGNMENT, student)
            return submission.score, submission.max_score


def run_nbgrader_case(template, workdir, case, listener):
    root = workdir / case.name
    shutil.copytree(template, root, symlinks=True)
    ctx = sc.context(root, REPO, port=listener.port)
    staging = sc.write_submissions(ctx, workdir / f"staging-{case.name}", [case])
    folder = root / "autograder" / "submitted" / case.name / sc.ASSIGNMENT  # nbgrader's layout (its own names)
    folder.mkdir(parents=True)
    notebook = case.notebook_file or f"{sc.NOTEBOOK}.ipynb"
    for path in (staging / case.student).iterdir():  # the notebook, under the name nbgrader needs, and its files
        shutil.move(path, folder / (f"{sc.NOTEBOOK}.ipynb" if path.name == notebook else path.name))
    received_before = len(listener.received)
    try:
        done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", sc.ASSIGNMENT, f"--student={case.name}"],
                              cwd=root / "autograder", env=_env(), capture_output=True, text=True,
                              timeout=NBGRADER_TIMEOUT)
        returncode, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        returncode, stderr = None, ""
    notes = []
    executed = root / "autograder" / "autograded" / case.name / sc.ASSIGNMENT
    text = _outputs_text(executed / f"{sc.NOTEBOOK}.ipynb")
    if case.evidence and case.evidence in text:
        notes.append({"LEAKED-HIDDEN-TESTS": "hidden tests leaked into the output",
                      "GRADEBOOK-WRITTEN": "wrote the gradebook",
                      "PROBE-FOUND": "saw NBGRADER_EXECUTION", "CONNECTED": "connected to the network",
                      "DISK-FILLED": "wrote 1 GB to the grader's disk",
                      "DELETED-NOTEBOOK": "deleted the graded notebook"}.get(case.evidence, case.evidence))
    sent = [data for data in listener.received[received_before:] if data == sc.NETWORK_PAYLOAD]
    if case.evidence == "CONNECTED" and sent:  # (other cases may connect meanwhile: count only this payload)
        notes.append(f"sent {len(sent[-1])} bytes to a local port")
    pid_file = executed / "forked.pid"
    if pid_file.is_file():
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, 0)
            notes.append("its forked process outlived grading")
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if returncode is None:
        notes.append(f"nbgrader still running after {NBGRADER_TIMEOUT} s")
    elif returncode < 0:
        notes.append(f"nbgrader was killed ({signal.Signals(-returncode).name})")
    elif returncode != 0:
        notes.append("nbgrader failed" + (f" ({_nbgrader_error(stderr)})" if _nbgrader_error(stderr) else ""))
    try:
        score, max_score = _gradebook_score(root, case.name)
        result = f"{score:g}/{max_score:g}"
    except Exception as exc:
        result = "no score" if "No such" in str(exc) or "does not exist" in str(exc).lower() else \
            f"no score (gradebook unreadable: {type(exc).__name__})"
    shutil.rmtree(root, ignore_errors=True)
    return result + (f"; {'; '.join(notes)}" if notes else "")


def _nbgrader_error(stderr):
    """The last exception nbgrader reports (its ERROR lines mostly say "see the traceback above")."""
    exceptions = [(name, text) for name, text in re.findall(r"^\s*(?:\w+\.)*(\w*(?:Error|Exception)): (.+)$",
                                                            stderr, re.M) if "NbGrader" not in name]
    if exceptions:  # the cause, not nbgrader's "There was an error processing assignment ..."
        return f"{exceptions[-1][0]}: {exceptions[-1][1]}"[:110].strip()
    errors = [line.split("] ", 1)[-1] for line in stderr.splitlines() if "| ERROR]" in line
              and "Please see" not in line]
    return errors[-1][:110].strip() if errors else ""


def run_nbgrader(template, workdir, cases, listener, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {case.name: pool.submit(run_nbgrader_case, template, workdir, case, listener) for case in cases}
        return {name: future.result() for name, future in futures.items()}


def _nbgrader_version():
    import nbgrader
    return nbgrader.__version__


def table(cases, theirs, ours, sandbox_line):
    lines = [f"Adversarial corpus of 02-gru-numpy (tests/security_corpus.py, {len(cases)} cases, 10 points), graded "
             f"by `nbgrader autograde` {_nbgrader_version()} and by `python -m autograder grade`. Regenerate with "
             "`python benchmarks/security_table.py`.", "",
             f"This grader ran with: {sandbox_line}", "",
             "Outcomes: score/max for nbgrader (from its gradebook) with what the attack achieved; score/max, "
             "status and [flags] (by prefix) of grades.csv for this grader.", "",
             f"| attack | nbgrader {_nbgrader_version()} outcome | this grader's outcome |", "|---|---|---|"]
    lines += [f"| {case.attack} | {theirs[case.name]} | {ours[case.name]} |" for case in cases]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="parallel workers of each grader (default 2)")
    parser.add_argument("--only", help="comma-separated case names (the table is then only printed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    cases = [sc.BY_NAME[name] for name in args.only.split(",")] if args.only else list(sc.CASES)
    workdir = Path(tempfile.mkdtemp(prefix="security-table-"))
    listener = Listener()
    try:
        template = workdir / "template"
        template.mkdir()
        make_course(template)  # nbgrader generate_assignment with the gradebook
        root = workdir / "ours-course"
        shutil.copytree(template, root)
        ours, sandbox_line = run_ours(root, sc.context(root, REPO, port=listener.port), cases, args.workers)
        print(f"this grader done ({sandbox_line})", file=sys.stderr, flush=True)
        theirs = run_nbgrader(template, workdir, cases, listener, args.workers)
        text = table(cases, theirs, ours, sandbox_line)
        print(text)
        if not args.only:
            OUT.parent.mkdir(parents=True, exist_ok=True)
            OUT.write_text(text)
            print(f"wrote {OUT.relative_to(REPO)}", file=sys.stderr)
        wrong = [case.name for case in cases if ours[case.name] != case.expected()]
        if wrong:
            sys.exit(f"this grader's outcome differs from the corpus' expectation for: {', '.join(wrong)}")
    finally:
        listener.server.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
