"""Command line: ``python -m autograder {grade,check,release,gradescope} ...`` (see ``--help`` of each)."""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.gradescope import PROJECT

EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 1, 2, 130


def _config(args, **extra):
    from autograder.engine import GradingConfig
    from autograder.kernel import KernelLimits
    options = {"timeout": args.timeout}
    if getattr(args, "max_output_bytes", None):
        options["max_output_bytes"] = args.max_output_bytes
    if getattr(args, "notebook_timeout", None) is not None:
        options["notebook_timeout"] = args.notebook_timeout or None
    if getattr(args, "kernel_setup", None):
        options["kernel_setup"] = Path(args.kernel_setup).read_text()
    if getattr(args, "memory_mb", None) is not None:
        options["limits"] = KernelLimits(address_space=args.memory_mb * 2**20 if args.memory_mb else None)
    if getattr(args, "no_policy", False):
        options["policy"] = False
    if "sandbox" not in extra:  # raises sandbox.SandboxUnavailable for --sandbox bwrap where it cannot work
        from autograder.sandbox import detect
        sandbox, note = detect(getattr(args, "sandbox", "auto"), hidden=[Path(args.root)])
        extra = {**extra, "sandbox": sandbox, "sandbox_note": note}
    return GradingConfig(**options, **extra)


def _add_run_options(parser):
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per cell (default 60)")
    parser.add_argument("--max-output-bytes", type=int, default=64 * 1024,
                        help="output kept per cell, in bytes (default 65536)")
    parser.add_argument("--notebook-timeout", type=float, default=900.0,
                        help="seconds for one whole submission; 0 for no limit (default 900)")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="address space of each kernel in MiB; 0 for no limit (default 4096)")
    parser.add_argument("--kernel-setup", metavar="FILE",
                        help="trusted Python file run in every kernel before the learner's code")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="isolate kernels with bubblewrap: auto (when it works here, the default), bwrap "
                             "(required: exit 2 without it) or none")
    parser.add_argument("--no-policy", action="store_true",
                        help="do not review the learner's code for forbidden shortcuts and attacks (policy flags)")


def cmd_grade(args):
    from autograder.assignment import AssignmentError, load_assignment
    from autograder.discover import extract_zip, find_submissions
    from autograder.engine import draw_secret
    from autograder.kernel import KernelStartError
    from autograder.reports import write_grades, write_submission
    from autograder.runner import default_workers, grade_many
    from autograder.submission import SubmissionError

    root = Path(args.root)
    try:
        assignment = load_assignment(root, args.assignment)
    except AssignmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    source = Path(args.submissions)
    if not source.exists():
        print(f"error: {source} does not exist", file=sys.stderr)
        return EXIT_UNUSABLE
    from autograder.sandbox import SandboxUnavailable
    try:
        config = _config(args)
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(config.sandbox_note, file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    unpacked = None
    try:
        if source.is_file():
            unpacked = Path(tempfile.mkdtemp(prefix="ag-zip-"))
            try:
                extract_zip(source, unpacked)
            except SubmissionError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_UNUSABLE
            source = unpacked
        submissions = find_submissions(source, assignment.name, assignment.notebook_name, exclude=[out])
        if not submissions:
            print(f"error: no submissions found in {args.submissions}", file=sys.stderr)
            return EXIT_UNUSABLE
        workers = args.workers or default_workers()
        print(f"Grading {len(submissions)} submission(s) of {assignment.name} with {workers} worker(s); "
              f"autograded max {assignment.autograded_max:g} points"
              + (f", {assignment.manual_max:g} more graded by hand" if assignment.manual else ""), file=sys.stderr)
        start = time.monotonic()
        try:
            results = grade_many(assignment, submissions, config, draw_secret(), workers=workers,
                                 on_result=lambda r: write_submission(out, r), progress=not args.quiet)
        except KernelStartError as exc:
            print(f"error: cannot start a grading kernel: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        elapsed = time.monotonic() - start
        path = write_grades(out, results)
    finally:
        if unpacked:
            shutil.rmtree(unpacked, ignore_errors=True)
    counts = {status: sum(r.status == status for r in results) for status in ("graded", "incomplete", "error")}
    print(f"{path}: " + ", ".join(f"{n} {status}" for status, n in counts.items()) +
          f"; {elapsed:.1f} s ({elapsed / len(results):.2f} s per submission)", file=sys.stderr)
    interrupted = sum("interrupted" in r.flags for r in results)
    for r in results:
        if r.status == "error" and "interrupted" not in r.flags:
            print(f"  {r.student_id}: {r.message}", file=sys.stderr)
    if interrupted:
        print(f"interrupted: {interrupted} submission(s) not graded (flag 'interrupted'); nothing recorded in the "
              "gradebook", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.gradebook:
        from autograder.gradebook import course_directory, record
        coursedir = course_directory(root, args.db)
        recorded = record(assignment, results, coursedir)
        print(f"gradebook {coursedir.db_url}: recorded {len(recorded)} submission(s)"
              + (f"; not recorded (status error): {counts['error']}" if counts["error"] else ""), file=sys.stderr)
    return 0


def cmd_check(args):
    from autograder.kernel import KernelStartError
    from autograder.selfcheck import report, self_check
    from autograder.sandbox import SandboxUnavailable
    from autograder.submission import SubmissionError
    try:
        check = self_check(args.notebook, _config(args))
    except (SubmissionError, ValueError, FileNotFoundError, KernelStartError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(report(check))
    return 0 if check.passed else EXIT_FAILED


def cmd_release(args):
    from autograder.release import release
    try:
        folders = release(args.root, [args.assignment] if args.assignment else None)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    for folder in folders:
        print(f"released {folder}")
    return 0


def cmd_gradescope(args):
    from autograder.assignment import AssignmentError, load_assignment
    from autograder.gradescope import build_zip
    try:
        load_assignment(args.root, args.assignment)  # refuse to ship an assignment the grader cannot grade
        path = build_zip(args.root, args.assignment, args.out, timeout=args.timeout)
    except (AssignmentError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {path}")
    return 0


def cmd_gradescope_run(args):
    from autograder.gradescope import run
    result = run(args.root, args.assignment, args.submission, args.results, _config(args))
    print(f"{result.student_id}: {result.score:g}/{result.max_score:g} ({result.status}) "
          + ";".join(result.flags))
    return 0


def parser():
    main = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=str(PROJECT),
                        help=f"course root holding solutions/ and autograder/ (default {PROJECT})")

    grade = commands.add_parser("grade", parents=[common], help="grade a folder or zip of submissions")
    grade.add_argument("assignment", help="assignment id, e.g. 02-gru-numpy")
    grade.add_argument("submissions", help="folder of <student>/<notebook>.ipynb, nbgrader's submitted/, or a zip")
    grade.add_argument("--out", required=True, help="output folder (grades.csv, results/, feedback/, executed/)")
    grade.add_argument("--workers", type=int, default=0, help="parallel workers (default: one per core)")
    grade.add_argument("--gradebook", action="store_true", help="record the scores in the nbgrader gradebook")
    grade.add_argument("--db", help="gradebook database URL (default: from autograder/nbgrader_config.py)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_run_options(grade)
    grade.set_defaults(run=cmd_grade)

    check = commands.add_parser("check", parents=[common],
                                help="self-check a notebook: which graded items pass (public cases)")
    check.add_argument("notebook")
    _add_run_options(check)
    check.set_defaults(run=cmd_check)

    release = commands.add_parser("release", parents=[common],
                                  help="regenerate course/ from solutions/ with nbgrader")
    release.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    release.set_defaults(run=cmd_release)

    gradescope = commands.add_parser("gradescope", parents=[common], help="build a Gradescope autograder zip")
    gradescope.add_argument("assignment")
    gradescope.add_argument("--out", required=True, help="the zip file to write")
    gradescope.add_argument("--timeout", type=float, default=60.0, help="seconds per cell when grading")
    gradescope.set_defaults(run=cmd_gradescope)

    run = commands.add_parser("gradescope-run", parents=[common],
                              help="grade one Gradescope submission (run_autograder calls this)")
    run.add_argument("assignment")
    run.add_argument("--submission", required=True)
    run.add_argument("--results", required=True)
    _add_run_options(run)
    run.set_defaults(run=cmd_gradescope_run)
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    return args.run(args)
