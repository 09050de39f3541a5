"""A learner's self-check: run my notebook in a fresh kernel and tell me, item by item, what passes.

Same engine as grading, but with the public cases (seed PUBLIC_SEED, hidden=False) and the notebook as it is:
its test cells name the items (their grade ids), nothing is restored from an instructor version.
"""

import dataclasses
import shutil
import time
from pathlib import Path

import coursekit.items
from autograder.assignment import cell_kind, grade_id, notebook_imports
from autograder.engine import KernelSupply, Session, run_notebook, setup_code, stage_files, _copy_files
from autograder.submission import read_notebook
from coursekit.checking import PUBLIC_SEED


@dataclasses.dataclass
class SelfCheck:
    assignment: str
    tests: list  # engine.ItemResult
    cell_errors: list
    unknown: list  # test cells whose grade id names no item
    flags: list

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


def self_check(path, config):
    path = Path(path)
    notebook = read_notebook(path)
    assignment, tests, unknown = items_of(notebook)
    if not tests:
        raise ValueError(f"{path.name} has no test cell that names a graded item (nbgrader grade id); "
                         "is it a course notebook?")
    supply = KernelSupply(config, setup_code(notebook_imports(notebook), config.kernel_setup))
    kernel, scratch = supply.take(ahead=False)
    deadline = time.monotonic() + config.notebook_timeout if config.notebook_timeout else None
    session = Session(kernel, lambda: supply.restart(scratch), config, deadline)
    flags = []
    try:
        _copy_files([path.parent], scratch, config.max_copy_bytes)
        stage_files(session, config)
        results, cell_errors = run_notebook(notebook, tests, session, scratch, assignment_name=assignment,
                                            seed=PUBLIC_SEED, hidden=False, config=config, flags=flags)
    finally:
        session.close()
        supply.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return SelfCheck(assignment, results, cell_errors, unknown, flags)


def report(check):
    """The text printed by ``python -m autograder check``."""
    lines = [f"Self-check of {check.assignment} (public cases):"]
    for t in check.tests:
        mark = "PASS" if t.passed else "FAIL"
        lines.append(f"{mark}  {t.grade_id} ({t.target}, {t.max_score:g} points)")
        lines += [f"      {line}" for line in t.message.splitlines()]
    for gid in check.unknown:
        lines.append(f"????  {gid}: no graded item has this name (a renamed test cell?)")
    if check.cell_errors:
        lines.append("Cells that stopped with an error:")
        lines += [f"  {cell}: {problem}" for cell, problem in check.cell_errors]
    passed = sum(t.passed for t in check.tests)
    lines.append(f"{passed}/{len(check.tests)} items pass" + (" - well done!" if check.passed else "."))
    return "\n".join(lines)
