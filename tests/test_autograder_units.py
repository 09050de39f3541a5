"""Fast tests of the autograder's parts that need no kernel: reading, merging, judging, discovery, reports."""

import copy
import json
import subprocess
import sys
import zipfile

import nbformat
import numpy as np
import pytest

import autograder_synthetic as syn
import coursekit.items
from autograder.assignment import AssignmentError, load_assignment
from autograder.discover import extract_zip, find_submissions
from autograder.engine import ManualResult, SubmissionResult, ItemResult, judge_file
from autograder.kernel import LAUNCHER, KernelLimits, Outputs, kernel_command
from autograder.reports import feedback_html, results_json
from autograder.submission import SubmissionError, merge, read_notebook
from coursekit.checking import call_learner, cases_for, pack


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setitem(coursekit.items.ASSIGNMENTS, syn.ASSIGNMENT, syn.REGISTRY)
    return syn.make_course(tmp_path / "course")


@pytest.fixture
def assignment(course):
    return load_assignment(course, syn.ASSIGNMENT)


def _cells(notebook):
    return {cell.get("id"): cell for cell in notebook.cells}


# -- the instructor notebook is checked against the items ----------------------------------------------------------

def test_assignment_lists_tests_and_written_answers(assignment):
    assert list(assignment.tests) == ["test_double", "test_square", "test_negate"]
    assert assignment.autograded_max == 6 and assignment.manual == {"why_square": 1.0}
    assert "numpy" in assignment.warm_imports()
    released = {cell.get("id"): cell.source for cell in assignment.released}
    assert "HIDDEN" not in released["double-test"] and "raise NotImplementedError" in released["double-solution"]


def test_assignment_with_points_that_differ_from_the_item_is_refused(course):
    path = course / "solutions" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    _cells(notebook)["square-test"].metadata.nbgrader.points = 5
    nbformat.write(notebook, path)
    with pytest.raises(AssignmentError, match="worth 5 points in the notebook but its item is worth 3"):
        load_assignment(course, syn.ASSIGNMENT)


def test_assignment_with_a_test_cell_without_item_is_refused(course):
    path = course / "solutions" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    _cells(notebook)["square-test"].metadata.nbgrader.grade_id = "test_cube"
    nbformat.write(notebook, path)
    with pytest.raises(AssignmentError, match="test_cube"):
        load_assignment(course, syn.ASSIGNMENT)


def test_unknown_assignment_names_the_known_ones(course):
    with pytest.raises(AssignmentError, match="00-synthetic"):
        load_assignment(course, "99-nothing")


# -- reading a submission -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, flag", [
    (b"", "empty-file"),
    (b'{"cells": [{"cell_type": "code", "sou', "not-json"),
    (b"\xff\xfe\x00garbage", "not-utf8"),
    (b'{"hello": "world"}', "not-a-notebook"),
    (b'[1, 2, 3]', "not-a-notebook"),
    (b'{"cells": [{"cell_type": "widget", "source": "x", "metadata": {}}], "metadata": {}, "nbformat": 4, '
     b'"nbformat_minor": 5}', "not-a-notebook"),
])
def test_unreadable_files_get_a_clear_flag(tmp_path, content, flag):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError) as info:
        read_notebook(path)
    assert info.value.flag == flag and "nb.ipynb" in str(info.value)


def test_truncated_file_is_called_truncated(tmp_path, assignment):
    text = json.dumps(syn.student_version(assignment))
    path = syn.write(text[: len(text) // 2], tmp_path / "nb.ipynb")
    with pytest.raises(SubmissionError, match="truncated"):
        read_notebook(path)


def test_a_notebook_with_list_sources_reads(tmp_path, assignment):
    data = json.loads(json.dumps(syn.student_version(assignment)))
    for cell in data["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    path = syn.write(json.dumps(data), tmp_path / "nb.ipynb")
    assert read_notebook(path).cells[1].source.startswith("import numpy")


# -- merging with the instructor's version --------------------------------------------------------------------------

def test_untouched_student_notebook_merges_without_flags(assignment):
    merged = merge(assignment, syn.student_version(assignment))
    assert merged.flags == []
    assert [c.get("id") for c in merged.notebook.cells] == [c.get("id") for c in assignment.notebook.cells]


def test_edited_locked_cell_is_restored_and_flagged(assignment):
    notebook = syn.student_version(assignment)
    _cells(notebook)["setup"].source = "import numpy as np\nnp.ones = None"
    _cells(notebook)["double-test"].source = "pass  # all good"
    merged = merge(assignment, notebook)
    assert {"restored-locked:setup", "restored-locked:test_double"} <= set(merged.flags)
    cells = _cells(merged.notebook)
    assert "np.ones" not in cells["setup"].source and cells["double-test"].source.startswith("check(")


def test_deleted_test_and_setup_cells_are_put_back_in_place(assignment):
    notebook = syn.student_version(assignment)
    notebook.cells = [c for c in notebook.cells if c.get("id") not in ("square-test", "setup")]
    merged = merge(assignment, notebook)
    assert {"restored-deleted:test_square", "restored-deleted:setup"} <= set(merged.flags)
    ids = [c.get("id") for c in merged.notebook.cells]
    assert ids.index("setup") < ids.index("double-solution")
    assert ids.index("square-solution") < ids.index("square-test") < ids.index("why-square")


def test_hidden_tests_never_enter_the_graded_notebook(assignment):
    notebook = syn.student_version(assignment)
    notebook.cells = [c for c in notebook.cells if c.get("id") != "negate-test"]
    merged = merge(assignment, notebook)
    assert all("HIDDEN" not in cell.source for cell in merged.notebook.cells)


def test_stripped_metadata_is_restored_by_cell_id_then_grade_id(assignment):
    notebook = syn.student_version(assignment)
    cells = _cells(notebook)
    del cells["double-solution"].metadata["nbgrader"]
    cells["square-solution"]["id"] = "renamed-by-jupyter"
    cells["square-solution"].source = "def square(x):\n    return x ** 2"
    merged = merge(assignment, notebook)
    assert "restored-metadata:double" in merged.flags
    square = [c for c in merged.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square"]
    assert len(square) == 1 and square[0].source.endswith("x ** 2") and square[0].get("id") == "square-solution"


def test_a_learner_cell_cannot_pose_as_a_test_cell(assignment):
    notebook = syn.student_version(assignment)
    fake = copy.deepcopy(_cells(notebook)["double-test"])
    fake["id"] = "my-own"
    fake.metadata.nbgrader.grade_id = "test_bonus"
    fake.metadata.nbgrader.points = 100
    notebook.cells.append(fake)
    merged = merge(assignment, notebook)
    assert "nbgrader" not in merged.notebook.cells[-1].metadata


def test_duplicated_test_cell_loses_its_metadata(assignment):
    notebook = syn.student_version(assignment)
    notebook.cells.append(copy.deepcopy(_cells(notebook)["double-test"]))
    merged = merge(assignment, notebook)
    assert "duplicate-cell:test_double" in merged.flags
    graded = [c for c in merged.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_double"]
    assert len(graded) == 1


def test_notebook_of_another_assignment_is_an_error(assignment):
    """Another notebook of the course shares the title and setup cells, but none of the exercises."""
    other = nbformat.v4.new_notebook(cells=[copy.deepcopy(assignment.notebook.cells[0]),
                                            copy.deepcopy(assignment.notebook.cells[1]),
                                            nbformat.v4.new_code_cell("def sigmoid(x):\n    pass", id="sigmoid")])
    with pytest.raises(SubmissionError) as info:
        merge(assignment, other)
    assert info.value.flag == "wrong-assignment"


# -- the output cap ------------------------------------------------------------------------------------------------

def test_output_cap_cuts_one_giant_line_in_bytes():
    outputs = Outputs(limit=1000)
    outputs.stream("stdout", "é" * 5000)  # 2 bytes each
    items = outputs.finish()
    kept = items[0]["text"]
    assert len(kept.encode()) <= 1000 and set(kept) == {"é"}
    assert "9000 bytes of output were dropped" in items[-1]["text"]


def test_output_cap_counts_rich_outputs_and_keeps_errors():
    outputs = Outputs(limit=100)
    outputs.rich("display_data", {"data": {"image/png": "A" * 500}, "metadata": {}})
    outputs.add_error("ValueError", "bad" * 10_000, ["line"] * 10_000)
    items = outputs.finish()
    assert [item["output_type"] for item in items] == ["error", "stream"]
    assert len(items[0]["evalue"]) <= 8 * 1024 and len("".join(items[0]["traceback"])) <= 9 * 1024


# -- judging the packed result of a check ----------------------------------------------------------------------------

def _result_file(tmp_path, data):
    path = tmp_path / "result.npz"
    path.write_bytes(pack(data) if not isinstance(data, bytes) else data)
    return path


def _outcomes(fn, seed=7):
    return call_learner(syn.DOUBLE, fn, cases_for(syn.DOUBLE, seed, True))


def test_judge_file_passes_right_outputs_and_names_the_mistake(tmp_path):
    right = _result_file(tmp_path, {"missing": False, "forbidden": [], "outcomes": _outcomes(lambda x: 2 * x)})
    assert judge_file(syn.DOUBLE, right, 7, True, 10**6)[:2] == (True, "double: all 4 cases pass.")
    wrong = _result_file(tmp_path, {"missing": False, "forbidden": [], "outcomes": _outcomes(lambda x: x)})
    passed, message, _ = judge_file(syn.DOUBLE, wrong, 7, True, 10**6)
    assert not passed and "x was returned unchanged" in message


def test_judge_file_uses_the_graders_seed_not_the_kernels(tmp_path):
    """Outputs right for other cases (e.g. the public seed) fail on the grader's secret cases."""
    path = _result_file(tmp_path, {"missing": False, "forbidden": [], "outcomes": _outcomes(lambda x: 2 * x, 1)})
    assert judge_file(syn.DOUBLE, path, 2, True, 10**6)[0] is False


@pytest.mark.parametrize("data, expected", [
    ({"missing": True, "outcomes": []}, "double is not defined"),
    ({"missing": False, "forbidden": ["torch"], "outcomes": []}, "uses torch"),
    ({"missing": False, "forbidden": [], "outcomes": [{"output": 1.0}]}, "cannot read"),
    ({"missing": False, "forbidden": [], "outcomes": [{"output": 1.0, "error": 3, "modified_input": False}]},
     "cannot read"),
    ({"missing": False, "forbidden": [], "outcomes": [{"output": "yes", "error": None, "modified_input": False}]},
     "got 1"),
    ("not a dict", "cannot read"),
    (b"\x80\x04pickle?", "cannot read"),
])
def test_judge_file_refuses_whatever_the_kernel_made_up(tmp_path, data, expected):
    passed, message, _ = judge_file(syn.DOUBLE, _result_file(tmp_path, data), 7, True, 10**6)
    assert not passed and expected in message


def test_judge_file_rejects_object_arrays_and_huge_files(tmp_path):
    path = tmp_path / "result.npz"
    buffer = __import__("io").BytesIO()
    np.savez(buffer, __layout__=np.array([1], dtype=object))
    path.write_bytes(buffer.getvalue())
    assert judge_file(syn.DOUBLE, path, 7, True, 10**6)[2] == "bad-result"
    big = _result_file(tmp_path, {"missing": False, "forbidden": [], "outcomes": _outcomes(lambda x: 2 * x)})
    assert judge_file(syn.DOUBLE, big, 7, True, 10)[2] == "result-too-large"
    assert judge_file(syn.DOUBLE, tmp_path / "none.npz", 7, True, 10)[2] == "no-result"


def test_a_string_output_fails_without_crashing_the_judge(tmp_path):
    outcomes = [{"output": np.array(["a", "b"]), "error": None, "modified_input": False, "warnings": []}] * 4
    path = _result_file(tmp_path, {"missing": False, "forbidden": [], "outcomes": outcomes})
    passed, message, _ = judge_file(syn.DOUBLE, path, 7, True, 10**6)
    assert not passed and "double" in message


# -- finding submissions -------------------------------------------------------------------------------------------

def _nb(path):
    return syn.write(nbformat.v4.new_notebook(), path)


def test_flat_layout_with_renamed_and_missing_notebooks(tmp_path):
    _nb(tmp_path / "alice" / "synthetic.ipynb")
    _nb(tmp_path / "bob" / "Copy of synthetic.ipynb")
    (tmp_path / "carol").mkdir()
    _nb(tmp_path / "dave" / "a.ipynb"), _nb(tmp_path / "dave" / "b.ipynb")
    _nb(tmp_path / "erin.ipynb")
    found = {s.student_id: s for s in find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK)}
    assert sorted(found) == ["alice", "bob", "carol", "dave", "erin"]
    assert found["alice"].notebook.name == "synthetic.ipynb" and not found["alice"].flags
    assert found["bob"].flags == ["renamed-notebook:Copy of synthetic.ipynb"]
    assert found["carol"].problem[0] == "no-notebook" and found["dave"].problem[0] == "several-notebooks"
    assert found["erin"].notebook.name == "erin.ipynb"


def test_the_output_folder_inside_the_submissions_is_not_a_student(tmp_path):
    _nb(tmp_path / "alice" / "synthetic.ipynb")
    _nb(tmp_path / "out" / "executed" / "alice.ipynb")
    found = find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK, exclude=[tmp_path / "out"])
    assert [s.student_id for s in found] == ["alice"]


def test_nbgrader_layout_with_timestamp(tmp_path):
    folder = tmp_path / "submitted" / "alice" / syn.ASSIGNMENT
    _nb(folder / "synthetic.ipynb")
    (folder / "timestamp.txt").write_text("2024-05-01 10:00:00.000000 UTC")
    (tmp_path / "submitted" / "bob" / syn.ASSIGNMENT).mkdir(parents=True)
    found = find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK)
    assert [(s.student_id, s.timestamp is not None, s.problem is None) for s in found] == \
        [("alice", True, True), ("bob", False, False)]


def test_single_student_in_nbgrader_layout_is_not_unwrapped(tmp_path):
    _nb(tmp_path / "alice" / syn.ASSIGNMENT / "synthetic.ipynb")
    assert [s.student_id for s in find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK)] == ["alice"]


def test_zip_wrapped_in_a_folder_and_unsafe_zip(tmp_path):
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/alice/synthetic.ipynb", json.dumps(nbformat.v4.new_notebook()))
        zf.writestr("export/bob/synthetic.ipynb", "{}")
        zf.writestr("__MACOSX/export/._alice", "junk")
    found = find_submissions(extract_zip(archive, tmp_path / "x"), syn.ASSIGNMENT, syn.NOTEBOOK)
    assert [s.student_id for s in found] == ["alice", "bob"]
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.txt", "x")
    with pytest.raises(SubmissionError, match="unsafe path"):
        extract_zip(evil, tmp_path / "y")
    assert not (tmp_path / "escape.txt").exists()


# -- reports ---------------------------------------------------------------------------------------------------------

def _result():
    tests = [ItemResult("test_double", "double", 2, 2, True, "double: all 4 cases pass."),
             ItemResult("test_square", "square", 3, 0, False, "square: <b>0/4</b> cases pass.")]
    return SubmissionResult("alice<script>", syn.ASSIGNMENT, "graded", 2, 6, ["needs-manual-grading:why_square"],
                            tests, [ManualResult("why_square", 1, True)], 3.25)


def test_results_json_follows_gradescope_schema():
    data = results_json(_result())
    assert data["score"] == 2 and data["execution_time"] == 3.25
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]] == \
        [("test_double (double)", 2, 2, "passed"), ("test_square (square)", 0, 3, "failed")]
    assert all(t["visibility"] == "visible" and t["output"] for t in data["tests"])
    assert "why_square" in data["output"] and data["extra_data"]["needs_manual_grading"] == ["why_square"]
    json.dumps(data)


def test_feedback_escapes_html_and_shows_points():
    page = feedback_html(_result())
    assert "<script>" not in page and "&lt;b&gt;0/4&lt;/b&gt;" in page
    assert "0 / 3" in page and "2 / 2" in page and "graded by hand later" in page


# -- the kernel's launch command and limits ---------------------------------------------------------------------------

def test_every_kernel_starts_through_the_prefix_and_the_launcher():
    command = kernel_command("/tmp/k.json", KernelLimits(address_space=2**30, cpu_seconds=None), ("bwrap", "--"))
    assert command[:2] == ["bwrap", "--"] and str(LAUNCHER) in command
    assert command[command.index("--as") + 1] == str(2**30) and "--cpu" not in command
    assert command[-4:-1] == ["ipykernel_launcher", "-f", "/tmp/k.json"]


def test_launcher_applies_the_limits():
    code = "import resource as r; print(r.getrlimit(r.RLIMIT_FSIZE), r.getrlimit(r.RLIMIT_AS))"
    out = subprocess.run([sys.executable, str(LAUNCHER), "--fsize", "12345", "--as", str(2**31), "--",
                          sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"(12345, 12345) ({2**31}, {2**31})"


def test_launcher_refuses_unknown_options():
    done = subprocess.run([sys.executable, str(LAUNCHER), "--mem", "1", "--", "true"], capture_output=True, text=True)
    assert done.returncode != 0 and "unknown option --mem" in done.stderr


def test_gradebook_url_comes_from_the_course_config(course):
    from autograder.gradebook import course_directory
    coursedir = course_directory(course)
    assert coursedir.db_url == f"sqlite:///{course.resolve() / 'autograder' / 'gradebook.db'}"
    assert coursedir.course_id == "gru-course"
    assert course_directory(course, "sqlite:///elsewhere.db").db_url == "sqlite:///elsewhere.db"


def test_only_regular_files_are_copied_next_to_the_notebook(tmp_path):
    from autograder.engine import _copy_files
    student = tmp_path / "student"
    (student / "data").mkdir(parents=True)
    (student / "data" / "x.csv").write_text("1,2")
    (student / "notebook.ipynb").write_text("{}")
    (student / "secret").symlink_to("/etc/hostname")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert _copy_files([student], scratch, 10**6)
    assert sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")) == ["data", "data/x.csv"]
    assert not _copy_files([student], scratch, 2)
