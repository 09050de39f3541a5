"""Grade many submissions in parallel: one worker thread per core, each with a warm kernel waiting.

The work of a worker is mostly waiting for its kernels (separate processes), so threads are enough; judging runs
in the worker thread, in the grader's process. Each worker owns the WorkerKernels of one Grader, which start the
kernels for the next submission while the current one is graded (start-up, i.e. importing numpy/torch, dominates).
"""

import os
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from autograder.grader import Grader
from autograder.kernel import KernelStartError
from autograder.outcomes import Flag, error_result
from autograder.safety import safe_result


def default_workers():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class _Counter:
    def __init__(self, value):
        self.value, self._lock = value, threading.Lock()

    def take(self):
        with self._lock:
            self.value -= 1
            return self.value


def grade_many(assignment, submissions, config, seed, *, workers=None, on_result=None, progress=True):
    """Grade ``submissions`` (discover.Submission list); returns SubmissionResults in the same order.

    ``on_result(result)`` is called in the calling thread as each one finishes (write files as you go).
    Raises KernelStartError before grading anything when no kernel can be started at all. On Ctrl-C, running
    kernels are killed and every submission not graded yet gets an ``interrupted`` error row.
    """
    workers = max(1, min(workers or default_workers(), max(1, len(submissions))))
    results = [None] * len(submissions)
    pending = []
    for index, submission in enumerate(submissions):
        if submission.notebook is None:
            flag, message = submission.problem
            results[index] = error_result(submission.student_id, assignment, flag, message)
            results[index].flags = submission.flags + results[index].flags
            results[index] = safe_result(results[index])
        else:
            pending.append(index)
    for index in range(len(submissions)):
        if results[index] is not None and on_result:
            on_result(results[index])
    if not pending:
        return results

    interrupted = False
    grader = Grader(assignment, config, secret=seed)
    supplies = [grader.kernels() for _ in range(min(workers, len(pending)))]
    free = queue.Queue()
    try:
        for supply in supplies:  # start every worker's first kernels now, in parallel
            supply.prime()
            free.put(supply)
        supplies[0].check()  # a grader problem (setup code fails) stops the run before anything is graded
        unclaimed = _Counter(len(pending))

        def work(index):
            submission = submissions[index]
            supply = free.get()
            try:
                ahead = unclaimed.take() >= len(supplies)
                error = None
                for _ in range(2):  # one retry: a kernel that fails to start is the machine's fault, not the student's
                    try:
                        result = grader.grade(submission.student_id, submission.notebook, supply,
                                              extra_files_dir=submission.folder, ahead=ahead)
                        break
                    except KernelStartError as exc:
                        error = exc
                else:
                    result = error_result(submission.student_id, assignment, Flag.GRADER_ERROR,
                                          f"no kernel could be started: {error}")
            except Exception as exc:  # a grader bug costs one row, never the run
                result = error_result(submission.student_id, assignment, Flag.GRADER_ERROR,
                                      f"{type(exc).__name__}: {exc}")
            finally:
                free.put(supply)
            result.flags = submission.flags + result.flags
            result.timestamp = submission.timestamp
            return index, safe_result(result)

        bar = _progress(len(pending), progress)
        with ThreadPoolExecutor(max_workers=len(supplies), thread_name_prefix="grader") as pool:
            futures = [pool.submit(work, index) for index in pending]
            try:
                for future in as_completed(futures):
                    index, result = future.result()
                    results[index] = result
                    if on_result:
                        on_result(result)
                    bar.update(1)
            except KeyboardInterrupt:  # stop at once: cancel what has not started, kill what runs
                for future in futures:
                    future.cancel()
                for supply in supplies:
                    supply.stop_all()
                interrupted = True
        bar.close()
        if interrupted:
            for index in pending:
                if results[index] is None or Flag.GAVE_UP in results[index].flags:
                    results[index] = error_result(submissions[index].student_id, assignment, Flag.INTERRUPTED,
                                                  "grading was interrupted before this submission was graded")
                    if on_result:
                        on_result(results[index])
    finally:
        for supply in supplies:
            supply.close()
        grader.close()
    return results


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled):
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, unit="submission", dynamic_ncols=True)
