"""Grade one submission: run the learner's code in a fresh kernel, judge each item in the grader's own process.

For every autograded test cell the kernel runs a tiny snippet instead of the cell: it calls
``coursekit.checking.run_item`` with that item's secret seed and publishes the packed outcomes (plain data, no
pickles) on the kernel's output channel. The grader decodes them strictly (``checkdata``) and calls ``judge``
itself, so the score never comes from code the learner could have changed; the judge's message is the feedback.
Before anything runs, ``policy`` reviews the learner's code (forbidden shortcuts and attacks on the grader cost
points and raise ``policy:<rule>`` flags); ``sandbox`` isolates the kernel from the machine.

A cell that crashes the kernel (os._exit, segfault, out of memory) or exceeds its timeout only costs what could not
run: the grader starts a new kernel, replays the cells that had run before (their output discarded) and
continues with the next cell.
"""

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from autograder.assignment import cell_kind, grade_id
from autograder.checkdata import RESULT_MIME, decode_payloads, item_seed, read_packed
from autograder.kernel import Kernel, KernelLimits
from autograder.policy import review
from autograder.sandbox import STAGE_SNIPPET
from autograder.submission import SubmissionError, merge, read_notebook
from coursekit.checking import PUBLIC_SEED, cases_for, judge


@dataclasses.dataclass(frozen=True)
class GradingConfig:
    """How submissions are run. Times in seconds, sizes in bytes."""

    timeout: float = 60.0            # per cell (and per item check)
    grace: float = 5.0               # after an interrupt, before the kernel is killed
    max_output_bytes: int = 64 * 1024  # output kept per cell
    max_restarts: int = 3            # kernel crashes/kills tolerated per submission before giving up
    notebook_timeout: float | None = 900.0  # budget for one submission; the rest is skipped when exceeded
    max_result_bytes: int = 64 * 2**20  # a check's packed outcomes larger than this are refused
    max_copy_bytes: int = 20 * 2**20  # the learner's extra files copied next to the notebook
    limits: KernelLimits = KernelLimits()
    launch_prefix: tuple = ()        # command prefix for every kernel (a sandbox wrapper)
    kernel_setup: str = ""           # trusted code run in every kernel before the learner's code
    scratch_dir: str | None = None   # where the per-submission scratch folders are created
    sandbox: object = None           # an autograder.sandbox.Sandbox (None: kernels run on the host, rlimits only)
    sandbox_note: str = ""           # one line saying which protections were active (summary, results files)
    policy: bool = True              # review each submission's code (autograder/policy.py) before running it


def draw_secret():
    """The seed of the hidden cases of one grading run (never the public seed the notebooks use)."""
    while True:
        seed = int.from_bytes(os.urandom(8), "little")
        if seed != PUBLIC_SEED:
            return seed


# ----------------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ItemResult:
    """One autograded item. ``ran`` is False when it could not run (timeout, crash, budget)."""

    grade_id: str
    target: str
    max_score: float
    score: float
    passed: bool
    message: str
    ran: bool = True


@dataclasses.dataclass
class ManualResult:
    """A written answer: ``answered`` False means it still holds the stub (0 points, nothing to grade)."""

    grade_id: str
    max_score: float
    answered: bool


@dataclasses.dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str  # "graded", "incomplete" or "error"
    score: float
    max_score: float  # autograded points only; written answers are in ``manual``
    flags: list
    tests: list
    manual: list
    execution_time: float
    message: str = ""  # why an error row is an error
    notebook: nbformat.NotebookNode | None = None  # the executed notebook (outputs capped)
    cell_errors: list = dataclasses.field(default_factory=list)  # (cell label, "Name: message")
    timestamp: str | None = None  # when it was submitted (nbgrader's timestamp.txt), for the gradebook
    sandbox: str = ""  # which protections were active (GradingConfig.sandbox_note)


def error_result(student_id, assignment, flag, message, seconds=0.0):
    return SubmissionResult(student_id, assignment.name, "error", 0.0, assignment.autograded_max, [flag], [], [],
                            seconds, message)


# ----------------------------------------------------------------------------------------------------------------
# Kernels: a warm one ready for the next submission, each in a new scratch folder
# ----------------------------------------------------------------------------------------------------------------

def setup_code(modules, extra=""):
    """Trusted code run in each kernel first: import what grading and the notebook need (warm start-up)."""
    modules = ["coursekit.checking", "coursekit.items", *modules]
    return (f"def __autograder_setup():\n"
            f"    import importlib\n"
            f"    for name in {modules!r}:\n"
            f"        try:\n"
            f"            importlib.import_module(name)\n"
            f"        except Exception:\n"
            f"            pass\n"
            f"__autograder_setup()\n"
            f"del __autograder_setup\n" + (extra or ""))


class KernelSupply:
    """Hands out started kernels, each in a brand-new scratch folder, and starts the next one in advance.

    One supply per worker thread. ``take(ahead=True)`` returns the kernel started earlier (its imports are
    probably done) and immediately starts another for the next submission.
    """

    def __init__(self, config, setup):
        self.config, self.setup = config, setup
        self.runtime_dir = tempfile.mkdtemp(prefix="agrt")
        self._spare = None
        self.stop = threading.Event()  # set when the whole run is interrupted: no new kernels, no more cells
        self._started = []  # every kernel handed out, so that stop_all() can end the running ones

    def _new(self, scratch=None):
        scratch = Path(scratch or tempfile.mkdtemp(prefix="ag-", dir=self.config.scratch_dir))
        kernel = Kernel(scratch, setup_code=self.setup, limits=self.config.limits,
                        prefix=self.config.launch_prefix, runtime_dir=self.runtime_dir, sandbox=self.config.sandbox)
        try:
            kernel.start()
        except BaseException:
            kernel.kill()
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        self._started = [k for k in self._started if k.alive] + [kernel]
        return kernel, scratch

    def prime(self):
        """Start the first kernel now."""
        if self._spare is None:
            self._spare = self._new()

    def check(self):
        """Wait for the waiting kernel to be ready: KernelStartError if the setup code cannot run at all."""
        self.prime()
        self._spare[0].wait_ready()

    def take(self, ahead=True):
        """The waiting (or a new) kernel and its scratch folder; with ``ahead``, start the next one now."""
        kernel, scratch = self._spare or self._new()
        self._spare = self._new() if ahead else None
        return kernel, scratch

    def restart(self, scratch):
        """A new kernel in the same scratch folder (after a crash)."""
        return self._new(scratch)[0]

    def stop_all(self):
        """Interrupt the run: kill this supply's kernels; the sessions using them give up."""
        self.stop.set()
        for kernel in list(self._started):
            kernel.kill_process()

    def close(self):
        if self._spare:
            kernel, scratch = self._spare
            kernel.kill()
            shutil.rmtree(scratch, ignore_errors=True)
            self._spare = None
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------------
# One kernel session with restarts
# ----------------------------------------------------------------------------------------------------------------

class Session:
    """Runs cells in order; after a crash, a new kernel replays the cells that ran before, then goes on."""

    def __init__(self, kernel, restart, config, deadline, stop=None):
        self.kernel, self._restart_fn, self.config, self.deadline = kernel, restart, config, deadline
        self.stop = stop
        self.history = []  # code that ran to completion (ok or error): replayed after a restart
        self.restarts = 0
        self.gave_up = None  # reason, once the session stopped running code

    def run(self, code, *, replay=True):
        """A CellRun, or None when nothing runs any more (see ``gave_up``)."""
        if self.gave_up is None and self.stop is not None and self.stop.is_set():
            self.gave_up = "grading was interrupted"
        if self.gave_up is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.gave_up = f"the submission used up its time budget of {self.config.notebook_timeout:g} s"
        if self.gave_up is None and not self.kernel.alive and not self._restart():
            return None
        if self.gave_up is not None:
            return None
        timeout = self.config.timeout
        if self.deadline is not None:
            timeout = max(1.0, min(timeout, self.deadline - time.monotonic()))
        run = self.kernel.run(code, timeout=timeout, max_output_bytes=self.config.max_output_bytes,
                              grace=self.config.grace, store_history=replay)
        if replay and run.status in ("ok", "error"):
            self.history.append(code)
        return run

    def _restart(self):
        if self.restarts >= self.config.max_restarts:
            self.gave_up = f"the kernel stopped {self.restarts + 1} times; the remaining cells were not run"
            return False
        self.restarts += 1
        self.kernel.kill()
        self.kernel = self._restart_fn()
        for code in self.history:  # rebuild the state the next cells expect
            timeout = self.config.timeout
            if self.deadline is not None:
                timeout = max(1.0, min(timeout, self.deadline - time.monotonic()))
            run = self.kernel.run(code, timeout=timeout, max_output_bytes=0, grace=self.config.grace)
            if not run.kernel_alive:
                self.gave_up = "the kernel stopped again while replaying earlier cells after a crash"
                return False
        return True

    def close(self):
        self.kernel.kill()


# ----------------------------------------------------------------------------------------------------------------
# Checking one item in the kernel, judging it here
# ----------------------------------------------------------------------------------------------------------------

# The result goes back as display data of a private MIME type on the kernel's authenticated output channel: no
# file that the kernel (or what it left running) could swap (autograder/checkdata.py).
_CHECK_SNIPPET = """\
def __autograder_check():
    import base64
    import coursekit.checking as checking, coursekit.items as items
    from IPython.display import publish_display_data
    item = items.get({assignment!r}, {grade_id!r})
    try:
        result = checking.run_item(item, globals(), seed={seed!r}, hidden={hidden!r})
    except Exception as exc:
        result = {{"missing": False, "forbidden": [], "outcomes": [], "crash": f"{{type(exc).__name__}}: {{exc}}"}}
    publish_display_data({{{mime!r}: base64.b64encode(checking.pack(result)).decode("ascii")}})
__autograder_check()
del __autograder_check
"""


class MalformedResult(ValueError):
    pass


def _text(value, limit=2000):
    if not isinstance(value, str):
        raise MalformedResult(f"expected text, got {type(value).__name__}")
    return value[:limit]


def _clean_outcomes(data):
    """The outcomes of run_item rebuilt with strict types (the file came from the learner's kernel)."""
    if not isinstance(data, dict) or not isinstance(data.get("outcomes"), tuple):
        raise MalformedResult("not a run_item result")
    outcomes = []
    for outcome in data["outcomes"]:
        if not isinstance(outcome, dict) or not {"output", "error", "modified_input"} <= outcome.keys():
            raise MalformedResult("an outcome lacks output/error/modified_input")
        warnings_ = outcome.get("warnings", ())
        if not isinstance(warnings_, tuple) or not isinstance(outcome["modified_input"], bool):
            raise MalformedResult("an outcome has fields of the wrong type")
        outcomes.append({"output": outcome["output"],
                         "error": None if outcome["error"] is None else _text(outcome["error"]),
                         "modified_input": outcome["modified_input"],
                         "warnings": [_text(w) for w in warnings_]})
    forbidden = data.get("forbidden", ())
    if not isinstance(forbidden, tuple):
        raise MalformedResult("forbidden names are not a list")
    return outcomes, [_text(name, 100) for name in forbidden]


def judge_file(item, path, seed, hidden, max_bytes):
    """(passed, message, flag or None) for the packed result at ``path`` (see :func:`judge_data`)."""
    if not path.is_file():
        return False, f"the check of {item.target} did not produce a result", "no-result"
    size = path.stat().st_size
    if size > max_bytes:
        return False, f"{item.target} returned {size} bytes of output; more than the {max_bytes} accepted", \
            "result-too-large"
    return judge_data(item, path.read_bytes(), seed, hidden, max_bytes)


def judge_payloads(item, payloads, seed, hidden, max_bytes):
    """(passed, message, flag or None) for what a check published under RESULT_MIME (one base64 payload)."""
    data, flag, problem = decode_payloads(payloads, max_bytes)
    if data is None:
        return False, f"the check of {item.target} {problem}", flag
    return judge_data(item, data, seed, hidden, max_bytes)


def judge_data(item, packed, seed, hidden, max_bytes):
    """(passed, message, flag or None) for packed bytes from the kernel, decoded strictly (checkdata)."""
    try:
        data = read_packed(packed, max_bytes)
        if isinstance(data, dict) and data.get("missing") is True:
            return False, f"{item.target} is not defined.", None
        if isinstance(data, dict) and data.get("crash") is not None:
            return False, f"the check of {item.target} failed: {_text(data['crash'])}", None
        outcomes, forbidden = _clean_outcomes(data)
    except Exception as exc:  # whatever the file holds, it never crashes the grader
        return False, f"the check of {item.target} returned data the grader cannot read ({exc})", "bad-result"
    if forbidden:
        return False, (f"{item.target} uses {', '.join(forbidden)}; this exercise must be written without "
                       f"{', '.join(item.forbidden)}."), "policy:forbidden-name"
    try:
        verdict = judge(item, cases_for(item, seed, hidden), outcomes)
    except Exception as exc:
        return False, f"{item.target}: the output could not be compared with the answer ({type(exc).__name__}: " \
                      f"{exc})", None
    return verdict.passed, verdict.message, None


def check_item(session, scratch, assignment_name, gid, item, seed, hidden, config):
    """Run ``item`` against the kernel's namespace; (passed, message, flag, ran).

    ``seed`` is an int, or a function of the grade id (grading: each item its own seed, see checkdata.item_seed),
    so that the kernel learns an item's seed only when that item is checked."""
    seed = seed(gid) if callable(seed) else seed
    code = _CHECK_SNIPPET.format(assignment=assignment_name, grade_id=gid, seed=seed, hidden=hidden,
                                 mime=RESULT_MIME)
    run = session.run(code, replay=False)
    if run is None:
        return False, f"{item.target} was not checked: {session.gave_up}", "not-run", False
    if run.status == "timeout":
        return False, (f"checking {item.target} took longer than {config.timeout:g} s (an endless loop?); "
                       "no points"), "timeout", False
    if run.status == "died":
        return False, f"the kernel died while {item.target} was being checked: {run.detail}", "crash", False
    if run.status == "error":
        ename, evalue = run.error
        return False, f"the check of {item.target} stopped with {ename}: {evalue}", None, True
    passed, message, flag = judge_payloads(item, run.results, seed, hidden, config.max_result_bytes)
    return passed, message, flag, True


# ----------------------------------------------------------------------------------------------------------------
# A whole submission
# ----------------------------------------------------------------------------------------------------------------

def _label(cell):
    return grade_id(cell) or cell.get("id") or "?"


def _copy_files(source_dirs, scratch, max_bytes):
    """Copy the non-notebook files of ``source_dirs`` (later ones win) into ``scratch``; False if too big."""
    for folder in source_dirs:
        if folder is None:
            continue
        files = [p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb"
                 and not any(part.startswith(".") for part in p.relative_to(folder).parts)]  # links could leak
        if sum(p.stat().st_size for p in files) > max_bytes:
            return False
        for path in files:
            target = Path(scratch) / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return True


def public_folder(assignment):
    """The folder whose other files (data) go next to the notebook: the released course/<assignment>/ when it
    exists, so that nothing that is only in solutions/ ever reaches a kernel."""
    released = assignment.folder.parent.parent / "course" / assignment.name
    return released if released.is_dir() else assignment.folder


def stage_files(session, config):
    """In a sandbox the kernel's working folder is private: copy the staged files into it (trusted code, kept in
    the history so that a restarted kernel gets them again)."""
    if config.sandbox is not None:
        session.run(STAGE_SNIPPET)


def _test_outputs(passed, message):
    """What the executed notebook shows in a test cell (an error output when failed, as nbgrader expects)."""
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=message + "\n")]
    if not passed:
        outputs.append(nbformat.v4.new_output("error", ename="AssertionError", evalue=message.splitlines()[0],
                                              traceback=[]))
    return outputs


def run_notebook(notebook, tests, session, scratch, *, assignment_name, seed, hidden, config, flags, zeroed=None):
    """Execute the code cells of ``notebook`` in order; test cells (grade id -> Item in ``tests``) are checked
    instead of run. ``zeroed``: grade id -> policy violation that costs the item its points whatever the check
    says. Returns (ItemResult list, cell errors)."""
    results, cell_errors, last_error = [], [], {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if cell_kind(cell) == "test" and gid in tests:
            item = tests[gid]
            passed, message, flag, ran = check_item(session, scratch, assignment_name, gid, item, seed, hidden,
                                                    config)
            if not passed and message.endswith("is not defined.") and item.target in last_error:
                message += f" Its cell {last_error[item.target]}."
            if flag:
                flags.append(f"{flag}:{gid}")
            if gid in (zeroed or {}):  # policy hook (autograder/policy.py): the verdict stays visible for review
                passed, message = False, f"0 points: {zeroed[gid].message}.\nThe check itself said: {message}"
            results.append(ItemResult(gid, item.target, float(item.points), float(item.points) if passed else 0.0,
                                      passed, message, ran))
            cell.outputs, cell.execution_count = _test_outputs(passed, message), None
            continue
        if cell_kind(cell) == "test":  # a test cell without an item is never run (its output is not trusted)
            continue
        run = session.run(cell.source)
        if run is None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                                   text=f"[grader] not run: {session.gave_up}\n")]
            continue
        cell.outputs, cell.execution_count = [nbformat.from_dict(output) for output in run.outputs], None
        if run.status in ("timeout", "died"):
            flags.append(f"{'timeout' if run.status == 'timeout' else 'crash'}:{_label(cell)}")
        problem = (f"{run.error[0]}: {run.error[1]}" if run.error and run.status == "error"
                   else run.detail if run.status in ("timeout", "died") else None)
        if problem:
            cell_errors.append((_label(cell), problem))
            for target in _defined_targets(cell.source, tests):
                last_error[target] = f"'{_label(cell)}' stopped with {problem}"
    return results, cell_errors


def _defined_targets(source, tests):
    return [item.target for item in tests.values() if f"def {item.target}(" in source or
            f"{item.target} =" in source]


def grade_submission(assignment, student_id, notebook_path, supply, config, seed, extra_files_dir=None,
                     hidden=True, ahead=True):
    """Grade one submitted notebook; always returns a SubmissionResult (status error when nothing is gradable)."""
    start = time.monotonic()
    try:
        submitted = read_notebook(Path(notebook_path))
        merged = merge(assignment, submitted)
    except SubmissionError as exc:
        return error_result(student_id, assignment, exc.flag, str(exc), time.monotonic() - start)
    flags = list(merged.flags)
    notebook = merged.notebook
    zeroed = {}
    if config.policy:  # policy hook: review the learner's code before it runs (autograder/policy.py)
        try:
            for violation in review(assignment, merged):
                flags.append(violation.flag)
                for gid in violation.items:
                    zeroed.setdefault(gid, violation)
        except Exception:  # a bug of the review must not stop grading; the instructor sees the flag
            flags.append("grader-error:policy")

    manual = []
    for cell, index in zip(notebook.cells, merged.origin):
        if index is not None and cell_kind(cell) == "manual":
            blank = assignment.released[index].source
            manual.append(ManualResult(grade_id(cell), assignment.manual[grade_id(cell)],
                                       cell.source.strip() not in ("", blank.strip())))
    for gid, points in assignment.manual.items():
        if gid not in {m.grade_id for m in manual}:
            manual.append(ManualResult(gid, points, False))

    kernel, scratch = supply.take(ahead)
    deadline = start + config.notebook_timeout if config.notebook_timeout else None
    session = Session(kernel, lambda: supply.restart(scratch), config, deadline, supply.stop)
    try:
        if not _copy_files([extra_files_dir, public_folder(assignment)], scratch, config.max_copy_bytes):
            flags.append("extra-files-too-large")
        stage_files(session, config)
        # Each item its own seed, derived from the run's secret and told to the kernel only when it is checked.
        seeds = (lambda gid: item_seed(seed, student_id, gid)) if hidden else seed
        results, cell_errors = run_notebook(notebook, assignment.tests, session, scratch,
                                            assignment_name=assignment.name, seed=seeds, hidden=hidden,
                                            config=config, flags=flags, zeroed=zeroed)
    finally:
        session.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if session.gave_up:
        flags.append("gave-up")

    missing = [gid for gid in assignment.tests if gid not in {r.grade_id for r in results}]
    for gid in missing:  # a test cell that is in neither the submission nor restorable: cannot happen, but be sure
        item = assignment.tests[gid]
        results.append(ItemResult(gid, item.target, float(item.points), 0.0, False, "this test was not found", False))
        flags.append(f"not-run:{gid}")
    flags += [f"needs-manual-grading:{m.grade_id}" for m in manual if m.answered]
    flags = list(dict.fromkeys(flags))  # a policy rule found twice in one cell is one flag
    incomplete = session.gave_up or any(not r.ran for r in results) or any(
        f.startswith(("timeout:", "crash:")) for f in flags)
    return SubmissionResult(
        student_id=student_id, assignment=assignment.name, status="incomplete" if incomplete else "graded",
        score=sum(r.score for r in results), max_score=assignment.autograded_max, flags=flags, tests=results,
        manual=manual, execution_time=time.monotonic() - start, notebook=notebook, cell_errors=cell_errors,
        sandbox=config.sandbox_note)
