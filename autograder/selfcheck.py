"""A learner's self-check: run my notebook as the grader would and tell me, item by item, what passes.

The same Grader as grading (clean rooms, the full run for cell errors), with the public cases (seed PUBLIC_SEED,
the ones the notebook's own checks use): a self-check predicts the grade without revealing hidden cases.
"""

import dataclasses
from pathlib import Path

import coursekit.items
from autograder.assignment import cell_kind, grade_id, load_assignment
from autograder.grader import Grader
from autograder.submission import read_notebook
from coursekit.feedback import points_phrase
from coursekit.i18n import SOURCE, Text, render


@dataclasses.dataclass
class SelfCheck:
    assignment: str
    tests: list  # outcomes.ItemResult
    cell_errors: list
    unknown: list  # test cells whose grade id names no item
    flags: list
    language: str = SOURCE  # the notebook's: the report is in it

    @property
    def passed(self):
        return bool(self.tests) and all(t.passed for t in self.tests)


def items_of(notebook):
    """(assignment, {grade id: Item}, unknown grade ids) for the test cells of ``notebook``."""
    ids = [grade_id(cell) for cell in notebook.cells if cell_kind(cell) == "test" and grade_id(cell)]
    best = max(coursekit.items.ASSIGNMENTS.items(), key=lambda kv: sum(gid in kv[1] for gid in ids),
               default=(None, {}))
    name, registry = best
    tests = {gid: registry[gid] for gid in ids if gid in registry}
    return name, tests, [gid for gid in ids if gid not in registry]


def self_check(path, config, root=None):
    """Check the notebook at ``path`` against its assignment in ``root`` (default: this repository)."""
    from autograder.gradescope import PROJECT

    path = Path(path)
    notebook = read_notebook(path)
    name, tests, unknown = items_of(notebook)
    if not tests:
        raise ValueError(f"{path.name} has no test cell that names a graded item (nbgrader grade id); "
                         "is it a course notebook?")
    assignment = load_assignment(Path(root) if root else PROJECT, name)
    grader = Grader(assignment, config, secret=None)
    kernels = grader.kernels()
    try:
        result = grader.grade("self-check", path, kernels, extra_files_dir=path.parent, ahead=False)
    finally:
        kernels.close()
        grader.close()
    if result.status == "error":
        raise ValueError(result.message)
    return SelfCheck(name, result.tests, result.cell_errors, unknown, result.flags, result.language)


def report(check):
    """The text printed by ``python -m autograder check``, in the notebook's language."""
    def say(message):
        return render(message, check.language)

    lines = [say(Text("Self-check of {assignment} (public cases):", assignment=check.assignment))]
    for t in check.tests:
        mark = "PASS" if t.passed else "FAIL"
        lines.append(f"{mark}  {t.grade_id} ({t.target}, {say(points_phrase(t.max_score))})")
        lines += [f"      {line}" for line in t.message.splitlines()]
    for gid in check.unknown:
        lines.append("????  " + say(Text("{grade_id}: no graded item has this name (a renamed test cell?)",
                                         grade_id=gid)))
    if check.cell_errors:
        lines.append(say(Text("Cells that stopped with an error:")))
        lines += [f"  {cell}: {problem}" for cell, problem in check.cell_errors]
    passed, total = sum(t.passed for t in check.tests), len(check.tests)
    lines.append(say(Text("{passed}/{total} items pass - well done!", passed=passed, total=total) if check.passed
                     else Text("{passed}/{total} items pass.", passed=passed, total=total)))
    return "\n".join(lines)
