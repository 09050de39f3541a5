"""Fast tests of the autograder's parts that need no kernel: reading, merging, judging, discovery, reports."""

import base64
import copy
import io
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
from autograder.cleanroom import Room, RoomCell, Unavailable
from autograder.config import GradingConfig
from autograder.discover import extract_zip, find_submissions
from autograder.judging import clean_outcomes, judge_result
from autograder.kernel import LAUNCHER, CellRun, KernelLimits, Outputs, kernel_command
from autograder.outcomes import ItemResult, ManualResult, SubmissionResult
from autograder.reports import feedback_html, results_json
from autograder.roomrun import _judge_item
from autograder.sessions import copy_files
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


def test_output_cap_counts_metadata_and_keys_not_only_data():
    """25 displays of "." with 2 MB of metadata each once made a 50 MB executed notebook."""
    outputs = Outputs(limit=10_000)
    for _ in range(25):
        outputs.rich("display_data", {"data": {"text/plain": "."}, "metadata": {"pad": "m" * 2_000_000}})
    for _ in range(25):
        outputs.rich("display_data", {"data": {"text/plain": "."}, "metadata": {"k" * 20_000: 1}})
    outputs.rich("display_data", {"data": {"text/plain": "kept"}, "metadata": {}})
    items = outputs.finish()
    assert [item["data"]["text/plain"] for item in items if item["output_type"] == "display_data"] == ["kept"]
    assert len(json.dumps(items)) < 10_000 and "bytes of output were dropped" in items[-1]["text"]


# -- judging what a clean room sent back, in the grader's process (autograder/judging.py) -------------------------

ROOM = Room(syn.ASSIGNMENT, absent=("torch",), helpers=(), items=("test_double",), setup_cells=("setup",))


def _payloads(data):
    """What a room publishes for one item: the packed result as base64 text."""
    return [base64.b64encode(data if isinstance(data, bytes) else pack(data)).decode("ascii")]


def _outcomes(fn, seed=7):
    return call_learner(syn.DOUBLE, fn, cases_for(syn.DOUBLE, seed, True))


def _judge(data, seed=7, max_bytes=10**6, explain=lambda error: error):
    return judge_result(syn.DOUBLE, cases_for(syn.DOUBLE, seed, True), _payloads(data), max_bytes, explain)


def test_judge_passes_right_outputs_and_names_the_mistake():
    right = _judge({"missing": False, "outcomes": _outcomes(lambda x: 2 * x)})
    assert (right.passed, right.message, right.flag) == (True, "double: all 4 cases pass.", None)
    wrong = _judge({"missing": False, "outcomes": _outcomes(lambda x: x)})
    assert not wrong.passed and "x was returned unchanged" in wrong.message and wrong.flag is None


def test_judge_uses_the_cases_the_grader_drew_not_the_rooms():
    """Outputs right for other cases (e.g. the public seed) fail on the grader's secret cases."""
    assert _judge({"missing": False, "outcomes": _outcomes(lambda x: 2 * x, 1)}, seed=2).passed is False


def test_a_room_cannot_send_a_verdict():
    """Only outputs cross: keys that look like a verdict are ignored, wrong outputs still fail."""
    forged = {"missing": False, "passed": True, "message": "double: all 4 cases pass.", "score": 2,
              "outcomes": _outcomes(lambda x: x)}
    judgement = _judge(forged)
    assert not judgement.passed and "x was returned unchanged" in judgement.message


def _string_outcomes():
    return [{"output": "yes", "error": None, "modified_input": False, "warnings": (), "measures": {}}] * 4


@pytest.mark.parametrize("data, expected", [
    ({"missing": True, "outcomes": ()}, "double is not defined"),
    ({"missing": False, "outcomes": (), "crash": "TypeError: unhashable"}, "failed: TypeError: unhashable"),
    ({"missing": False, "outcomes": [{"output": 1.0}] * 4}, "cannot read"),
    ({"missing": False, "outcomes": [{"output": 1.0, "error": 3, "modified_input": False}] * 4}, "cannot read"),
    ({"missing": False, "outcomes": [{"output": 1.0, "error": None, "modified_input": False}]}, "1 outcomes for 4"),
    ({"missing": False, "outcomes": _string_outcomes()}, "4 of 4 cases fail"),
    ({"outcomes": "all passed"}, "cannot read"),
    ("not a dict", "cannot read"),
    (b"\x80\x04pickle?", "cannot read"),
])
def test_judge_refuses_whatever_the_room_made_up(data, expected):
    judgement = _judge(data)
    assert not judgement.passed and expected in judgement.message, judgement.message


def test_a_missing_target_is_said_in_the_judgement_not_only_in_its_words():
    assert _judge({"missing": True, "outcomes": ()}).missing
    assert not _judge({"missing": False, "outcomes": _outcomes(lambda x: x)}).missing
    assert not _judge({"missing": False, "outcomes": (), "crash": "TypeError: unhashable"}).missing


class _RoomSession:
    """A room's session that answers every evaluation with ``data`` (what roomrun._judge_item asks of it)."""

    def __init__(self, data):
        self.data, self.gave_up = data, None

    def run(self, code, replay=True):
        return CellRun("ok", [], None, 0.0, True, results=_payloads(self.data))


@pytest.mark.parametrize("language, expected", [
    ("en", "double is not defined. Its cell (code cell 3 under '2. Double') stopped with ModuleNotFoundError: "
           "No module named 'torch'."),
    ("zh_CN", "double 没有定义。定义它的单元格（code cell 3 under '2. Double'）因 ModuleNotFoundError: No module "
              "named 'torch' 而中止。"),
])
def test_a_missing_target_names_the_cell_that_stopped_before_defining_it(language, expected):
    cell = RoomCell("answer", "code cell 3 under '2. Double'", ("import torch", "def double(x):\n    return 2 * x"),
                    True)
    failed = {"answer": (cell.title, "ModuleNotFoundError: No module named 'torch'")}
    result = _judge_item(syn.DOUBLE, "test_double", _RoomSession({"missing": True, "outcomes": ()}),
                         cases_for(syn.DOUBLE, 7, True), GradingConfig(), Unavailable(ROOM), [cell],
                         failed, [], language)
    assert not result.passed and result.message == expected


def test_judge_rejects_object_arrays_and_huge_or_missing_results():
    buffer = io.BytesIO()
    np.savez(buffer, __layout__=np.array([1], dtype=object))
    assert _judge(buffer.getvalue()).flag == "bad-result"
    assert _judge({"missing": False, "outcomes": _outcomes(lambda x: 2 * x)}, max_bytes=10).flag == \
        "result-too-large"
    nothing = judge_result(syn.DOUBLE, cases_for(syn.DOUBLE, 7, True), [], 10**6)
    assert (nothing.passed, nothing.flag) == (False, "no-result") and "produced no result" in nothing.message
    assert judge_result(syn.DOUBLE, cases_for(syn.DOUBLE, 7, True), _payloads({"missing": True}) * 2, 10**6).flag \
        == "bad-result"  # a second result published next to the real one


def test_a_string_array_output_fails_without_crashing_the_judge():
    outcomes = [{"output": np.array(["a", "b"]), "error": None, "modified_input": False, "warnings": ()}] * 4
    judgement = _judge({"missing": False, "outcomes": outcomes})
    assert not judgement.passed and "double" in judgement.message


def test_an_absent_module_is_explained_to_the_learner():
    """A graded function that needs torch where torch is absent fails with a sentence that says why."""
    error = "ModuleNotFoundError: No module named 'torch'"
    outcomes = [{"output": None, "error": error, "modified_input": False, "warnings": (), "measures": {}}] * 4
    judgement = _judge({"missing": False, "outcomes": outcomes}, explain=Unavailable(ROOM).explain)
    assert not judgement.passed and "torch is not available to graded code in 00-synthetic" in judgement.message


def test_clean_outcomes_keeps_only_plain_fields():
    data = {"outcomes": tuple({"output": 1.0, "error": "E" * 5000, "modified_input": False, "warnings": ("w",) * 50,
                               "measures": {"python_lines": 3}, "extra": "ignored"} for _ in range(2))}
    outcomes = clean_outcomes(data, 2)
    assert set(outcomes[0]) == {"output", "error", "modified_input", "warnings", "measures"}
    assert len(outcomes[0]["error"]) == 2000 and len(outcomes[0]["warnings"]) == 20
    with pytest.raises(ValueError, match="finite"):
        clean_outcomes({"outcomes": ({"output": 1.0, "error": None, "modified_input": False,
                                      "measures": {"python_lines": float("nan")}},)}, 1)


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
    student = tmp_path / "student"
    (student / "data").mkdir(parents=True)
    (student / "data" / "x.csv").write_text("1,2")
    (student / "notebook.ipynb").write_text("{}")
    (student / "secret").symlink_to("/etc/hostname")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert copy_files([student], scratch, 10**6)
    assert sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")) == ["data", "data/x.csv"]
    assert not copy_files([student], scratch, 2)
