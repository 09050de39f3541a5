"""The grader (评分器): one ``Grader(assignment, config)`` that the class runner, Gradescope and the self-check call.

Grading one submission, in order (each step one module):

1. read the file defensively and merge it with the instructor notebook (``submission``);
2. review the learner's code (``policy``): findings are flags for the instructor, never lost points;
3. per clean room (``cleanroom``), run the learner's code there and judge each item on cases drawn here
   (``roomrun``, ``judging``): the only source of points;
4. run the whole notebook once in a full kernel for the executed copy (``executed``), then make it inert
   (``safety``).

Kernels come from :class:`WorkerKernels` (one per worker thread: a warm full kernel and a warm kernel per room).
A grader problem while grading one submission becomes that submission's ``grader-error`` row.
"""

import time
import traceback
from pathlib import Path

from autograder import cleanroom
from autograder.assignment import cell_kind, grade_id, section_titles
from autograder.checkdata import item_seed
from autograder.executed import run_cells, show_verdict
from autograder.outcomes import Flag, ItemResult, ManualResult, Status, SubmissionResult, error_result, unique
from autograder.policy import review
from autograder.roomrun import room_setup_code, run_room
from autograder.safety import inert_notebook, printable
from autograder.sessions import KernelSupply, Session, copy_files, public_folder, setup_code, stage_files
from autograder.submission import SubmissionError, merge, read_notebook
from coursekit.checking import PUBLIC_SEED, cases_for
from coursekit.i18n import SOURCE, Text, notebook_language, render


ROOM_WARM_MODULES = ("numpy", "coursekit.harness", "IPython.display", "matplotlib.pyplot")  # every room's imports


class WorkerKernels:
    """The kernels of one worker: a supply for full-notebook kernels and one per clean room."""

    def __init__(self, full, rooms):
        self.full, self.rooms = full, rooms  # KernelSupply, {Room: KernelSupply}

    @property
    def all(self):
        return [self.full, *self.rooms.values()]

    def prime(self):
        for supply in self.all:
            supply.prime()

    def check(self):
        """KernelStartError when a kernel cannot start at all (before anything is graded)."""
        for supply in self.all:
            supply.check()

    @property
    def stop(self):
        return self.full.stop

    def stop_all(self):
        for supply in self.all:
            supply.stop_all()
        for supply in self.rooms.values():
            supply.stop.set()

    def close(self):
        for supply in self.all:
            supply.close()


class Grader:
    """Grades submissions of one assignment (autograder.assignment.Assignment) under ``config``.

    ``secret``: the run's secret (hidden cases, seeded per student and item); None: the public cases, as the
    notebook's own checks use them (a learner's self-check).
    """

    def __init__(self, assignment, config, secret=None):
        self.assignment, self.config, self.secret = assignment, config, secret
        self.rooms = cleanroom.rooms(assignment)
        self._files = {room: cleanroom.RoomFiles(room) for room in self.rooms}

    # -- kernels --------------------------------------------------------------------------------------------------

    def kernels(self):
        """A new WorkerKernels (call once per worker thread)."""
        config = self.config
        warm = self.assignment.warm_imports()
        full = KernelSupply(config, setup_code(warm, config.kernel_setup), warm_modules=warm)
        rooms = {}
        for room in self.rooms:
            files = self._files[room]
            if config.sandbox is not None:
                sandbox, env = config.sandbox.for_room(files.library, files.covered), {"MPLBACKEND": "agg"}
            else:  # no sandbox: the filtered coursekit comes first on the path, and an import guard (a courtesy)
                sandbox, env = None, {"PYTHONPATH": str(files.library)}
            setup = room_setup_code(room, guard=sandbox is None, extra=config.kernel_setup)
            rooms[room] = KernelSupply(config, setup, sandbox=sandbox, env=env, warm_modules=ROOM_WARM_MODULES)
        return WorkerKernels(full, rooms)

    def close(self):
        for files in self._files.values():
            files.close()

    # -- seeds ----------------------------------------------------------------------------------------------------

    def cases(self, student_id, gid):
        """The cases item ``gid`` is judged on for ``student_id``: hidden ones from a seed of the run's secret, the
        student and the item (checkdata.item_seed); public ones for a self-check."""
        item = self.assignment.tests[gid]
        if self.secret is None or not self.config.hidden:
            return cases_for(item, PUBLIC_SEED, False)
        return cases_for(item, item_seed(self.secret, student_id, gid), True)

    # -- one submission -------------------------------------------------------------------------------------------

    def grade(self, student_id, notebook_path, kernels, extra_files_dir=None, ahead=True):
        """Grade one submitted notebook; always a SubmissionResult (status error when nothing is gradable, and a
        grader-error row when the grader itself failed on it)."""
        start = time.monotonic()
        try:
            return self._grade(student_id, notebook_path, kernels, extra_files_dir, ahead, start)
        except SubmissionError as exc:
            return error_result(student_id, self.assignment, exc.flag, str(exc), time.monotonic() - start)
        except Exception as exc:  # a bug of the grader must cost this row only, and say so
            detail = printable("".join(traceback.format_exception_only(type(exc), exc)).strip(), 500)
            return error_result(student_id, self.assignment, Flag.GRADER_ERROR,
                                f"the grader failed on this submission ({detail}); please report it",
                                time.monotonic() - start)

    def _grade(self, student_id, notebook_path, kernels, extra_files_dir, ahead, start):
        assignment, config = self.assignment, self.config
        merged = merge(assignment, read_notebook(Path(notebook_path)))
        flags = list(merged.flags)
        if config.policy:
            flags += self._review(merged, extra_files_dir)
        # the learner's language, from the notebook (a Chinese hand-in gets Chinese messages and feedback)
        language = notebook_language(merged.notebook.metadata)
        titles = section_titles(merged.notebook, language)
        deadline = start + config.notebook_timeout if config.notebook_timeout else None
        sources = [extra_files_dir, public_folder(assignment)]

        results, cell_errors, gave_up = {}, [], []
        for room in self.rooms:
            cells = cleanroom.room_cells(assignment, merged, room, titles)
            outcome, session = self._in_session(kernels.rooms[room], kernels.stop, sources, deadline, ahead, flags,
                                                lambda session: run_room(
                                                    room, cells, assignment.tests, session, config=config,
                                                    cases_of=lambda gid: self.cases(student_id, gid),
                                                    language=language))
            results.update(outcome.results)
            cell_errors += [e for e in outcome.cell_errors if e not in cell_errors]  # a cell runs in every room
            flags += outcome.flags
            gave_up += [session.gave_up] if session.gave_up else []

        notebook = merged.notebook
        executed, session = self._in_session(kernels.full, kernels.stop, sources, deadline, ahead, flags,
                                             lambda session: run_cells(notebook, session, titles, language),
                                             language=language)
        flags += executed.flags
        gave_up += [session.gave_up] if session.gave_up else []
        cell_errors = executed.cell_errors + cell_errors

        tests = []
        for cell in notebook.cells:
            gid = grade_id(cell)
            if cell.cell_type == "code" and cell_kind(cell) == "test" and gid in results:
                show_verdict(cell, results[gid].passed, results[gid].message)
        for gid, item in assignment.tests.items():
            if gid not in results:  # cannot happen (every item has a room), but never a missing row
                results[gid] = ItemResult(gid, item.target, float(item.points), 0.0, False,
                                          render(Text("this item was not checked"), language), ran=False)
                flags.append(Flag.of(Flag.NOT_RUN, gid))
            tests.append(results[gid])
        if gave_up:
            flags.append(Flag.GAVE_UP)
        manual = self._manual(merged)
        flags += [Flag.of(Flag.NEEDS_MANUAL_GRADING, m.grade_id) for m in manual if m.answered]
        flags = unique(flags)
        incomplete = gave_up or any(not t.ran for t in tests) or any(
            f.startswith((Flag.TIMEOUT + ":", Flag.CRASH + ":")) for f in flags)
        return SubmissionResult(
            student_id=student_id, assignment=assignment.name, status=Status.INCOMPLETE if incomplete
            else Status.GRADED, score=sum(t.score for t in tests), max_score=assignment.autograded_max, flags=flags,
            tests=tests, manual=manual, execution_time=time.monotonic() - start, notebook=inert_notebook(notebook),
            cell_errors=cell_errors, sandbox=config.sandbox_note, language=language)

    def _in_session(self, supply, stop, sources, deadline, ahead, flags, work, language=SOURCE):
        """Run ``work(session)`` in a fresh kernel of ``supply`` with the learner's files staged; (result, session).
        ``language``: the messages coursekit prints in that kernel (a full kernel; a room has no coursekit.i18n)."""
        kernel, scratch = supply.take(ahead)
        session = Session(kernel, lambda: supply.restart(scratch), self.config, deadline, stop)
        try:
            if not copy_files(sources, scratch, self.config.max_copy_bytes):
                flags.append(Flag.EXTRA_FILES_TOO_LARGE)
            stage_files(session, self.config)
            if language != SOURCE:  # the kernel cannot see the notebook: tell it (trusted, before any learner code)
                session.run(f"__import__('coursekit.i18n').i18n.set_language({language!r})")
            return work(session), session
        finally:
            session.close()
            supply.discard(scratch)

    def _review(self, merged, extra_files_dir):
        """Policy flags (never points). A failure of the review is a flag too, never a lost submission."""
        try:
            return [violation.flag for violation in review(self.assignment, merged, extra_files_dir)]
        except Exception:
            return [Flag.of(Flag.GRADER_ERROR, "policy")]

    def _manual(self, merged):
        manual = []
        for cell, index in zip(merged.notebook.cells, merged.origin):
            if index is not None and cell_kind(cell) == "manual":
                blanks = {"", *(v.source.strip() for v in self.assignment.released_versions(index))}
                manual.append(ManualResult(grade_id(cell), self.assignment.manual[grade_id(cell)],
                                           cell.source.strip() not in blanks))
        for gid, points in self.assignment.manual.items():
            if gid not in {m.grade_id for m in manual}:
                manual.append(ManualResult(gid, points, False))
        return manual
