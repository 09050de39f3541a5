"""End-to-end tests of the autograder on a tiny synthetic assignment (real kernels, real nbgrader release).

The corpus is built from the student notebook that ``python -m autograder release`` generates with nbgrader in a
temporary course root, then graded once by ``python -m autograder grade --workers 2``; the tests read its output.
Scores come from the clean rooms (``double`` in a room without torch, ``square`` and ``negate`` in one with it),
where the learner's cells run one top-level statement at a time: a cell that crashes or hangs after defining its
function keeps that function; the full run of the notebook only makes the executed copy.
"""

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import autograder_synthetic as syn
import coursekit.items
from autograder.cli import main

pytestmark = pytest.mark.slow

TIMEOUT = 5  # seconds per cell; the synthetic cells take milliseconds
LOOP = ("def square(x):\n    return x * x\nimport time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
        "    except KeyboardInterrupt:\n        pass")

# student -> (answers, written answer, expected score)
CORPUS = {
    "full": (syn.CORRECT, "Squares of sums have cross terms.", 6),
    "wrong_double": ({**syn.CORRECT, "double": "return x"}, None, 4),
    "wrong_square": ({**syn.CORRECT, "square": "return 2 * x"}, None, 3),
    "wrong_negate": ({**syn.CORRECT, "negate": "return x"}, None, 5),
    # crashes and endless loops after the def: the def ran (statement by statement), so square keeps its points
    "exit_middle": ({**syn.CORRECT, "square": "def square(x):\n    return x * x\nimport os\nos._exit(1)"}, None, 6),
    "loop": ({**syn.CORRECT, "square": LOOP}, None, 6),
    "big_output": ({**syn.CORRECT, "double": "def double(x):\n    return 2 * x\nprint('y' * 3_000_000)\n"
                                             "for i in range(20_000):\n    print(i)"}, None, 6),
    # a habit the review flags (a variable named torch) on a right answer: full marks, the flag for the instructor
    "flagged_habit": ({**syn.CORRECT, "double": "torch = np\ndef double(x):\n    return 2 * torch.asarray(x)"}, None,
                      6),
    # a graded function that needs torch, in a room where torch is absent: that item only
    # (imported inside the function: the full run, with torch, only defines it, within the short TIMEOUT)
    "needs_torch": ({**syn.CORRECT,
                     "double": "def double(x):\n    import torch\n    return 2 * torch.as_tensor(x).numpy()"}, None, 4),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course root with the synthetic assignment released by nbgrader; items registered here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(coursekit.items.ASSIGNMENTS, syn.ASSIGNMENT, syn.REGISTRY)
        root = syn.make_course(tmp_path_factory.mktemp("course"))
        assert main(["release", syn.ASSIGNMENT, "--root", str(root)]) == 0
        yield root


def released(course):
    return nbformat.read(course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb", as_version=4)


def answered(course, answers, written=None):
    """The released notebook with the solution cells replaced by ``answers``."""
    notebook = released(course)
    for cell in notebook.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if name in answers:
            body = answers[name]
            cell.source = body if body.startswith(("def ", "torch", "import")) else f"def {name}(x):\n    {body}"
        if name == "why_square" and written:
            cell.source = written
    return notebook


def grade(course, submissions, out, *extra):
    return main(["grade", syn.ASSIGNMENT, str(submissions), "--out", str(out), "--root", str(course),
                 "--timeout", str(TIMEOUT), "--quiet", *extra])


def rows(out):
    with open(out / "grades.csv") as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


def results(out, student):
    return json.loads((out / "results" / f"{student}.json").read_text())


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for student, (answers, written, _) in CORPUS.items():
        syn.write(answered(course, answers, written), folder / student / f"{syn.NOTEBOOK}.ipynb")
    syn.write(released(course), folder / "blank" / f"{syn.NOTEBOOK}.ipynb")
    text = json.dumps(answered(course, syn.CORRECT))
    syn.write(text[: len(text) // 3], folder / "corrupted" / f"{syn.NOTEBOOK}.ipynb")
    sabotage = answered(course, syn.CORRECT)
    for cell in sabotage.cells:
        if cell.get("id") == "setup":
            cell.source += "\nnp.asarray = None  # break the checker"
        if cell.get("id") == "square-test":
            cell.source = "pass"
    syn.write(sabotage, folder / "edited_locked" / f"{syn.NOTEBOOK}.ipynb")
    out = tmp_path_factory.mktemp("out")
    assert grade(course, folder, out, "--workers", "2") == 0
    return out


def test_release_generates_the_student_notebook_with_nbgrader(course):
    text = json.dumps(released(course))
    assert "raise NotImplementedError" in text and "BEGIN HIDDEN" not in text and "return 2 * x" not in text


def test_every_submission_has_exactly_one_row(graded):
    table = rows(graded)
    assert sorted(table) == sorted([*CORPUS, "blank", "corrupted", "edited_locked"])
    assert list(next(csv.reader(open(graded / "grades.csv")))) == \
        ["student_id", "assignment", "score", "max_score", "status", "flags", "name", "submitted_at",
         "submitted_from", "late", "days_late", "penalty", "final_score"]
    assert all(row["max_score"] == "6" and row["assignment"] == syn.ASSIGNMENT for row in table.values())


def test_scores_of_the_corpus(graded):
    table = rows(graded)
    for student, (_, _, expected) in CORPUS.items():
        assert float(table[student]["score"]) == expected, (student, table[student])
    assert table["blank"]["score"] == "0" and table["blank"]["status"] == "graded"
    assert table["full"]["status"] == "graded" and table["full"]["flags"] == "needs-manual-grading:why_square"


def test_each_wrong_answer_loses_exactly_its_item(graded):
    for student, lost in (("wrong_double", "test_double"), ("wrong_square", "test_square"),
                          ("wrong_negate", "test_negate")):
        tests = {t["name"].split()[0]: t for t in results(graded, student)["tests"]}
        assert {name for name, t in tests.items() if t["status"] == "failed"} == {lost}
        assert all(t["score"] == (0 if name == lost else t["max_score"]) for name, t in tests.items())
    square = {t["name"].split()[0]: t for t in results(graded, "wrong_square")["tests"]}["test_square"]
    assert "this is 2 * x, not x squared" in square["output"]


def test_corrupted_file_is_an_error_row(graded):
    row = rows(graded)["corrupted"]
    assert (row["status"], row["score"], row["flags"]) == ("error", "0", "not-json")
    assert "truncated" in results(graded, "corrupted")["output"]


def test_os_exit_in_the_middle_keeps_what_ran_before_it(graded):
    """The kernel dies in the square cell, after its def: a new kernel replays what had run, and grading goes on.
    Items before and after pass, and so does square (its def had run); the crash is flagged and reported."""
    row = rows(graded)["exit_middle"]
    assert row["status"] == "incomplete" and "crash:square" in row["flags"] and "policy:exit:square" in row["flags"]
    data = results(graded, "exit_middle")
    assert [t["status"] for t in data["tests"]] == ["passed"] * 3
    assert "the kernel exited with code 1" in data["output"]
    assert data["output"].count("(clean room): the kernel exited with code 1") == 1  # once, though it ran in two rooms


def test_loop_that_swallows_keyboard_interrupt_is_killed(graded):
    row = rows(graded)["loop"]
    assert row["status"] == "incomplete" and "timeout:square" in row["flags"]
    data = results(graded, "loop")
    tests = {t["name"].split()[0]: t for t in data["tests"]}
    assert tests["test_negate"]["status"] == tests["test_square"]["status"] == "passed"  # the def ran before
    # interrupted after TIMEOUT s, killed after the grace period, then a new kernel; in each of the three kernels
    # the cell runs in (the full run, two rooms): far less than the minutes of an unbounded loop
    assert data["execution_time"] < 90
    executed = nbformat.read(graded / "executed" / "loop.ipynb", as_version=4)
    notes = [o.text for c in executed.cells if c.get("id") == "square-solution" for o in c.outputs
             if o.output_type == "stream"]
    assert any("ignored the interrupt, so the kernel was killed" in text for text in notes)


def test_megabytes_of_output_are_capped(graded):
    assert rows(graded)["big_output"]["status"] == "graded"
    executed = nbformat.read(graded / "executed" / "big_output.ipynb", as_version=4)
    cell = next(c for c in executed.cells if c.get("id") == "double-solution")
    size = sum(len(o.get("text", "").encode()) for o in cell.outputs)
    assert size <= 64 * 1024 + 500 and "bytes of output were dropped" in cell.outputs[-1].text


def test_a_flagged_habit_costs_nothing_and_reaches_the_instructor(graded):
    """A review finding is a flag only (it once zeroed the item); the clean room's outputs decide the score."""
    row = rows(graded)["flagged_habit"]
    assert (row["score"], row["status"]) == ("6", "graded") and "policy:reference:test_double" in row["flags"]


def test_a_function_that_needs_an_absent_module_loses_that_item_with_a_reason(graded):
    row = rows(graded)["needs_torch"]
    assert row["status"] == "graded" and "policy:reference:test_double" in row["flags"]  # the review saw it too
    tests = {t["name"].split()[0]: t for t in results(graded, "needs_torch")["tests"]}
    assert tests["test_double"]["score"] == 0 and tests["test_square"]["status"] == "passed"
    assert "torch is not available to graded code in 00-synthetic" in tests["test_double"]["output"]
    executed = nbformat.read(graded / "executed" / "needs_torch.ipynb", as_version=4)
    cell = next(c for c in executed.cells if c.get("id") == "double-solution")
    assert not [o for o in cell.outputs if o.output_type == "error"]  # the full run has torch: the copy reads well


def test_edited_locked_and_test_cells_are_restored(graded):
    row = rows(graded)["edited_locked"]
    assert row["score"] == "6" and {"restored-locked:setup", "restored-locked:test_square"} <= \
        set(row["flags"].split(";"))


def test_feedback_shows_messages_but_never_test_source(graded):
    page = (graded / "feedback" / "wrong_square.html").read_text()
    assert "this is 2 * x, not x squared" in page and "3 / 6" in page
    for folder in ("feedback", "results", "executed"):
        for path in (graded / folder).iterdir():
            text = path.read_text()
            assert "hidden=True" not in text and "BEGIN HIDDEN" not in text, path


def test_zip_of_submissions(course, tmp_path):
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"export/ann/{syn.NOTEBOOK}.ipynb", json.dumps(answered(course, syn.CORRECT)))
        zf.writestr(f"export/ben/{syn.NOTEBOOK}.ipynb", json.dumps(released(course)))
    assert grade(course, archive, tmp_path / "out", "--workers", "1") == 0
    table = rows(tmp_path / "out")
    assert {k: (v["score"], v["status"]) for k, v in table.items()} == {"ann": ("6", "graded"),
                                                                         "ben": ("0", "graded")}


def test_nbgrader_layout_recorded_in_the_gradebook(course, tmp_path):
    from nbgrader.api import Gradebook
    submitted = tmp_path / "submitted"
    syn.write(answered(course, {**syn.CORRECT, "negate": "return x"}, "Cross terms."),
              submitted / "ann" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb")
    (submitted / "ann" / syn.ASSIGNMENT / "timestamp.txt").write_text("2024-05-01 10:00:00.000000 UTC")
    syn.write(released(course), submitted / "ben" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert grade(course, submitted, tmp_path / "out", "--gradebook", "--db", db) == 0
    with Gradebook(db, "gru-course") as gb:
        ann = gb.find_submission(syn.ASSIGNMENT, "ann")
        assert ann.score == 5 and ann.max_score == 7  # 6 autograded + 1 written answer
        assert gb.find_grade("test_negate", syn.NOTEBOOK, syn.ASSIGNMENT, "ann").auto_score == 0
        written = gb.find_grade("why_square", syn.NOTEBOOK, syn.ASSIGNMENT, "ann")
        assert written.auto_score is None and written.needs_manual_grade
        assert ann.timestamp.year == 2024
        ben_written = gb.find_grade("why_square", syn.NOTEBOOK, syn.ASSIGNMENT, "ben")
        assert ben_written.auto_score == 0 and not ben_written.needs_manual_grade
        assert gb.find_comment("why_square", syn.NOTEBOOK, syn.ASSIGNMENT, "ben").auto_comment == "No response."
        assert gb.find_submission(syn.ASSIGNMENT, "ben").score == 0
    autograded = course / "autograder" / "autograded" / "ann" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    assert autograded.is_file()


def test_check_command(course, tmp_path, capsys):
    setup = ["--root", str(course), "--timeout", str(TIMEOUT)]
    good = syn.write(answered(course, syn.CORRECT), tmp_path / "good.ipynb")
    assert main(["check", str(good), *setup]) == 0
    assert "3/3 items pass" in capsys.readouterr().out
    bad = syn.write(answered(course, {**syn.CORRECT, "square": "return 2 * x"}), tmp_path / "bad.ipynb")
    assert main(["check", str(bad), *setup]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_square" in out and "this is 2 * x, not x squared" in out and "PASS  test_double" in out


# -- Gradescope: the generated run_autograder, against a fake /autograder, with real items -------------------------

CONCEPT = "01-gru-concept"


def _concept_course(root):
    """A small course root for 01-gru-concept (two of its real items), so a separate process can grade it."""
    def meta(**nbgrader):
        return {"nbgrader": {"schema_version": 3, "grade": False, "solution": False, "locked": False, **nbgrader}}

    def solution(name, args, body):
        return nbformat.v4.new_code_cell(f"def {name}({args}):\n    ### BEGIN SOLUTION\n    {body}\n"
                                         "    ### END SOLUTION", id=name, metadata=meta(solution=True, grade_id=name))

    def test(name, points):
        return nbformat.v4.new_code_cell(
            f"check(get({CONCEPT!r}, 'test_{name}'), {name})\n### BEGIN HIDDEN TESTS\n"
            f"check(get({CONCEPT!r}, 'test_{name}'), {name}, hidden=True)\n### END HIDDEN TESTS",
            id=f"test-{name}", metadata=meta(grade=True, locked=True, grade_id=f"test_{name}", points=points))

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom coursekit.checking import check\n"
                                  "from coursekit.items import get", id="setup", metadata=meta(locked=True,
                                                                                              grade_id="setup")),
        solution("gru_update", "h_prev, n, z", "return (1 - z) * n + z * h_prev"), test("gru_update", 2),
        solution("memory_half_life", "z", "return np.log(0.5) / np.log(z)"), test("memory_half_life", 2)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = Path(root) / "solutions" / CONCEPT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "gru_concept.ipynb")
    return notebook


def test_gradescope_zip_runs_against_a_fake_autograder_root(tmp_path):
    notebook = _concept_course(tmp_path / "course")
    archive = tmp_path / "autograder.zip"
    assert main(["gradescope", CONCEPT, "--out", str(archive), "--root", str(tmp_path / "course"),
                 "--timeout", "30"]) == 0
    fake = tmp_path / "fake"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        zf.extractall(fake / "source")
    assert {"setup.sh", "run_autograder", "autograder/requirements-grading.txt", "pyproject.toml",
            "autograder/grader.py", "coursekit/checking.py", f"solutions/{CONCEPT}/gru_concept.ipynb"} <= set(names)
    assert "pip install" in (fake / "source" / "setup.sh").read_text()
    for cell in notebook.cells:  # the student's answer: gru_update right, memory_half_life upside down
        if cell.get("id") == "memory_half_life":
            cell.source = "def memory_half_life(z):\n    return np.log(z) / np.log(0.5)"
    syn.write(notebook, fake / "submission" / "gru_concept.ipynb")
    (fake / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "ann@example.org"}]}))
    (fake / "results").mkdir()
    env = {**os.environ, "AUTOGRADER_ROOT": str(fake), "AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(fake / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((fake / "results" / "results.json").read_text())
    assert data["score"] == 2 and data["extra_data"]["student_id"] == "ann@example.org"
    statuses = {t["name"].split()[0]: (t["status"], t["score"], t["max_score"]) for t in data["tests"]
                if t["visibility"] == "visible"}  # hidden cases' details: tests/test_autograder_gradescope_e2e.py
    assert statuses == {"test_gru_update": ("passed", 2, 2), "test_memory_half_life": ("failed", 0, 2)}
    assert "upside down" in next(t["output"] for t in data["tests"] if t["status"] == "failed")


def test_ctrl_c_stops_at_once_and_still_writes_every_row(course, tmp_path):
    started = tmp_path / "started"
    sleeper = f"def square(x):\n    return x * x\nopen({str(started)!r}, 'w').close()\nimport time\ntime.sleep(120)"
    folder = tmp_path / "submissions"
    syn.write(answered(course, {**syn.CORRECT, "square": sleeper}), folder / "sleeper" / f"{syn.NOTEBOOK}.ipynb")
    for student in ("later1", "later2"):
        syn.write(released(course), folder / student / f"{syn.NOTEBOOK}.ipynb")
    out = tmp_path / "out"
    argv = ["grade", syn.ASSIGNMENT, str(folder), "--out", str(out), "--root", str(course), "--timeout", "300",
            "--workers", "1", "--quiet",
            "--sandbox", "none"]  # the sleeping cell signals through a file of the host
    grader = ("import sys, autograder_synthetic\nautograder_synthetic.register()\n"
              f"from autograder.cli import main\nsys.exit(main({argv!r}))")  # the grader's process knows the items
    process = subprocess.Popen([sys.executable, "-c", grader], cwd=course, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(Path(syn.__file__).parent)})
    try:
        for _ in range(1200):  # the sleeping cell has started (at most two minutes under load)
            if started.exists() or process.poll() is not None:
                break
            __import__("time").sleep(0.1)
        assert started.exists(), process.stderr.read() if process.poll() is not None else "not started"
        process.send_signal(__import__("signal").SIGINT)
        _, stderr = process.communicate(timeout=60)  # far less than the 120 s sleep or the 300 s timeout
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    table = rows(out)
    assert sorted(table) == ["later1", "later2", "sleeper"]
    assert table["sleeper"]["status"] == "error" and table["sleeper"]["flags"] == "interrupted"
