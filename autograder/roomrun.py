"""One submission in one clean room (净室评测): run the learner's code, then judge each item on cases drawn here.

See :mod:`autograder.cleanroom` for what a room is. Per item, the grader draws the cases (public or hidden, with
the item's own seed), sends only their inputs to the room (``coursekit.checking.request``: plain data, inlined as
base64 in a one-line call of ``coursekit.harness.evaluate_and_publish``) and judges the plain outputs with the
cases it kept (:mod:`autograder.judging`).
"""

import ast
import base64
import dataclasses

from autograder.checkdata import RESULT_MIME, decode_payloads, read_packed
from autograder.cleanroom import TOO_DEEP, CheckPoint, RoomCell, Unavailable, too_deep_python
from autograder.judging import judge_result
from autograder.outcomes import CellError, Flag, ItemResult
from coursekit.checking import request
from coursekit.harness import pack
from coursekit.i18n import Text, render


@dataclasses.dataclass
class RoomOutcome:
    """The items judged in a room, the learner's cells that failed there, and flags."""

    results: dict  # grade id -> ItemResult
    cell_errors: list  # CellError, learner cells only
    flags: list
    language: str = "en"  # of the messages: the submission's


def room_setup_code(room, *, guard, extra=""):
    """The trusted code a room's kernel runs first (see coursekit.harness.enter_clean_room)."""
    return ("import coursekit.harness as __harness\n"
            f"__harness.enter_clean_room(get_ipython(), absent={room.absent!r}, "
            f"allowed={room.allowed_coursekit!r}, guard={bool(guard)!r})\n"
            "del __harness\nimport numpy\n" + (extra or ""))


def evaluation_code(item, cases):
    """The one line that asks the room for ``item``'s outcomes on ``cases`` (inputs only)."""
    payload = base64.b64encode(pack(request(item, cases))).decode("ascii")
    return (f"__import__('coursekit.harness').harness.evaluate_and_publish(globals(), {payload!r}, "
            f"{RESULT_MIME!r})")


def _defines(code, target):
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return f"def {target}(" in code or f"{target} =" in code
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == target:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == target for t in targets):
                return True
    return False


def run_room(room, cells, items, session, *, cases_of, config, language="en"):
    """Run ``cells`` (cleanroom.room_cells: RoomCell and CheckPoint) in ``session`` in order, judging each item of
    ``room`` at its checkpoint (an item without one, at the end).

    ``items``: grade id -> Item; ``cases_of(grade_id)`` -> the cases to judge on; messages are in ``language``
    (the submission's)."""
    unavailable = Unavailable(room)
    outcome = RoomOutcome({}, [], [], language)
    failed_cells = {}  # learner cell label -> (title, problem): the first failure in each
    checkpoints = [c.grade_id for c in cells if isinstance(c, CheckPoint)]
    for step in [*cells, *(CheckPoint(gid) for gid in room.items if gid not in checkpoints)]:
        if isinstance(step, CheckPoint):
            if step.grade_id in room.items and step.grade_id not in outcome.results:
                outcome.results[step.grade_id] = _judge_item(items[step.grade_id], step.grade_id, session,
                                                             cases_of(step.grade_id), config, unavailable, cells,
                                                             failed_cells, outcome.flags, language)
            continue
        if not _run_cell(step, session, unavailable, failed_cells, outcome, config):
            break
    return outcome


def cell_code(statements):
    """The one line that runs a cell's statements in the room, each on its own (coursekit.harness.run_statements)."""
    return (f"__import__('coursekit.harness').harness.run_statements(get_ipython(), {tuple(statements)!r}, "
            f"{RESULT_MIME!r})")


def _run_cell(cell, session, unavailable, failed_cells, outcome, config):
    """Run ``cell`` in one round trip; after a kill (the kernel ignored the interrupt, or died), again statement by
    statement in the new kernel, so that only the statement that caused it is lost. False when nothing runs any
    more (the session gave up)."""
    runnable = [code for code in cell.statements if not too_deep_python(code)]
    if len(runnable) < len(cell.statements):
        _note(cell, TOO_DEEP, failed_cells, outcome)
    if not runnable:
        return True
    run = session.run(cell_code(runnable))
    if run is None:
        return False
    if run.status in ("ok", "error") and len(run.results) == 1:
        try:
            failed = read_packed(decode_payloads(run.results, config.max_result_bytes)[0])["failed"]
            for index, ename, evalue in failed:
                unavailable.note_failed_import(runnable[int(index)], str(evalue))
                _note(cell, unavailable.explain(f"{ename}: {evalue}"), failed_cells, outcome)
            return True
        except Exception:  # what the room said about its statements is unreadable: say so, go on
            _note(cell, Text("the clean room's report on this cell could not be read"), failed_cells, outcome)
            return True
    if run.status == "timeout" and run.kernel_alive:  # interrupted, the rest of the cell ran
        outcome.flags.append(Flag.of(Flag.TIMEOUT, cell.label))
        _note(cell, run.detail, failed_cells, outcome)
        return True
    if run.kernel_alive:
        _note(cell, Text("the clean room's report on this cell is missing"), failed_cells, outcome)
        return True
    for code in runnable:  # killed or died: the new kernel runs the cell one statement at a time
        if not _run_statement(cell, code, session, unavailable, failed_cells, outcome):
            return False
    return True


def _note(cell, problem, failed_cells, outcome):
    """Record the first problem of a learner's cell (for messages and the cell-error list)."""
    if problem and cell.learner and cell.label not in failed_cells:
        problem = render(problem, outcome.language)
        failed_cells[cell.label] = (cell.title, problem)
        outcome.cell_errors.append(CellError(render(Text("{cell} (clean room)", cell=cell.title), outcome.language),
                                             problem))


def _run_statement(cell, code, session, unavailable, failed_cells, outcome):
    """Run one statement of ``cell`` on its own; False when nothing runs any more (the session gave up)."""
    run = session.run(code)
    if run is None:
        return False
    problem = None
    if run.status == "error":
        ename, evalue = run.error
        unavailable.note_failed_import(code, evalue)
        problem = unavailable.explain(f"{ename}: {evalue}")
    elif run.status in ("timeout", "died"):
        outcome.flags.append(Flag.of(Flag.TIMEOUT if run.status == "timeout" else Flag.CRASH, cell.label))
        problem = run.detail
    _note(cell, problem, failed_cells, outcome)
    return True


def _judge_item(item, gid, session, cases, config, unavailable, cells, failed_cells, flags, language="en"):
    """Ask the room for ``item``'s outcomes on ``cases`` and judge them here; an ItemResult (its message in
    ``language``)."""
    def lost(message, flag, ran=False):
        flags.append(Flag.of(flag, gid))
        return ItemResult(gid, item.target, float(item.points), 0.0, False, render(message, language), ran=ran)

    run = session.run(evaluation_code(item, cases), replay=False)
    if run is None:
        return lost(Text("{target} was not checked: {reason}", target=item.target, reason=session.gave_up),
                    Flag.NOT_RUN)
    if run.status == "timeout":
        return lost(Text("checking {target} took longer than {seconds:g} s (an endless loop?); no points",
                         target=item.target, seconds=config.timeout), Flag.TIMEOUT)
    if run.status == "died":
        return lost(Text("the kernel died while {target} was being checked: {detail}", target=item.target,
                         detail=run.detail), Flag.CRASH)
    if run.status == "error":
        error = "{}: {}".format(*run.error)
        passed, flag, missing = False, None, False
        message = render(Text("the check of {target} stopped with {error}", target=item.target, error=error),
                         language)
    else:
        judgement = judge_result(item, cases, run.results, config.max_result_bytes, unavailable.explain, language)
        passed, message, flag, missing = judgement.passed, judgement.message, judgement.flag, judgement.missing
    if missing:
        stopped = [(title, problem) for label, (title, problem) in failed_cells.items()
                   if _defines_in(cells, label, item.target)]
        if stopped:
            message = render(Text("{target} is not defined. Its cell ({cell}) stopped with {problem}.",
                                  target=item.target, cell=stopped[0][0], problem=stopped[0][1]), language)
    if flag:
        flags.append(Flag.of(flag, gid))
    return ItemResult(gid, item.target, float(item.points), float(item.points) if passed else 0.0, passed, message)


def _defines_in(cells, label, target):
    return any(isinstance(cell, RoomCell) and cell.label == label
               and any(_defines(code, target) for code in cell.statements) for cell in cells)
