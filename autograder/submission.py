"""Read a submitted notebook robustly and rebuild it with the instructor's locked and test cells.

The learner controls every byte of the submitted file, so nothing in it is trusted: locked and test cells are
taken from the instructor notebook (matched by cell id, then by grade id), learner cells that claim nbgrader
metadata they should not have lose it, and each repair is recorded as a flag the instructor sees in grades.csv.
"""

import copy
import dataclasses
import json
import warnings

import nbformat

from autograder.assignment import cell_kind, clean_source, grade_id


class SubmissionError(Exception):
    """Nothing gradable in this file. ``flag`` is short (for grades.csv), the message says what to do."""

    def __init__(self, flag, message):
        super().__init__(message)
        self.flag = flag


def read_notebook(path, max_bytes=50 * 2**20):
    """The notebook at ``path`` (converted to nbformat 4), or SubmissionError saying why it cannot be read."""
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError("empty-file", f"{path.name} is empty")
    if size > max_bytes:
        raise SubmissionError("too-large", f"{path.name} is {size} bytes; at most {max_bytes} are accepted")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError("not-utf8", f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = "" if text.rstrip().endswith("}") else " (the file looks truncated)"
        raise SubmissionError("not-json", f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                          f"column {exc.colno}{truncated}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise SubmissionError("not-a-notebook", f"{path.name} is JSON but not a Jupyter notebook (no cell list)")
    try:
        with warnings.catch_warnings():  # e.g. cells without ids (nbformat 4.4): harmless, we match by grade id
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type not in ("code", "markdown", "raw") or not isinstance(cell.source, str):
                raise ValueError(f"a cell has type {cell.cell_type!r} and source of type "
                                 f"{type(cell.source).__name__}")
            cell.setdefault("metadata", nbformat.NotebookNode())
    except Exception as exc:
        raise SubmissionError("not-a-notebook", f"{path.name} is not a readable notebook: {exc}") from None
    return notebook


@dataclasses.dataclass
class Merged:
    """The notebook the grader runs: the learner's cells in the learner's order, locked and test cells from the
    instructor. ``origin[i]`` is the index of the instructor cell that cell ``i`` corresponds to (or None for a
    learner's own cell)."""

    notebook: nbformat.NotebookNode
    origin: list
    flags: list


def _key(cell):
    return cell.get("id"), grade_id(cell)


def merge(assignment, notebook):
    """Rebuild ``notebook`` (a submission) on the authority of ``assignment``'s instructor notebook."""
    instructor = assignment.notebook.cells
    protected = {i for i, cell in enumerate(instructor) if cell_kind(cell) != "free"}
    by_id = {instructor[i].get("id"): i for i in protected if instructor[i].get("id")}
    by_grade = {grade_id(instructor[i]): i for i in protected if grade_id(instructor[i])}

    cells, origin, flags, matched = [], [], [], set()
    for cell in notebook.cells:
        cell_id, gid = _key(cell)
        index = by_id.get(cell_id)
        if index is None or index in matched:
            index = by_grade.get(gid)
        if index is not None and index in matched:
            flags.append(f"duplicate-cell:{gid or cell_id}")
            index = None
        if index is None:
            cell = copy.deepcopy(cell)
            if "nbgrader" in cell.metadata:  # a learner's cell must not pose as a graded or locked one
                del cell.metadata["nbgrader"]
            cells.append(cell)
            origin.append(None)
            continue
        matched.add(index)
        cells.append(_restore(assignment, index, cell, flags))
        origin.append(index)

    # Titles and setup cells have the same ids in every notebook of the course: only graded cells identify one.
    if not any(cell_kind(instructor[i]) in ("solution", "test", "manual") for i in matched):
        raise SubmissionError("wrong-assignment", f"none of the exercise or test cells of {assignment.name} are in "
                                                  "this notebook (is it the notebook of another assignment?)")

    for index in sorted(protected - matched):
        kind, label = cell_kind(instructor[index]), grade_id(instructor[index]) or instructor[index].get("id")
        if kind in ("solution", "manual"):
            flags.append(f"missing-solution:{label}")
            continue
        position = max((k + 1 for k, o in enumerate(origin) if o is not None and o < index), default=0)
        cells.insert(position, _public_copy(assignment, index))
        origin.insert(position, index)
        flags.append(f"restored-deleted:{label}")

    merged = copy.deepcopy(notebook)
    merged.cells = cells
    return Merged(merged, origin, flags)


def _public_copy(assignment, index, source=None):
    """Instructor cell ``index`` as the student version shows it: hidden tests never enter the graded notebook
    (test cells are not run by the grader anyway). With ``source``, the edition (English, Chinese...) whose text
    it is; else English."""
    cell = copy.deepcopy(assignment.notebook.cells[index])
    versions = [v.source for v in assignment.released_versions(index)]
    matching = [text for text in versions if source is not None and clean_source(text) == clean_source(source)]
    cell.source = matching[0] if matching else versions[0]
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _restore(assignment, index, cell, flags):
    """The cell to run for instructor cell ``index``, given the learner's version ``cell``."""
    original = assignment.notebook.cells[index]
    kind, label = cell_kind(original), grade_id(original) or original.get("id")
    student_meta = cell.metadata.get("nbgrader", {})
    expected_meta = original.metadata.get("nbgrader", {})
    if any(student_meta.get(key) != expected_meta.get(key) for key in ("grade", "solution", "locked", "points")):
        flags.append(f"restored-metadata:{label}")
    if kind in ("locked", "test"):
        accepted = {clean_source(v.source) for v in assignment.released_versions(index)}
        if cell.cell_type != original.cell_type or clean_source(cell.source) not in accepted:
            flags.append(f"restored-locked:{label}")
        return _public_copy(assignment, index, cell.source)
    restored = copy.deepcopy(cell)  # the learner's answer, with the instructor's metadata and cell type
    restored.cell_type = original.cell_type
    restored.metadata["nbgrader"] = copy.deepcopy(expected_meta)
    if "id" in original:
        restored["id"] = original["id"]
    if restored.cell_type == "code":
        restored.setdefault("outputs", [])
        restored.setdefault("execution_count", None)
    else:
        restored.pop("outputs", None)
        restored.pop("execution_count", None)
    return restored
