"""Record a grading run in the nbgrader gradebook, so formgrader shows it and manual grading works as usual.

- The assignment's cells are saved once, the way ``nbgrader generate_assignment`` does (nbgrader's own
  preprocessors up to SaveCells), when the database does not know the notebook yet.
- For each graded submission, each autograded cell gets ``auto_score`` (our judge's score); a written answer gets
  ``auto_score`` None and ``needs_manual_grade`` True, or 0 and "No response." when it still holds the stub.
  A manual score a grader already gave is kept (and the cell is flagged for review, as nbgrader does).
- The executed notebook goes to nbgrader's autograded folder, where formgrader reads it.

Submissions with status ``error`` (nothing gradable: a broken file, no notebook) are recorded too, so that the
instructor sees them where the others are: every graded cell at 0 points and flagged "needs manual grade", with the
reason as the cells' comment, and in autograded/ the released notebook headed by that reason (the hand-in itself
could not be read). Regrade them by hand, or fix the file and grade again.
"""

import copy
import os
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, ClearSolutions, ComputeChecksums, LockCells, \
    SaveCells
from traitlets.config.loader import PyFileConfigLoader

from autograder.assignment import cell_kind, grade_id


def _tools_on_path():
    """nbgrader's Gradebook runs ``alembic``: make sure the one installed next to this interpreter is found."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def course_directory(root, db_url=None):
    """nbgrader's CourseDirectory configured by ``<root>/autograder/nbgrader_config.py`` (db_url overridable)."""
    config_path = Path(root) / "autograder" / "nbgrader_config.py"
    config = PyFileConfigLoader(config_path.name, path=str(config_path.parent)).load_config() \
        if config_path.is_file() else None
    coursedir = CourseDirectory(config=config) if config is not None else CourseDirectory()
    if config is None:
        coursedir.root = str(Path(root).resolve())
    if db_url:
        coursedir.db_url = db_url
    return coursedir


def _save_assignment_cells(assignment, db_url, course_id):
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment(assignment.name)
        try:
            gb.find_notebook(assignment.notebook_name, assignment.name)
            return
        except MissingEntry:
            pass
    notebook = copy.deepcopy(assignment.notebook)
    resources = {"nbgrader": {"notebook": assignment.notebook_name, "assignment": assignment.name,
                              "db_url": db_url}}
    for preprocessor in (LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
                         SaveCells()):
        notebook, resources = preprocessor.preprocess(notebook, resources)


def _blank_sources(assignment):
    return {grade_id(cell): released.source.strip()
            for cell, released in zip(assignment.notebook.cells, assignment.released)
            if cell_kind(cell) in ("solution", "manual") and grade_id(cell)}


def record(assignment, results, coursedir):
    """Write ``results`` (SubmissionResults) to the gradebook of ``coursedir``; returns the ids recorded."""
    _tools_on_path()
    db_url, course_id = coursedir.db_url, coursedir.course_id
    with warnings.catch_warnings():  # nbgrader's add_submission triggers SQLAlchemy autoflush warnings
        warnings.filterwarnings("ignore", module="nbgrader")
        warnings.filterwarnings("ignore", message=".*not in session.*")
        return _record(assignment, results, coursedir, db_url, course_id)


def _record(assignment, results, coursedir, db_url, course_id):
    _save_assignment_cells(assignment, db_url, course_id)
    blanks = _blank_sources(assignment)
    recorded = []
    with Gradebook(db_url, course_id) as gb:
        for result in results:
            if "interrupted" in result.flags:  # not graded at all: grading again will record it
                continue
            gb.update_or_create_student(result.student_id)
            extra = {}
            if getattr(result, "timestamp", None):
                extra["timestamp"] = result.timestamp
            try:
                gb.update_or_create_submission(assignment.name, result.student_id, **extra)
            except Exception:  # an unparsable timestamp.txt must not lose the grades
                gb.update_or_create_submission(assignment.name, result.student_id)
            if result.status == "error":
                _record_error(gb, assignment, result)
                _write_autograded(coursedir, assignment, result)
                recorded.append(result.student_id)
                continue
            for test in result.tests:
                grade = gb.find_grade(test.grade_id, assignment.notebook_name, assignment.name, result.student_id)
                grade.auto_score = test.score
                grade.needs_manual_grade = grade.manual_score is not None
            for answer in result.manual:
                grade = gb.find_grade(answer.grade_id, assignment.notebook_name, assignment.name,
                                      result.student_id)
                grade.auto_score = None if answer.answered else 0.0
                grade.needs_manual_grade = answer.answered or grade.manual_score is not None
            if result.notebook is not None:
                for cell in result.notebook.cells:
                    gid = grade_id(cell)
                    if cell_kind(cell) not in ("solution", "manual") or gid not in blanks:
                        continue
                    comment = gb.find_comment(gid, assignment.notebook_name, assignment.name, result.student_id)
                    comment.auto_comment = "No response." if cell.source.strip() == blanks[gid] else None
            gb.db.commit()
            _write_autograded(coursedir, assignment, result)
            recorded.append(result.student_id)
    return recorded


def _record_error(gb, assignment, result):
    """An error row in the gradebook: 0 points, every graded cell to be looked at, the reason as comment."""
    reason = f"Not graded: {result.message or ', '.join(result.flags)}"
    for gid in [*assignment.tests, *assignment.manual]:
        grade = gb.find_grade(gid, assignment.notebook_name, assignment.name, result.student_id)
        grade.auto_score = 0.0
        grade.needs_manual_grade = True
    for cell in assignment.notebook.cells:
        gid = grade_id(cell)
        if cell_kind(cell) in ("solution", "manual") and gid:
            comment = gb.find_comment(gid, assignment.notebook_name, assignment.name, result.student_id)
            comment.auto_comment = reason
    gb.db.commit()


def error_notebook(assignment, result):
    """What formgrader shows for an error row: the released notebook, headed by why it was not graded."""
    notebook = nbformat.v4.new_notebook(metadata=copy.deepcopy(assignment.notebook.metadata))
    notebook.cells = [nbformat.v4.new_markdown_cell(
        f"**This hand-in could not be graded** ({', '.join(result.flags)}): {result.message}\n\n"
        "Below is the released notebook, not the student's: every graded cell is at 0 points until it is graded "
        "by hand or the file is fixed and graded again.")] + [copy.deepcopy(cell) for cell in assignment.released]
    return notebook


def _write_autograded(coursedir, assignment, result):
    """The executed notebook where formgrader looks for it: autograded/<student>/<assignment>/<name>.ipynb."""
    notebook = result.notebook if result.notebook is not None else \
        error_notebook(assignment, result) if result.status == "error" else None
    if notebook is None:
        return
    folder = coursedir.format_path(coursedir.autograded_directory, result.student_id, assignment.name)
    os.makedirs(folder, exist_ok=True)
    nbformat.write(notebook, os.path.join(folder, f"{assignment.notebook_name}.ipynb"))
