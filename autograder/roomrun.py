"""One submission in one clean room (净室评测): run the learner's code, then judge each item on cases drawn here.

See :mod:`autograder.cleanroom` for what a room is. Per item, the grader draws the cases (public or hidden, with
the item's own seed), sends only their inputs to the room (``coursekit.checking.request``: plain data, inlined as
base64 in a one-line call of ``coursekit.harness.evaluate_and_publish``) and judges the plain outputs with the
cases it kept (:mod:`autograder.judging`).
"""

import ast
import base64
import dataclasses

from autograder.checkdata import RESULT_MIME
from autograder.cleanroom import Unavailable
from autograder.judging import judge_result
from autograder.outcomes import CellError, Flag, ItemResult
from coursekit.checking import request
from coursekit.harness import pack


@dataclasses.dataclass
class RoomOutcome:
    """The items judged in a room, the learner's cells that failed there, and flags."""

    results: dict  # grade id -> ItemResult
    cell_errors: list  # CellError, learner cells only
    flags: list


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


def run_room(room, cells, items, session, *, cases_of, config):
    """Run ``cells`` (cleanroom.RoomCell) in ``session``, then judge every item of ``room``.

    ``items``: grade id -> Item; ``cases_of(grade_id)`` -> the cases to judge on."""
    unavailable = Unavailable(room)
    cell_errors, flags, failed_cells = [], [], {}
    for cell in cells:
        for code in cell.statements:
            run = session.run(code)
            if run is None:
                break
            if run.status == "error":
                ename, evalue = run.error
                unavailable.note_failed_import(code, evalue)
                if cell.learner and cell.label not in failed_cells:
                    problem = unavailable.explain(f"{ename}: {evalue}")
                    failed_cells[cell.label] = (cell.title, problem)
                    cell_errors.append(CellError(f"{cell.title} (clean room)", problem))
            elif run.status in ("timeout", "died"):
                flags.append(Flag.of(Flag.TIMEOUT if run.status == "timeout" else Flag.CRASH, cell.label))
                if cell.learner and cell.label not in failed_cells:
                    failed_cells[cell.label] = (cell.title, run.detail)
                    cell_errors.append(CellError(f"{cell.title} (clean room)", run.detail))

    results = {}
    for gid in room.items:
        item = items[gid]
        cases = cases_of(gid)
        run = session.run(evaluation_code(item, cases), replay=False)
        if run is None:
            results[gid] = ItemResult(gid, item.target, float(item.points), 0.0, False,
                                      f"{item.target} was not checked: {session.gave_up}", ran=False)
            flags.append(Flag.of(Flag.NOT_RUN, gid))
            continue
        if run.status == "timeout":
            message = f"checking {item.target} took longer than {config.timeout:g} s (an endless loop?); no points"
            results[gid] = ItemResult(gid, item.target, float(item.points), 0.0, False, message, ran=False)
            flags.append(Flag.of(Flag.TIMEOUT, gid))
            continue
        if run.status == "died":
            message = f"the kernel died while {item.target} was being checked: {run.detail}"
            results[gid] = ItemResult(gid, item.target, float(item.points), 0.0, False, message, ran=False)
            flags.append(Flag.of(Flag.CRASH, gid))
            continue
        if run.status == "error":
            ename, evalue = run.error
            judgement_passed, message, flag = False, f"the check of {item.target} stopped with {ename}: {evalue}", None
        else:
            judgement = judge_result(item, cases, run.results, config.max_result_bytes, unavailable.explain)
            judgement_passed, message, flag = judgement.passed, judgement.message, judgement.flag
        if not judgement_passed and message.endswith("is not defined."):
            stopped = [(title, problem) for label, (title, problem) in failed_cells.items()
                       if _defines_in(cells, label, item.target)]
            if stopped:
                message += f" Its cell ({stopped[0][0]}) stopped with {stopped[0][1]}."
        if flag:
            flags.append(Flag.of(flag, gid))
        results[gid] = ItemResult(gid, item.target, float(item.points), float(item.points) if judgement_passed
                                  else 0.0, judgement_passed, message)
    return RoomOutcome(results, cell_errors, flags)


def _defines_in(cells, label, target):
    return any(cell.label == label and any(_defines(code, target) for code in cell.statements) for cell in cells)
