"""A Chinese submission is graded exactly like an English one (autograder/assignment.py's editions): the same
score, no "restored" flag for the translated locked cells it left alone, and the executed notebook in the learner's
language. Uses each assignment that has a generated Chinese edition (solutions-zh/, course-zh/)."""

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import corpus
from autograder.assignment import load_assignment
from autograder.cli import main

REPO = Path(__file__).resolve().parents[1]
TRANSLATED = sorted(p.name for p in (REPO / "solutions-zh").glob("*") if p.is_dir()) if (REPO / "solutions-zh").is_dir() \
    else []

CJK = re.compile(r"[\u4e00-\u9fff]")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not TRANSLATED, reason="no Chinese edition generated yet")]


def _solved(course, solutions, name):
    folder = REPO / course / name
    released = nbformat.read(next(folder.glob("*.ipynb")), as_version=4)
    return corpus.solved(released, nbformat.read(next((REPO / solutions / name).glob("*.ipynb")), as_version=4))


@pytest.mark.parametrize("name", TRANSLATED)
def test_the_same_answers_score_the_same_in_either_edition(name, tmp_path):
    assignment = load_assignment(REPO, name)
    assert "zh" in assignment.editions
    gid, item = next(iter(assignment.tests.items()))
    for edition, course, solutions in (("en", "course", "solutions"), ("zh", "course-zh", "solutions-zh")):
        solved = _solved(course, solutions, name)
        for kind, notebook in (("solved", solved), ("broken", corpus.broken(solved, gid, item.target))):
            path = tmp_path / "in" / f"{edition}-{kind}" / assignment.path.name
            path.parent.mkdir(parents=True)
            nbformat.write(notebook, path)
    assert main(["grade", name, str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    with open(tmp_path / "out" / "grades.csv") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    for kind in ("solved", "broken"):
        assert rows[f"en-{kind}"]["score"] == rows[f"zh-{kind}"]["score"], kind
        assert not [f for f in rows[f"zh-{kind}"]["flags"].split(";") if f.startswith("restored")], kind
    assert float(rows["en-solved"]["score"]) == assignment.autograded_max
    assert float(rows["en-broken"]["score"]) == assignment.autograded_max - item.points
    feedback = {edition: json.loads((tmp_path / "out" / "results" / f"{edition}-broken.json").read_text())
                for edition in ("en", "zh")}
    messages = {edition: next(t["output"] for t in data["tests"] if t["status"] == "failed")
                for edition, data in feedback.items()}
    assert not CJK.search(messages["en"]) and CJK.search(messages["zh"]), messages  # the learner's language
    assert feedback["zh"]["extra_data"]["language"] == "zh_CN"
    page = (tmp_path / "out" / "feedback" / "zh-broken.html").read_text()
    assert '<html lang="zh-CN">' in page and "自动评分" in page
    executed = nbformat.read(tmp_path / "out" / "executed" / "zh-solved.ipynb", as_version=4)
    titles = [cell.source for cell in executed.cells if cell.cell_type == "markdown"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in titles[0]), "the Chinese learner reads a Chinese notebook"
