"""The policy review (autograder/policy.py) on the real notebooks: each rule fires on the code it is about, the
course's own answers and stubs pass untouched, and each finding names the items it concerns.

Findings are flags for the instructor and never cost points (the clean rooms decide scores; see
tests/test_autograder_grading.py). So what is tested here is what the instructor is told: the right rule, the right
cell or file, nothing on ordinary code, and never an exception or a cell skipped in silence (deep code, helper
files)."""

import glob
from pathlib import Path

import nbformat
import pytest

import security_corpus as sc
from autograder import corpus, policy
from autograder.assignment import load_assignment
from autograder.submission import merge

REPO = Path(__file__).resolve().parents[1]
ALL = sorted(Path(p).name for p in glob.glob(str(REPO / "solutions" / "*")))

pytestmark = pytest.mark.skipif(sc.ASSIGNMENT not in ALL, reason="no 02-gru-numpy yet")


def _released(name):
    found = sorted((REPO / "course" / name).glob("*.ipynb"))
    if not found:
        pytest.skip(f"{name} is not released yet (python -m autograder release {name})")
    return nbformat.read(found[0], as_version=4)


@pytest.fixture(scope="module")
def a02():
    return load_assignment(REPO, sc.ASSIGNMENT)


@pytest.fixture(scope="module")
def solved(a02):
    return corpus.solved(_released(sc.ASSIGNMENT), a02.notebook)


def review(assignment, notebook, files=None):
    return policy.review(assignment, merge(assignment, notebook), files)


def rules(violations):
    return sorted({v.rule for v in violations})


@pytest.mark.parametrize("name", ALL)
def test_the_course_answers_and_stubs_pass_the_review(name):
    assignment = load_assignment(REPO, name)
    released = _released(name)
    assert review(assignment, corpus.solved(released, assignment.notebook)) == []
    assert review(assignment, released) == []


@pytest.mark.parametrize("source, rule", [
    ("import ctypes", "native-code"),
    ("from numpy import ctypeslib", "native-code"),
    ("import sqlite3", "database"),
    ("db = 'gradebook.db'", "database"),
    ("import subprocess", "process"),
    ("import os\nos.system('ls')", "process"),
    ("import os as o\nchild = o.fork()", "process"),
    ("import threading", "process"),
    ("import socket", "network"),
    ("import urllib.request", "network"),
    ("os_module = __import__('os')", "dynamic-code"),
    ("import importlib\nimportlib.import_module('torch')", "dynamic-code"),
    ("import sys\nref = sys.modules['coursekit.gru']", "dynamic-code"),
    ("ref = plt.sys", "dynamic-code"),
    ("value = eval('1 + 1')", "dynamic-code"),
    ("name = 'cell_forward'\nf = getattr(gru, name)", "dynamic-code"),
    ("g = sigmoid.__globals__", "dynamic-code"),
    ("import pickle", "dynamic-code"),
    ("data = np.load('a.npy', allow_pickle=True)", "dynamic-code"),
    ("get_ipython().events.register('pre_run_cell', print)", "ipython-hooks"),
    ("get_ipython().input_transformers_post.append(str)", "ipython-hooks"),
    ("ip = get_ipython()", "ipython-hooks"),
    ("!ls", "ipython-hooks"),
    ("%%bash\nls", "ipython-hooks"),
    ("%env A=1", "ipython-hooks"),
    ("import sys\nsys.settrace(print)", "tracing"),
    ("import sys\nsys.setprofile(print)", "tracing"),
    ("import gc\nobjects = gc.get_objects()", "tracing"),
    ("import inspect", "tracing"),
    ("import builtins\nbuiltins.abs = print", "builtins"),
    ("__builtins__.abs = print", "builtins"),
    ("np.testing.assert_allclose = print", "monkeypatch"),
    ("setattr(np.testing, 'assert_allclose', print)", "monkeypatch"),
    ("gru.cell_forward = print", "monkeypatch"),
    ("text = open('/etc/passwd').read()", "outside-path"),
    ("text = open('../../solutions/x.ipynb').read()", "outside-path"),
    ("from pathlib import Path\nroot = Path.cwd().parent", "outside-path"),
    ("path = f'/work/{1}'", "outside-path"),
    ("import os\nflag = os.environ.get('X')", "environment"),
    ("import os\nflag = os.getenv('X')", "environment"),
    ("name = 'NBGRADER_EXECUTION'", "environment"),
    ("import coursekit.checking", "grading-machinery"),
    ("from coursekit.items import get", "grading-machinery"),
    ("import nbgrader", "grading-machinery"),
    ("%time import ctypes", "native-code"),  # the code of a timing magic is reviewed too
    ("%%time\nimport sqlite3", "database"),
    ("import os\nos._exit(0)", "exit"),
])
def test_each_rule_fires_on_what_it_is_about(a02, solved, source, rule):
    violations = review(a02, sc.with_cell(solved, source))
    assert rule in rules(violations), (source, [v.flag for v in violations])
    assert all(v.flag.startswith(f"policy:{v.rule}:") and v.message for v in violations)


@pytest.mark.parametrize("source", [
    "%matplotlib inline\nimport time\nprint(np.tanh(1.0))",
    "from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))",
    "import os\nprint(os.path.join('a', 'b'), os.getcwd())",
    "print('Loading...', 'a/b', 'x / y', '/')",
    "%timeit np.ones(3)",
    "np.tanh?",
    "def f():\n    '''Shapes: x (B, I); see /usr/share/doc or ../notes.'''\n    return 1",
    "sum = 0\nfor value in range(3):\n    sum += value",  # shadowing a builtin name is harmless
    "class Box:\n    def __init__(self):\n        self.parts = []\n    def __eq__(self, other):\n        return True",
    "plt.rcParams['figure.figsize'] = (4, 3)",
    "import math, functools, itertools, collections, time, random, copy",
    "np.random.seed(0)\nnp.set_printoptions(precision=3)",
    "rate = 1e3\nprint(f'{rate:.0f}/s', f'{rate:.0f} s/step')",  # a unit after a field, not an absolute path
])
def test_ordinary_code_is_not_flagged(a02, solved, source):
    assert review(a02, sc.with_cell(solved, source)) == []


def test_scopes_say_which_items_a_finding_concerns(a02, solved):
    """What the instructor reads next to a flag (no score depends on it)."""
    everything = set(a02.tests)
    (violation,) = review(a02, sc.with_cell(solved, "import ctypes"))
    assert set(violation.items) == everything  # an attack on the grader: every item
    exit_in_solution = sc.with_solution(solved, "gru_forward", sc.OS_EXIT)
    (violation,) = review(a02, exit_in_solution)
    assert (violation.rule, violation.items) == ("exit", ("test_gru_forward",))  # only what that cell defines
    (violation,) = review(a02, sc.with_cell(solved, "import os\nos._exit(1)"))
    assert violation.items == ()  # a free cell that only crashes itself costs nothing more


def test_deep_code_is_reported_as_unreviewable_and_the_rest_is_still_reviewed(a02, solved):
    deep = "x = 1" + " + 1" * 100_000  # ast.parse raises RecursionError on it
    notebook = sc.with_cell(sc.with_cell(solved, deep, name="deep"), "import ctypes", name="other")
    flags = [v.flag for v in review(a02, notebook)]
    assert "policy:unreviewable:learner-deep" in flags and "policy:native-code:learner-other" in flags


def test_helper_files_next_to_the_notebook_are_reviewed(a02, solved, tmp_path):
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "mine.py").write_text("import ctypes\n")
    (tmp_path / "deep.py").write_text("x = 1" + " + 1" * 100_000 + "\n")
    (tmp_path / "plain.py").write_text("def tanh(x):\n    return x\n")
    (tmp_path / "broken.py").write_text("def (:\n")  # fails when imported, nothing to review
    flags = sorted(v.flag for v in review(a02, solved, tmp_path))
    assert flags == ["policy:native-code:helpers/mine.py", "policy:unreviewable:deep.py"]


def _reference_items(assignment, notebook):
    return sorted(v.where for v in review(assignment, notebook) if v.rule == "reference")


@pytest.mark.parametrize("cell, target, source", [
    (None, "gru_cell_forward",
     "def gru_cell_forward(x, h_prev, params):\n    return gru.cell_forward(x, h_prev, params)[0]"),
    ("def helper(x, h, p):\n    return gru.cell_forward(x, h, p)[0]", "gru_cell_forward",
     "def gru_cell_forward(x, h_prev, params):\n    return helper(x, h_prev, params)"),
    ("t = torch", "gru_cell_forward",
     "def gru_cell_forward(x, h_prev, params):\n    return t.sigmoid(t.from_numpy(x)).numpy()"),
    (None, "gru_forward",
     "def gru_forward(xs, h0, params):\n    m = type(rnn)(xs.shape[2], h0.shape[1]).double()\n    return m(xs)"),
    ("import coursekit.activations", "gru_cell_forward_cho",
     "def gru_cell_forward_cho(x, h_prev, params):\n    return coursekit.gru.cell_forward(x, h_prev, params)[0]"),
    (None, "gru_cell_forward", "def gru_cell_forward(x, h_prev, params):\n    import torch\n    return h_prev"),
    (None, "gru_cell_forward_cho", "from coursekit.gru import cell_forward\ngru_cell_forward_cho = cell_forward"),
])
def test_reference_use_costs_exactly_that_item(a02, solved, cell, target, source):
    notebook = sc.with_solution(solved, target, source)
    if cell:
        notebook = sc.with_cell(notebook, cell, name="helper")
    assert _reference_items(a02, notebook) == [f"test_{target}"]


def test_torch_and_helpers_outside_the_graded_functions_are_fine(a02, solved):
    notebook = sc.with_cell(solved, "import torch\nprint(torch.ones(2))\nfrom coursekit.activations import sigmoid")
    assert review(a02, notebook) == []


def test_an_edited_instructor_cell_keeps_what_it_already_did(a02, solved):
    """02's torch-weights cell calls getattr with a computed name: editing the cell must not make that a finding,
    while something the learner adds to it still is."""
    notebook = nbformat.from_dict(solved)
    cell = next(c for c in notebook.cells if c.get("id") == "torch-weights")
    cell.source += "\nprint('my note')"
    assert review(a02, notebook) == []
    cell.source += "\nimport ctypes"
    assert rules(review(a02, notebook)) == ["native-code"]


def test_locked_and_test_cells_are_the_instructors(a02, solved):
    """A learner's edit of a locked cell is undone by merge(), so what it tried is not reviewed (nor run)."""
    notebook = nbformat.from_dict(solved)
    next(c for c in notebook.cells if c.get("id") == "setup").source += "\nimport ctypes"
    assert review(a02, notebook) == []


def test_describe_rules_lists_every_rule_and_assignment():
    text = policy.describe_rules()
    assert all(f"`{rule}`" in text for rule in policy.RULES) and all(name in text for name in policy.REFERENCE)
