"""An assignment as the grader sees it: the instructor notebook (the authority) and the items its test cells name.

The instructor notebook ``<root>/solutions/<assignment>/<name>.ipynb`` decides which cells are locked, which are
tests and which are written answers. Each autograded test cell's grade id names an Item in ``coursekit.items``;
the test cell's own code is never run by the grader.
"""

import ast
import copy
import dataclasses
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

import coursekit.items


class AssignmentError(ValueError):
    """The instructor notebook or the item registry is not usable for grading (fix the course, not the student)."""


def cell_kind(cell):
    """"test" (autograded code test), "manual" (written answer graded by hand), "solution" (the learner's code),
    "locked" (instructor code/text that must not change) or "free" (anything else)."""
    grade, solution = nbutils.is_grade(cell), nbutils.is_solution(cell)
    if grade and not solution:
        return "test" if cell.cell_type == "code" else "locked"
    if grade and solution:
        return "manual" if cell.cell_type == "markdown" else "solution"
    if solution:
        return "solution"
    return "locked" if nbutils.is_locked(cell) else "free"


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@dataclasses.dataclass
class Assignment:
    """The instructor notebook of one assignment, checked against the items registry.

    - tests: grade id -> Item, in notebook order (the autograded part; each worth item.points)
    - manual: grade id -> points of the written answers (graded by hand, reported separately)
    - released: the student version of every cell (solutions and hidden tests cleared), index-aligned with
      ``notebook.cells``; used to tell whether a learner edited a locked cell or left an answer blank
    """

    name: str
    notebook_name: str
    path: Path
    notebook: nbformat.NotebookNode
    tests: dict
    manual: dict
    released: list

    @property
    def autograded_max(self):
        return float(sum(item.points for item in self.tests.values()))

    @property
    def manual_max(self):
        return float(sum(self.manual.values()))

    @property
    def folder(self):
        return self.path.parent

    def warm_imports(self):
        """Modules the instructor notebook imports (imported in advance by warm kernels: start-up dominates)."""
        return notebook_imports(self.notebook)


def notebook_imports(notebook):
    """Every module named in an import statement of the notebook's code cells (magics skipped)."""
    modules = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
    return list(dict.fromkeys(modules))


def _released_cells(notebook):
    """The student version of each cell, as nbgrader's generate_assignment makes it."""
    released = copy.deepcopy(notebook)
    resources = {}
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        released, resources = preprocessor.preprocess(released, resources)
    return released.cells


def find_notebook(folder):
    notebooks = sorted(p for p in Path(folder).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise AssignmentError(f"{folder} must hold exactly one notebook, found {[p.name for p in notebooks]}")
    return notebooks[0]


def load_assignment(root, name, lookup=None):
    """Read ``<root>/solutions/<name>/*.ipynb`` and check every autograded test cell against its Item.

    ``lookup(assignment, grade_id)`` defaults to ``coursekit.items.get``.
    """
    lookup = lookup or coursekit.items.get
    folder = Path(root) / "solutions" / name
    if not folder.is_dir():
        known = sorted(p.name for p in (Path(root) / "solutions").glob("*") if p.is_dir())
        raise AssignmentError(f"no assignment {name!r} in {Path(root) / 'solutions'}; known: {known}")
    path = find_notebook(folder)
    notebook = nbformat.read(path, as_version=4)
    tests, manual, seen = {}, {}, set()
    for cell in notebook.cells:
        kind, gid = cell_kind(cell), grade_id(cell)
        if kind in ("test", "manual", "solution", "locked") and gid:
            if gid in seen:
                raise AssignmentError(f"{path.name}: grade id {gid!r} is used by two cells")
            seen.add(gid)
        if kind == "test":
            try:
                item = lookup(name, gid)
            except KeyError as exc:
                raise AssignmentError(f"{path.name}: test cell {gid!r} has no graded item: {exc}") from None
            points = float(cell.metadata.nbgrader.get("points", 0))
            if points != float(item.points):
                raise AssignmentError(f"{path.name}: test cell {gid!r} is worth {points:g} points in the notebook "
                                      f"but its item is worth {item.points:g}; make them equal")
            tests[gid] = item
        elif kind == "manual":
            manual[gid] = float(cell.metadata.nbgrader.get("points", 0))
    if not tests and not manual:
        raise AssignmentError(f"{path.name} has no graded cells (nbgrader metadata grade=true)")
    return Assignment(name=name, notebook_name=path.stem, path=path, notebook=notebook, tests=tests,
                      manual=manual, released=_released_cells(notebook))


def section_titles(notebook):
    """{cell index: how a learner finds that cell}: "the cell under '<the nearest heading above it>'" (cell ids
    are invisible in JupyterLab), or "the first cells" before any heading."""
    titles, heading, count = {}, None, 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    heading, count = line.lstrip("# ").strip(), 0
                    break
        elif cell.cell_type == "code":
            count += 1
            where = f"under '{heading}'" if heading else "at the top of the notebook"
            titles[index] = f"code cell {count} {where}"
    return titles
