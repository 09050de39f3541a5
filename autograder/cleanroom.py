"""The clean room (净室): the process where graded functions run, with no answer anywhere in reach.

The full notebook runs in its own sandboxed kernel, with torch and all of coursekit, for the executed copy that the
learner and the instructor read. Scores never come from it. Each graded item is evaluated in a *room*: another
sandboxed kernel whose filesystem holds

- the Python installation **without** the modules the item may not use (torch in a NumPy exercise, scipy in 01:
  their folders are covered by empty read-only mounts, so no import, path trick or ``sys.modules`` game finds them);
- a **filtered coursekit**: ``coursekit/__init__.py``, :mod:`coursekit.harness` (calls the learner's function on
  plain inputs and returns plain outputs) and the assignment's declared helpers (e.g. ``coursekit.activations``),
  nothing else: no reference module, no item, no judge.

In a room the grader runs the assignment's declared setup cells (e.g. the imports and, in 03, the given forward
functions), then every cell the learner wrote (solution cells, cells they added, edited copies of instructor
cells), one top-level statement at a time, so that a failing ``import torch`` costs only what needs torch. Then, for
each item, it sends the inputs of cases it drew itself (plain data) and judges the plain outputs that come back in
its own process. Whatever the learner replaces inside the room, they change at most what their own function
returns.

Items are grouped into rooms by the modules they may not use, so 04-06 have two rooms (without torch for
``gru_param_count``, ``bigru_forward``, ``adding_problem``; with torch for the rest) and the other notebooks one.
"""

import ast
import dataclasses
import importlib.util
import re
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.assignment import cell_kind, clean_source, grade_id
from coursekit.i18n import N_, Text

# ----------------------------------------------------------------------------------------------------------------
# What graded code may use, per assignment
# ----------------------------------------------------------------------------------------------------------------

HARNESS = "coursekit.harness"  # in every room: it calls the learner's function (coursekit/harness.py)


@dataclasses.dataclass(frozen=True)
class Profile:
    """The declared clean-room setup of an assignment.

    - helpers: coursekit modules graded code may import (besides coursekit.harness, which any room has)
    - setup_cells: ids of instructor cells run in the room before the learner's code (imports, given functions);
      their statements that need something absent (``import torch``) simply fail there
    """

    helpers: tuple = ()
    setup_cells: tuple = ("setup",)


PROFILES = {
    "01-gru-concept": Profile(),
    "02-gru-numpy": Profile(helpers=("coursekit.activations",)),
    "03-gru-backprop": Profile(setup_cells=("setup", "gru-cell-forward-given", "gru-forward-given")),
    "04-torch-gru": Profile(),
    "05-bigru": Profile(setup_cells=("setup", "gru-forward-given")),
    "06-vanishing-gradients": Profile(),
    "07-parallel-gru": Profile(helpers=("coursekit.activations",)),
}
DEFAULT_PROFILE = Profile()


def profile(assignment_name):
    return PROFILES.get(assignment_name, DEFAULT_PROFILE)


@dataclasses.dataclass(frozen=True)
class Room:
    """One clean room of an assignment: the items judged in it and what its graded code cannot import."""

    assignment: str
    absent: tuple  # top-level modules that are not there (e.g. ("torch",)), sorted
    helpers: tuple  # coursekit modules that are there besides coursekit.harness
    items: tuple  # grade ids judged in this room, in notebook order
    setup_cells: tuple

    @property
    def allowed_coursekit(self):
        return ("coursekit", HARNESS, *self.helpers)

    def lacks(self, module):
        """True when ``module`` (a dotted name) cannot be imported in this room."""
        top = module.partition(".")[0]
        if top == "coursekit":
            return module not in self.allowed_coursekit
        return top in self.absent

    def explain(self, module):
        """A learner's sentence for an import of ``module`` that failed here."""
        if module.partition(".")[0] == "coursekit":
            if self.helpers:
                return Text("{module} is not available to graded code in {assignment} (it holds reference code; "
                            "the helpers graded code may use: {helpers})", module=module,
                            assignment=self.assignment, helpers=", ".join(self.helpers))
            return Text("{module} is not available to graded code in {assignment} (it holds reference code; "
                        "graded code may use none of coursekit's helpers)", module=module,
                        assignment=self.assignment)
        return Text("{module} is not available to graded code in {assignment}", module=module.partition(".")[0],
                    assignment=self.assignment)

    def describe(self):
        without = ", ".join(self.absent)
        return f"clean room{' without ' + without if without else ''}; coursekit: {', '.join(self.allowed_coursekit)}"


def absent_modules(item):
    """The importable top-level modules named in ``item.forbidden`` (coursekit is filtered separately)."""
    names = set()
    for name in item.forbidden:
        top = name.partition(".")[0]
        if top != "coursekit" and importlib.util.find_spec(top) is not None:
            names.add(top)
    return tuple(sorted(names))


def rooms(assignment):
    """The rooms of ``assignment`` (an autograder.assignment.Assignment), one per distinct set of absent modules."""
    spec = profile(assignment.name)
    groups = {}
    for gid, item in assignment.tests.items():
        groups.setdefault(absent_modules(item), []).append(gid)
    return [Room(assignment.name, absent, spec.helpers, tuple(gids), spec.setup_cells)
            for absent, gids in sorted(groups.items())]


# ----------------------------------------------------------------------------------------------------------------
# The room's filesystem: paths to cover, the filtered coursekit
# ----------------------------------------------------------------------------------------------------------------

def module_paths(name, search_path=None):
    """Every file or folder on ``search_path`` (default sys.path) that could provide top-level module ``name``."""
    found = []
    for entry in search_path if search_path is not None else sys.path:
        folder = Path(entry or ".")
        if not folder.is_dir():
            continue
        candidates = [folder / name, folder / f"{name}.py"] + sorted(folder.glob(f"{name}.*.so"))
        found += [path.resolve() for path in candidates if path.exists()]
    return list(dict.fromkeys(found))


def build_library(room, destination):
    """``destination/coursekit`` holding only ``__init__.py``, the harness and the room's helpers; returns
    ``destination``. The room's kernel finds coursekit there (and nowhere else)."""
    import coursekit

    source = Path(coursekit.__file__).resolve().parent
    target = Path(destination) / "coursekit"
    target.mkdir(parents=True, exist_ok=True)
    for module in room.allowed_coursekit:
        relative = "__init__.py" if module == "coursekit" else module.split(".", 1)[1].replace(".", "/") + ".py"
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)
    return Path(destination)


def absent_package(name, destination):
    """A package folder whose import fails as if ``name`` were not installed (mounted over the real one: an empty
    folder would import as a namespace package)."""
    folder = Path(destination) / f"absent-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(f"raise ModuleNotFoundError({f'No module named {name!r}'!r}, name={name!r})\n")
    return folder


class RoomFiles:
    """The host-side files of one room for a whole grading run: its filtered library and what to cover
    ((path of an absent module, what to mount over it): an absent package over a folder, an empty file over a
    file)."""

    def __init__(self, room):
        self.room = room
        self.library = build_library(room, tempfile.mkdtemp(prefix="ag-room-"))
        self.covered = []
        for name in room.absent:
            for path in module_paths(name):
                cover = absent_package(name, self.library) if path.is_dir() else Path("/dev/null")
                self.covered.append((path, cover))

    def close(self):
        shutil.rmtree(self.library, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------------
# What runs in a room: the setup cells and the learner's cells, statement by statement
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RoomCell:
    """A cell to run in a room: its id (for flags), how learners find it (for messages), its top-level
    statements, and whether the learner wrote it (only their failures are reported)."""

    label: str
    title: str
    statements: tuple
    learner: bool


def python_of(source):
    """The Python that IPython runs for a cell (magics and shell escapes become get_ipython() calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython could not transform it: the kernel will say what is wrong when it runs
        return source


def too_deep(source):
    """True when Python itself cannot compile the cell (nested too deep): IPython's kernel stops answering on such
    code, so the grader reports the error instead of sending it."""
    return too_deep_python(python_of(source))


def too_deep_python(code):
    """:func:`too_deep` for code that is Python already (a piece from :func:`statements`)."""
    try:
        compile(code, "<cell>", "exec", flags=ast.PyCF_ONLY_AST)
        return False
    except (RecursionError, MemoryError):
        return True
    except (SyntaxError, ValueError):
        return False


TOO_DEEP = N_("RecursionError: the code is nested too deeply for Python to compile (it was not run)")


def _top_level_chunks(code):
    """``code`` cut before each line that starts a top-level statement, found with the tokenizer (which, unlike
    the parser, has no depth limit); the code whole if it does not tokenize."""
    import io
    import tokenize

    starts, depth, at_start, decorated = [], 0, True, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            if token.type == tokenize.INDENT:
                depth += 1
                continue
            if token.type == tokenize.DEDENT:
                depth -= 1
                at_start = depth == 0
                continue
            if token.type == tokenize.NEWLINE:
                at_start = depth == 0
                continue
            if at_start and depth == 0:  # the first token of a top-level statement
                if not decorated:
                    starts.append(token.start[0])
                decorated = token.type == tokenize.OP and token.string == "@"
            at_start = False
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return (code,)
    starts = starts or [1]
    starts[0] = 1
    lines = code.splitlines()
    bounds = sorted(set(starts)) + [len(lines) + 1]
    return tuple(chunk for chunk in ("\n".join(lines[a - 1:b - 1]) for a, b in zip(bounds, bounds[1:]))
                 if chunk.strip())


def statements(source):
    """The top-level statements of a cell as separate pieces of code (decorators kept with their function;
    statements that share a line stay together). A cell that does not parse is one piece (the kernel reports its
    error); one too deep to parse is cut with the tokenizer, so that only its deep statement fails."""
    code = python_of(source)
    try:
        tree = ast.parse(code)
    except (RecursionError, MemoryError):
        return _top_level_chunks(code)
    except (SyntaxError, ValueError):
        return (code,) if code.strip() else ()
    lines = code.splitlines()
    pieces, last_end = [], 0
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if pieces and start <= last_end:  # e.g. "a = 1; b = 2"
            pieces[-1] = (pieces[-1][0], node.end_lineno)
        else:
            pieces.append((start, node.end_lineno))
        last_end = node.end_lineno
    return tuple("\n".join(lines[a - 1:b]) for a, b in pieces)


@dataclasses.dataclass(frozen=True)
class CheckPoint:
    """Where a test cell stands: its item is judged there, on the state the cells above it left (as nbgrader and
    the learner's own check cell see it), not on whatever later cells redefine."""

    grade_id: str


def room_cells(assignment, merged, room, titles):
    """What runs in ``room``, in notebook order: RoomCell for the declared setup cells (instructor versions) and
    every cell the learner wrote, CheckPoint for the test cells of the room's items. Instructor demo cells and the
    test cells' code do not run."""
    instructor_free = assignment.free_sources()  # in every edition (English, Chinese...)
    cells = []
    for position, (cell, origin) in enumerate(zip(merged.notebook.cells, merged.origin)):
        if cell.cell_type != "code":
            continue
        original = assignment.notebook.cells[origin] if origin is not None else None
        kind = cell_kind(original) if original is not None else "free"
        if kind == "test":
            if grade_id(cell) in room.items:
                cells.append(CheckPoint(grade_id(cell)))
            continue
        setup = original is not None and original.get("id") in room.setup_cells
        learner = kind == "solution" or (original is None and clean_source(cell.source) not in instructor_free)
        if setup or learner:
            label = grade_id(cell) or cell.get("id") or f"cell-{position}"
            cells.append(RoomCell(label, titles.get(position, label), statements(cell.source), learner and not setup))
    return cells


_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NO_NAME = re.compile(r"name '(\w+)' is not defined")


def imported_names(code):
    """{bound name: module} for the import statements of ``code`` (what a failed import leaves undefined)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return {}
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.partition(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


class Unavailable:
    """What the learner's code in a room could not get: names whose import failed, for clear messages."""

    def __init__(self, room):
        self.room = room
        self.names = {}  # name -> module it should have come from

    def note_failed_import(self, code, error_value):
        match = _NO_MODULE.search(error_value or "")
        if match and self.room.lacks(match.group(1)):
            for name, module in imported_names(code).items():
                if self.room.lacks(module) or module.startswith(match.group(1)):
                    self.names.setdefault(name, module)

    def explain(self, error):
        """``error`` ("Name: message" from the harness) with the reason added when it is an absent module."""
        if not error:
            return error
        match = _NO_MODULE.search(error)
        if match and self.room.lacks(match.group(1)):
            return Text("{error} ({reason})", error=error, reason=self.room.explain(match.group(1)))
        match = _NO_NAME.search(error)
        if error.startswith("NameError") and match and match.group(1) in self.names:
            return Text("{error} ({reason})", error=error, reason=self.room.explain(self.names[match.group(1)]))
        return error
