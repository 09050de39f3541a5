"""The clean room (autograder/cleanroom.py) and what a submission's strings become (autograder/safety.py).

- ``statements``: a cell splits into top-level statements, so that one failing import costs only what needs it;
- ``room_cells``: what runs in a room (the declared setup cells and every cell the learner wrote; never test cells
  or unchanged instructor demo cells);
- ``rooms``: items grouped by the modules they may not use;
- a real bubblewrap room: torch and coursekit's reference modules are not on its filesystem at all, while
  coursekit.harness and the declared helpers are;
- ``safety``: CSV cells, terminal text, file names and inert notebooks.
"""

import copy
import importlib.util
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox as sb
from autograder.assignment import load_assignment, section_titles
from autograder.cleanroom import CheckPoint, RoomCell, RoomFiles, room_cells, rooms, statements
from autograder.kernel import Kernel
from autograder.roomrun import room_setup_code
from autograder.safety import csv_cell, file_stem, file_stems, inert_notebook, printable
from autograder.submission import merge

REPO = Path(__file__).resolve().parents[1]


# -- statements --------------------------------------------------------------------------------------------------

def test_decorators_stay_with_their_function():
    source = "import functools\n@functools.lru_cache\n@staticmethod\ndef f(x):\n    return x\nprint(f(1))"
    assert statements(source) == ("import functools", "@functools.lru_cache\n@staticmethod\ndef f(x):\n    return x",
                                  "print(f(1))")


def test_statements_that_share_a_line_stay_together():
    assert statements("a = 1; b = 2\nc = (3 +\n     4)\n\n# done") == ("a = 1; b = 2", "c = (3 +\n     4)")


def test_magics_and_shell_escapes_become_their_own_statements():
    pieces = statements("%matplotlib inline\nimport numpy as np\n!ls -l\nhelp(np)")
    assert pieces == ("get_ipython().run_line_magic('matplotlib', 'inline')", "import numpy as np",
                      "get_ipython().system('ls -l')", "help(np)")
    cell_magic = statements("%%time\nx = 1\ny = 2")
    assert len(cell_magic) == 1 and cell_magic[0].startswith("get_ipython().run_cell_magic('time'")


def test_code_too_deep_to_parse_or_invalid_is_one_piece_for_the_kernel_to_report():
    deep = "x = 1" + " + 1" * 100_000  # ast.parse raises RecursionError on it
    assert [piece.strip() for piece in statements(deep)] == [deep]
    broken = "def broken(:\n    pass\nprint(1)"
    assert [piece.strip() for piece in statements(broken)] == [broken]
    assert statements("") == statements("   \n# only a comment\n") == ()


# -- what runs in a room -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def a02():
    return load_assignment(REPO, "02-gru-numpy")


def _student(assignment):
    """The student version of the instructor notebook (stubs), as nbgrader releases it."""
    notebook = copy.deepcopy(assignment.notebook)
    notebook.cells = copy.deepcopy(assignment.released)
    return notebook


def _steps(assignment, notebook):
    merged = merge(assignment, notebook)
    (room,) = rooms(assignment)
    return room_cells(assignment, merged, room, section_titles(merged.notebook))


def _labels(assignment, notebook):
    """{label: written by the learner} of the cells that run in the room."""
    return {step.label: step.learner for step in _steps(assignment, notebook) if isinstance(step, RoomCell)}


def test_room_cells_are_the_setup_and_what_the_learner_wrote(a02):
    notebook = _student(a02)
    cells = {cell.get("id"): cell for cell in notebook.cells}
    cells["torch-weights"].source += "\nprint('my note')"  # an edited instructor demo cell
    position = notebook.cells.index(cells["cell-solution"])
    notebook.cells.insert(position, nbformat.v4.new_code_cell("def my_sigmoid(a):\n    return a", id="mine"))
    labels = _labels(a02, notebook)
    solutions = {"gru_cell_forward", "gru_forward", "gru_cell_forward_cho", "gru_cell_forward_stacked",
                 "go-further-answers-02"}
    assert labels == {"setup": False, **dict.fromkeys(solutions, True), "mine": True, "torch-weights": True}
    # never a test cell, never an unchanged demo cell (they need torch, which a 02 room has not)
    assert not {"test_gru_cell_forward", "cell-test", "params-demo", "torch-module", "cho-compare"} & set(labels)
    # a test cell is only the place where its item is judged, after the cells above it
    steps = _steps(a02, notebook)
    order = [step.grade_id if isinstance(step, CheckPoint) else step.label for step in steps]
    assert [step.grade_id for step in steps if isinstance(step, CheckPoint)] == list(a02.tests)
    assert order.index("gru_cell_forward") < order.index("test_gru_cell_forward") < order.index("gru_forward")


def test_an_edited_test_cell_does_not_run_in_a_room(a02):
    notebook = _student(a02)
    next(c for c in notebook.cells if c.get("id") == "cell-test").source = "import coursekit.checking as ck"
    steps = _steps(a02, notebook)  # merge() restores the instructor's test cell, and its code never runs anyway
    assert not any("coursekit.checking" in code for step in steps if isinstance(step, RoomCell)
                   for code in step.statements)
    assert {"test_gru_cell_forward", "cell-test"}.isdisjoint(_labels(a02, notebook))


def test_declared_setup_cells_run_in_the_room():
    a03 = load_assignment(REPO, "03-gru-backprop")
    labels = _labels(a03, _student(a03))
    assert {"setup", "gru-cell-forward-given", "gru-forward-given"} <= set(labels)
    assert not any(labels[label] for label in ("setup", "gru-cell-forward-given", "gru-forward-given"))


def test_rooms_group_items_by_what_they_may_not_use():
    a04 = load_assignment(REPO, "04-torch-gru")
    by_absent = {room.absent: room for room in rooms(a04)}
    assert set(by_absent) == {(), ("torch",)}
    assert "test_gru_param_count" in by_absent[("torch",)].items
    assert {"test_last_valid_output", "test_gru_classifier"} <= set(by_absent[()].items)
    assert sorted(by_absent[()].items + by_absent[("torch",)].items) == sorted(a04.tests)  # each item once
    assert [room.absent for room in rooms(load_assignment(REPO, "02-gru-numpy"))] == [("torch",)]


# -- a real bubblewrap room ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def box():
    found, note = sb.detect("auto", hidden=[REPO])
    if found is None:
        pytest.skip(f"bubblewrap is not usable here, so no sandboxed clean room can start: {note}")
    return found


@pytest.fixture
def room_kernel(box, tmp_path):
    """start(assignment, absent) -> a started kernel of that room, sandboxed as Grader.kernels() makes it."""
    started = []

    def start(name, absent):
        room = next(r for r in rooms(load_assignment(REPO, name)) if r.absent == absent)
        files = RoomFiles(room)
        kernel = Kernel(Path(tempfile.mkdtemp(dir=tmp_path)), setup_code=room_setup_code(room, guard=False),
                        sandbox=box.for_room(files.library, files.covered), runtime_dir=str(tmp_path)).start()
        started.append((kernel, files))
        return kernel

    yield start
    for kernel, files in started:
        kernel.kill()
        files.close()


def _printed(run):
    assert run.status == "ok", (run.status, run.error, run.outputs)
    return "".join(o.get("text", "") for o in run.outputs if o.get("name") == "stdout")


REACH = """\
import importlib, sys
found = {}
for name in %r:
    try:
        importlib.import_module(name)
        found[name] = "imported"
    except ImportError as exc:
        found[name] = type(exc).__name__
print(found, 'guard' in str(sys.meta_path).lower())
"""


@pytest.mark.slow
def test_a_numpy_room_has_neither_torch_nor_the_reference_on_its_filesystem(room_kernel):
    kernel = room_kernel("02-gru-numpy", ("torch",))
    modules = ["torch", "torch.nn", "coursekit.gru", "coursekit.checking", "coursekit.items", "coursekit.checks",
               "coursekit.harness", "coursekit.activations", "numpy"]
    found, guard = _printed(kernel.run(REACH % (modules,))).strip().rsplit(" ", 1)
    assert eval(found) == {**dict.fromkeys(modules[:6], "ModuleNotFoundError"),
                           **dict.fromkeys(modules[6:], "imported")}
    assert guard == "False"  # no import hook: the modules are simply not there (nothing to remove or fool)
    torch_dir = Path(importlib.util.find_spec("torch").origin).parent  # the grader's torch, same path in the room
    probe = (f"import os, coursekit\nprint(os.path.exists({str(torch_dir / 'nn')!r}), "
             f"sorted(os.listdir(os.path.dirname(coursekit.__file__))))")
    exists, listing = _printed(kernel.run(probe)).strip().split(" ", 1)
    assert exists == "False" and eval(listing) == ["__init__.py", "activations.py", "harness.py"]
    # a learner's attempt to reach it by path finds nothing either
    assert _printed(kernel.run("import sys\nsys.path.append('/work/main')\ntry:\n    import coursekit.gru\n"
                               "except ImportError as exc:\n    print(type(exc).__name__)")) == \
        "ModuleNotFoundError\n"


@pytest.mark.slow
def test_a_torch_room_has_torch_but_not_the_reference(room_kernel):
    kernel = room_kernel("04-torch-gru", ())
    modules = ["coursekit.gru", "coursekit.items", "torch", "coursekit.harness"]
    found, _ = _printed(kernel.run(REACH % (modules,), timeout=120)).rsplit(" ", 1)
    assert eval(found) == {"coursekit.gru": "ModuleNotFoundError", "coursekit.items": "ModuleNotFoundError",
                           "torch": "imported", "coursekit.harness": "imported"}


# -- safety: every string from a submission ------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ('=HYPERLINK("evil.example","click me")', '\'=HYPERLINK("evil.example","click me")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("-1.5", "-1.5"),  # a number stays a number
    ("alice", "alice"),
])
def test_csv_cell_never_starts_a_formula(value, expected):
    assert csv_cell(value) == expected


def test_csv_cell_is_one_line_without_tabs_or_escapes():
    cell = csv_cell("a\tb\nc\r\n=d\x1b[31m")
    assert not any(char in cell for char in "\t\n\r\x1b") and cell.startswith("a") and "c" in cell


def test_printable_escapes_escape_sequences_and_lone_surrogates():
    text = printable("ok\x1b[2J\x07 \u202eevil\nnext \udc80 中文")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\\x1b[2J" in text
    assert "\n" in text and "中文" in text and "\udc80" not in text and "next " in text
    text.encode("utf-8")  # writable to any log or terminal (a lone surrogate once crashed the grades writer)
    assert printable("x" * 50, limit=10) == "x" * 10 + "..."


def test_file_stems_are_distinct_for_ids_that_look_alike():
    ids = ["victim x", "victim_x", "Victim_x", "victim/x", "../victim_x", "\udc80", "\x1b[2J"]
    stems = file_stems(ids)
    assert len({stem.lower() for stem in stems.values()}) == len(ids)  # also on case-insensitive file systems
    assert all("/" not in stem and stem.strip(".") == stem and stem.isprintable() for stem in stems.values())
    assert file_stem("victim x") != file_stem("victim_x") == "victim_x"  # a safe id keeps its name
    assert file_stem("victim x") == file_stem("victim x")  # stable across runs


def _notebook(markdown, outputs):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown),
                                           nbformat.v4.new_code_cell("x = 1", outputs=outputs)])


def test_inert_notebook_removes_scripts_handlers_and_javascript():
    outputs = [nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"}),
               nbformat.v4.new_output("display_data", data={
                   "text/html": '<b>bold</b><script>alert(2)</script><img src="x.png" onerror="alert(3)">',
                   "text/plain": "fine", "application/javascript": "alert(4)"}),
               nbformat.v4.new_output("execute_result", data={"text/html": '<a href="javascript:alert(5)">x</a>'},
                                      execution_count=1)]
    markdown = ('# Title\n\nSee [notes](javascript:alert(6)) and <img src="y.png" onerror="alert(7)">'
                "<script>alert(8)</script>")
    notebook = _notebook(markdown, outputs)
    original = copy.deepcopy(notebook)
    inert = inert_notebook(notebook)
    text = nbformat.writes(inert)
    for active in ("<script", "onerror", "javascript:", "application/javascript"):
        assert active not in text, active
    assert notebook == original  # a copy: the notebook passed in is unchanged
    first, second, third = inert.cells[1].outputs
    assert first.data == {"text/plain": "[active content removed by the grader]"}
    assert "<b>bold</b>" in second.data["text/html"] and second.data["text/plain"] == "fine"
    assert "# Title" in inert.cells[0].source and '<img src="y.png">' in inert.cells[0].source


def test_plain_markdown_stays_as_written():
    markdown = "> a quote where a < b and b > c\n\n[a link](https://example.org) and **bold** `x < y`"
    assert inert_notebook(_notebook(markdown, [])).cells[0].source == markdown
