"""A tiny synthetic assignment for the autograder tests: three items, one written answer, a temporary course root.

Only the grader's process needs the items (it draws the cases and judges; no kernel ever holds an item):
the tests register them with ``monkeypatch``, and a grader run in a subprocess calls ``register()``. The
assignment has no clean-room profile of its own, so it gets ``cleanroom.DEFAULT_PROFILE`` (setup cell "setup"),
and since ``test_double`` forbids torch it has two rooms: one without torch (``double``) and one with.
"""

import copy
import json
import shutil
from pathlib import Path

import nbformat

import coursekit.items
from coursekit.checking import Case, Item

ASSIGNMENT = "00-synthetic"
NOTEBOOK = "synthetic"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _vector_cases(rng, hidden):
    cases = [Case("n=6", (rng.standard_normal(6),)), Case("2x3", (rng.standard_normal((2, 3)),))]
    if hidden:
        cases += [Case("n=1", (rng.standard_normal(1),)), Case("large", (1e3 * rng.standard_normal(50),))]
    return cases


DOUBLE = Item(name="test_double", target="double", points=2, make_cases=_vector_cases, reference=lambda x: 2 * x,
              mistakes=(("x was returned unchanged; double it", lambda x: x),), forbidden=("torch",))
SQUARE = Item(name="test_square", target="square", points=3, make_cases=_vector_cases, reference=lambda x: x * x,
              mistakes=(("this is 2 * x, not x squared", lambda x: 2 * x),))
NEGATE = Item(name="test_negate", target="negate", points=1, make_cases=_vector_cases, reference=lambda x: -x)
ITEMS = (DOUBLE, SQUARE, NEGATE)
REGISTRY = {item.name: item for item in ITEMS}


def register():
    """Make the synthetic items known to coursekit.items in this process (a grader started as a subprocess)."""
    coursekit.items.ASSIGNMENTS[ASSIGNMENT] = REGISTRY


def _meta(**nbgrader):
    return {"nbgrader": {"schema_version": 3, "grade": False, "solution": False, "locked": False, **nbgrader}}


def _solution(name, body):
    return nbformat.v4.new_code_cell(
        f"def {name}(x):\n    \"\"\"x: array.\"\"\"\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION",
        id=f"{name}-solution", metadata=_meta(solution=True, grade_id=name))


def _test(item):
    source = (f"check(get({ASSIGNMENT!r}, {item.name!r}), {item.target})\n### BEGIN HIDDEN TESTS\n"
              f"check(get({ASSIGNMENT!r}, {item.name!r}), {item.target}, hidden=True)\n### END HIDDEN TESTS")
    return nbformat.v4.new_code_cell(source, id=f"{item.target}-test",
                                     metadata=_meta(grade=True, locked=True, grade_id=item.name, points=item.points))


def instructor_notebook():
    cells = [
        nbformat.v4.new_markdown_cell("# Synthetic assignment", id="intro", metadata=_meta(locked=True,
                                                                                            grade_id="intro")),
        nbformat.v4.new_code_cell("import numpy as np\nfrom coursekit.checking import check\n"
                                  "from coursekit.items import get", id="setup",
                                  metadata=_meta(locked=True, grade_id="setup")),
        _solution("double", "return 2 * x"), _test(DOUBLE),
        _solution("square", "return x * x"), _test(SQUARE),
        nbformat.v4.new_markdown_cell("Why is squaring not linear?\n\nBEGIN SOLUTION\nBecause (a+b)^2 != a^2+b^2.\n"
                                      "END SOLUTION", id="why-square",
                                      metadata=_meta(solution=True, grade=True, grade_id="why_square", points=1)),
        _solution("negate", "return -x"), _test(NEGATE),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def make_course(root):
    """A course root with solutions/00-synthetic/synthetic.ipynb and the repo's nbgrader config."""
    root = Path(root)
    folder = root / "solutions" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(instructor_notebook(), folder / f"{NOTEBOOK}.ipynb")
    (root / "autograder").mkdir()
    shutil.copy(REPO / "autograder" / "nbgrader_config.py", root / "autograder" / "nbgrader_config.py")
    return root


def student_version(assignment):
    """The released (student) notebook, as nbgrader would generate it."""
    notebook = copy.deepcopy(assignment.notebook)
    notebook.cells = copy.deepcopy(assignment.released)
    return notebook


def with_answers(assignment, answers, written=None):
    """The student notebook with ``answers`` {function name: body source} filled in."""
    notebook = student_version(assignment)
    for cell in notebook.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id")
        if name in answers:
            cell.source = f"def {name}(x):\n    {answers[name]}" if not answers[name].startswith("def ") \
                else answers[name]
        if name == "why_square" and written:
            cell.source = written
    return notebook


CORRECT = {"double": "return 2 * x", "square": "return x * x", "negate": "return -x"}


def write(notebook, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, (bytes, str)):
        path.write_bytes(notebook if isinstance(notebook, bytes) else notebook.encode())
    else:
        path.write_text(json.dumps(notebook, indent=1))
    return path
