"""The executed copy (执行后的副本): the whole notebook run once, sandboxed, for the learner and the instructor.

Every code cell but the test cells runs in order, in a full kernel (torch, all of coursekit), with the per-cell
timeout and crash recovery of :class:`autograder.sessions.Session`. No score comes from this run: the test cells'
outputs are the clean rooms' verdicts (:func:`show_verdict`), and the notebook is made inert
(:func:`autograder.safety.inert_notebook`) before anyone renders it.
"""

import dataclasses

import nbformat

from autograder.assignment import cell_kind, grade_id
from autograder.cleanroom import TOO_DEEP, too_deep
from autograder.outcomes import CellError, Flag
from coursekit.i18n import Text, render


@dataclasses.dataclass
class ExecutedRun:
    """What the full run found: cell errors (for feedback) and timeout/crash flags."""

    cell_errors: list
    flags: list


def cell_label(cell, index):
    """The name of a cell in flags: its grade id, else its cell id."""
    return grade_id(cell) or cell.get("id") or f"cell-{index}"


def run_cells(notebook, session, titles, language="en"):
    """Run every code cell of ``notebook`` except test cells, storing each cell's outputs in place.
    ``titles``: cell index -> how learners find the cell (messages, in ``language``); flags name the cell's grade
    id or id."""
    errors, flags = [], []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or cell_kind(cell) == "test":
            continue
        if too_deep(cell.source):  # the kernel would stop answering: report Python's error instead
            too_deep_message = render(TOO_DEEP, language)
            cell.outputs = [nbformat.v4.new_output("error", ename="RecursionError", evalue=too_deep_message,
                                                   traceback=[])]
            errors.append(CellError(titles.get(index, cell_label(cell, index)), too_deep_message))
            continue
        run = session.run(cell.source)
        if run is None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                                   text=render(Text("[grader] not run: {reason}",
                                                                    reason=session.gave_up), language) + "\n")]
            continue
        cell.outputs, cell.execution_count = [nbformat.from_dict(output) for output in run.outputs], None
        if run.status in ("timeout", "died"):
            flags.append(Flag.of(Flag.TIMEOUT if run.status == "timeout" else Flag.CRASH, cell_label(cell, index)))
        if run.error and run.status == "error":
            errors.append(CellError(titles.get(index, cell_label(cell, index)), f"{run.error[0]}: {run.error[1]}"))
        elif run.status in ("timeout", "died"):
            errors.append(CellError(titles.get(index, cell_label(cell, index)), render(run.detail, language)))
    return ExecutedRun(errors, flags)


def show_verdict(cell, passed, message):
    """A test cell's outputs: the verdict (an error output when failed, as nbgrader expects)."""
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=message + "\n")]
    if not passed:
        outputs.append(nbformat.v4.new_output("error", ename="AssertionError", evalue=message.splitlines()[0],
                                              traceback=[]))
    cell.outputs, cell.execution_count = outputs, None
