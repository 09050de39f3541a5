"""The adversarial corpus (tests/security_corpus.py) in ONE ``python -m autograder grade --workers 2`` run: every
attack gets the outcome it must get, nothing it printed shows that it succeeded, the course's files are untouched,
no process survives, and the honest submissions score exactly what they score when graded alone.

Needs the sandbox (bubblewrap; root also needs setpriv): without it several attacks would really reach this
machine's files, so the test is skipped where the sandbox cannot run.
"""

import csv
import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

import security_corpus as sc
from autograder import corpus
from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.safety import csv_cell, file_stem
from autograder.sandbox import _POOL, detect

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "benchmarks" / "results" / "security_table.md"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (REPO / "solutions" / sc.ASSIGNMENT).is_dir(), reason="no 02-gru-numpy yet")]


def _sandbox_or_skip():
    sandbox, note = detect("auto")
    if sandbox is None:
        pytest.skip(note)


def make_course(root):
    """A temporary course root: 02-gru-numpy released by nbgrader, and a stand-in gradebook to protect."""
    shutil.copytree(REPO / "solutions" / sc.ASSIGNMENT, root / "solutions" / sc.ASSIGNMENT)
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    assert main(["release", sc.ASSIGNMENT, "--root", str(root)]) == 0
    (root / "autograder" / "gradebook.db").write_bytes(b"the instructor's gradebook")
    return root


def grade(root, submissions, out, workers):
    return main(["grade", sc.ASSIGNMENT, str(submissions), "--out", str(out), "--root", str(root),
                 "--workers", str(workers), "--timeout", "60", "--quiet", "--sandbox", "bwrap"])


def read_rows(out):
    with open(out / "grades.csv") as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


def _digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _sandbox_processes(wait=20.0):
    """Processes of the uids this test's kernels ran as (other grading runs on the machine use the same range),
    once the last killed ones had a moment to be reaped."""
    deadline = time.monotonic() + wait
    while True:
        listing = subprocess.run(["ps", "-eo", "uid=,pid=,stat=,args="], capture_output=True, text=True).stdout
        found = [line for line in listing.splitlines() if line.split() and int(line.split()[0]) in _POOL.issued]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    _sandbox_or_skip()
    root = make_course(tmp_path_factory.mktemp("course"))
    before = _digest(root)
    ctx = sc.context(root, REPO)
    submissions = sc.write_submissions(ctx, root.parent / "submissions")
    out = root.parent / "out"
    assert grade(root, submissions, out, workers=2) == 0
    return root, before, out, read_rows(out)


def row_of(rows, case):
    """The grades.csv row of ``case`` (its student id as grades.csv writes it: made safe for spreadsheets)."""
    return rows[csv_cell(case.student)]


def test_every_case_gets_its_outcome_in_exactly_one_row(run):
    _, _, _, rows = run
    assert sorted(rows) == sorted(csv_cell(case.student) for case in sc.CASES)
    got = {case.name: sc.outcome(row_of(rows, case), case.flags, case.reviewed) for case in sc.CASES}
    wrong = {case.name: (got[case.name], case.expected()) for case in sc.CASES if got[case.name] != case.expected()}
    assert not wrong, "\n".join(f"{name}: got {g!r}, expected {w!r}" for name, (g, w) in wrong.items())


def test_honest_habits_are_reported_at_most_never_punished(run):
    _, _, out, rows = run
    for case in sc.CASES:
        if case.reviewed:
            row = row_of(rows, case)
            assert (row["score"], row["status"]) == (f"{sc.MAX_SCORE:g}", "graded"), case.name
            assert all(f.startswith(("policy:", "needs-manual")) for f in row["flags"].split(";") if f), case.name


def test_spreadsheets_terminals_and_file_names_are_safe(run):
    _, _, out, rows = run
    text = (out / "grades.csv").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    assert "'=HYPERLINK" in text  # the formula is shown as text
    first, second = (json.loads((out / "results" / f"{file_stem(name)}.json").read_text())
                     for name in ("victim x", "victim_x"))
    assert (first["score"], second["score"]) == (10, 0)  # neither overwrote the other
    assert file_stem("victim x") != file_stem("victim_x")
    surrogate = row_of(rows, sc.BY_NAME["surrogate-error"])
    assert surrogate["score"] == "6"


def test_executed_notebooks_are_small_and_inert(run):
    _, _, out, _ = run
    for path in (out / "executed").glob("*.ipynb"):
        assert path.stat().st_size < 3 * 2**20, path.name
        notebook = nbformat.read(path, as_version=4)
        # what a renderer turns into HTML: outputs, Markdown and raw cells (code cells are shown as text)
        rendered = json.dumps([cell.get("outputs", []) if cell.cell_type == "code" else cell.source
                               for cell in notebook.cells])
        for active in ("<script", "onerror", "onload", "javascript:", "application/javascript"):
            assert active not in rendered, (path.name, active)
    active = nbformat.read(out / "executed" / f"{file_stem('active-content')}.ipynb", as_version=4)
    assert "<b>hi</b>" in json.dumps([cell.get("outputs", []) for cell in active.cells])  # harmless HTML stays


def test_no_attack_succeeded_in_what_the_grader_wrote(run):
    _, _, out, _ = run
    markers = {case.evidence for case in sc.CASES if case.evidence}
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".ipynb":  # the attacks' sources name their markers: look at outputs only
            notebook = nbformat.read(path, as_version=4)
            text = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
        else:
            text = path.read_text(errors="replace")
        for marker in markers:
            assert marker not in text, (marker, path)
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, path


def test_the_course_files_are_untouched_and_no_process_survives(run):
    root, before, _, _ = run
    assert _digest(root) == before  # gradebook, solutions, released notebooks
    assert _POOL.issued and _sandbox_processes() == []


def test_policy_flags_name_the_test_or_cell_and_the_clean_room_explains_the_lost_points(run):
    _, _, out, rows = run
    assert "policy:reference:test_gru_cell_forward" in rows["torch-vf"]["flags"].split(";")
    assert "policy:reference:test_gru_forward" in rows["course-reference"]["flags"].split(";")
    tests = {t["name"].split()[0]: t for t in json.loads((out / "results" / "torch-vf.json").read_text())["tests"]}
    cell_forward = tests["test_gru_cell_forward"]
    assert cell_forward["score"] == 0
    assert "torch is not available to graded code in 02-gru-numpy" in cell_forward["output"]
    assert tests["test_gru_forward"]["score"] == 4
    sandbox = json.loads((out / "results" / "honest.json").read_text())["extra_data"]["sandbox"]
    assert sandbox.startswith("sandbox: bubblewrap") and "no network" in sandbox


def test_the_disk_filler_hit_its_quota_and_the_giant_line_was_cut(run):
    _, _, out, _ = run
    executed = nbformat.read(out / "executed" / "fill-disk.ipynb", as_version=4)
    text = json.dumps([cell.get("outputs", []) for cell in executed.cells])
    assert re.search(r"stopped after \d+ MB: \[Errno 28\] No space left on device", text)
    assert (out / "executed" / "giant-line.ipynb").stat().st_size < 2 * 2**20


def test_honest_submissions_score_as_they_do_alone(run, tmp_path):
    root, _, _, rows = run
    ctx = sc.context(root, REPO)
    honest = [case for case in sc.CASES if case.name.startswith("honest")]
    alone = sc.write_submissions(ctx, tmp_path / "alone", honest)
    assignment = load_assignment(root, sc.ASSIGNMENT)
    (alone / "broken").mkdir()
    nbformat.write(corpus.broken(ctx.solved, "test_gru_forward", "gru_forward"), alone / "broken" / "gru_numpy.ipynb")
    assert grade(root, alone, tmp_path / "out", workers=1) == 0
    by_itself = read_rows(tmp_path / "out")
    for case in honest:
        assert (by_itself[case.name]["score"], by_itself[case.name]["flags"]) == \
            (rows[case.name]["score"], rows[case.name]["flags"]) == (f"{sc.MAX_SCORE:g}", "")
    assert float(by_itself["broken"]["score"]) == assignment.autograded_max - 4


def test_the_committed_security_table_matches_the_corpus():
    """benchmarks/results/security_table.md: one row per case, this grader's column as the corpus expects."""
    rows = [line for line in TABLE.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in rows[1:]]
    assert [c[0] for c in cells] == [case.attack for case in sc.CASES]
    assert [c[2] for c in cells] == [case.expected() for case in sc.CASES]
    assert all(c[1] for c in cells)  # nbgrader's outcome was measured for every case
    readme = (REPO / "README.md").read_text()
    assert all(line in readme for line in rows), "README.md's Grader security table is not the committed one"
