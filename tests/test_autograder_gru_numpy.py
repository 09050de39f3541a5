"""The grader on the real 02-gru-numpy notebook: released by nbgrader in a temporary copy of the course, then
a solved notebook (full marks), a blank one (zero) and one broken function per item (loses exactly that item)."""

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import corpus
from autograder.assignment import load_assignment
from autograder.cli import main

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "02-gru-numpy"
SOURCE = REPO / "solutions" / ASSIGNMENT / "gru_numpy.ipynb"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not SOURCE.exists(), reason=f"{SOURCE.relative_to(REPO)} does not exist yet")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder")
    assert main(["release", ASSIGNMENT, "--root", str(root)]) == 0
    assignment = load_assignment(root, ASSIGNMENT)
    released = nbformat.read(root / "course" / ASSIGNMENT / SOURCE.name, as_version=4)
    solved = corpus.solved(released, assignment.notebook)
    submissions = root / "submissions"
    notebooks = {"solved": solved, "blank": released}
    for gid, item in assignment.tests.items():
        notebooks[f"broken-{item.target}"] = corpus.broken(solved, gid, item.target)
    for student, notebook in notebooks.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / SOURCE.name)
    out = root / "out"
    assert main(["grade", ASSIGNMENT, str(submissions), "--out", str(out), "--root", str(root), "--workers", "2",
                 "--quiet"]) == 0
    with open(out / "grades.csv") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    return assignment, rows, out


def test_solved_notebook_gets_full_marks(graded):
    assignment, rows, _ = graded
    assert (rows["solved"]["status"], float(rows["solved"]["score"])) == ("graded", assignment.autograded_max)
    assert rows["solved"]["flags"] == ""  # no review finding, and nothing failed in the clean room or the full run


def test_blank_notebook_gets_zero(graded):
    _, rows, out = graded
    assert (rows["blank"]["status"], rows["blank"]["score"]) == ("graded", "0")
    messages = [t["output"] for t in json.loads((out / "results" / "blank.json").read_text())["tests"]]
    assert all("NotImplementedError" in message for message in messages)


def test_each_broken_function_loses_exactly_its_item(graded):
    assignment, rows, out = graded
    for gid, item in assignment.tests.items():
        student = f"broken-{item.target}"
        assert float(rows[student]["score"]) == assignment.autograded_max - item.points, rows[student]
        tests = json.loads((out / "results" / f"{student}.json").read_text())["tests"]
        assert [t["name"].split()[0] for t in tests if t["status"] == "failed"] == [gid]
