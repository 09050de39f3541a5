"""The Chinese edition works like the English one: its instructor notebooks run top to bottom with the solutions,
and ``python -m autograder grade`` gives a Chinese hand-in the score of the same answers handed in in English."""

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from i18n import catalogs, editions

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
TRANSLATED = editions.translated_assignments(ROOT, LANGUAGE)
BIN = str(Path(sys.executable).parent)


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_autograded_test(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", TRANSLATED)
def test_the_chinese_instructor_notebook_executes_and_passes_its_checks(assignment, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    path = editions.instructor_dir(ROOT, LANGUAGE) / assignment / catalogs.english_notebook(ROOT, assignment).name
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))  # what jupyter_server tells a notebook's kernel
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # an English machine: the notebook decides, not the locale
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"{path.relative_to(ROOT)} executed in {time.perf_counter() - start:.1f} s")
    tests = [cell for cell in notebook.cells if is_autograded_test(cell)]
    assert tests
    for cell in tests:
        text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
        assert "隐藏检查通过" in text, f"{cell.id} printed {text!r}"  # in the notebook's language


@pytest.mark.slow
@pytest.mark.parametrize("assignment", TRANSLATED)
def test_a_chinese_hand_in_scores_like_the_same_answers_in_english(assignment, tmp_path):
    """The model answers, and the model answers with the first graded function broken during its test, handed in
    in each edition: the same score, status and flags (apart from restored-locked) in both."""
    from autograder.assignment import load_assignment
    from autograder.corpus import broken, solved

    name = catalogs.english_notebook(ROOT, assignment).name
    test_id, item = next(iter(load_assignment(ROOT, assignment).tests.items()))  # the first graded function
    hand_ins = tmp_path / "hand-ins"
    for language, course, solutions in (("en", ROOT / "course", ROOT / "solutions"),
                                        ("zh", editions.student_dir(ROOT, LANGUAGE),
                                         editions.instructor_dir(ROOT, LANGUAGE))):
        answers = solved(nbformat.read(course / assignment / name, as_version=4),
                         nbformat.read(solutions / assignment / name, as_version=4))
        for student, notebook in ((f"{language}_solved", answers),
                                  (f"{language}_one_wrong", broken(answers, test_id, item.target))):
            (hand_ins / student).mkdir(parents=True)
            nbformat.write(notebook, hand_ins / student / name)
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(hand_ins),
                                "--out", str(out), "--workers", "1", "--quiet"],
                               cwd=ROOT, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")})
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    for case in ("solved", "one_wrong"):
        en, zh = rows[f"en_{case}"], rows[f"zh_{case}"]
        print(f"{case}: en {en['score']}/{en['max_score']} {en['status']} [{en['flags']}]; "
              f"zh {zh['score']}/{zh['max_score']} {zh['status']} [{zh['flags']}]")
        assert (zh["score"], zh["max_score"], zh["status"]) == (en["score"], en["max_score"], en["status"])
        # The grader runs the English instructor's locked cells in place of the translated ones and says so;
        # that is the only difference it may see.
        extra = [flag for flag in zh["flags"].split(";") if flag and flag not in en["flags"].split(";")]
        assert all(flag.startswith("restored-locked:") for flag in extra), extra
    assert float(rows["en_solved"]["score"]) == float(rows["en_solved"]["max_score"]) > 0
    assert float(rows["en_one_wrong"]["score"]) == float(rows["en_solved"]["score"]) - item.points
