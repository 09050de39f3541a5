"""Command line: ``python -m autograder {grade,check,release,similarity,gradescope} ...`` (see ``--help`` of each)."""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.gradescope import PROJECT

EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 1, 2, 130


def _config(args, **extra):
    from autograder.config import GradingConfig
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
    from autograder.config import draw_secret
    from autograder.kernel import KernelStartError
    from autograder.runner import default_workers, grade_many
    from autograder.safety import printable
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
        try:
            roster, policy = _roster_and_policy(args)
        except (ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        submissions = find_submissions(source, assignment.name, assignment.notebook_name, exclude=[out],
                                       roster=roster)
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
                                 on_result=_on_result(out, len(submissions), args.quiet), progress=not args.quiet)
        except KernelStartError as exc:
            print(f"error: cannot start a grading kernel: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        elapsed = time.monotonic() - start
        try:
            path, summary = _write_grades(out, assignment, submissions, results, roster, policy, args)
        except Exception as exc:  # grades.csv is written whatever happened above: without the extra columns
            from autograder.reports import write_grades
            path = write_grades(out, results)
            summary = [printable(f"warning: the late/LMS columns could not be computed ({type(exc).__name__}: "
                                 f"{exc}); grades.csv has the basic columns only")]
    finally:
        if unpacked:
            shutil.rmtree(unpacked, ignore_errors=True)
    counts = {status: sum(r.status == status for r in results) for status in ("graded", "incomplete", "error")}
    print(f"{path}: " + ", ".join(f"{n} {status}" for status, n in counts.items()) +
          f"; {elapsed:.1f} s ({elapsed / len(results):.2f} s per submission)", file=sys.stderr)
    interrupted = sum("interrupted" in r.flags for r in results)
    errors = [r for r in results if r.status == "error" and "interrupted" not in r.flags]
    if errors:
        print(f"{len(errors)} error row(s): nothing could be graded (score 0 in grades.csv"
              + (", 'needs manual grade' in formgrader" if args.gradebook else "") + "):", file=sys.stderr)
    for r in errors:
        print(printable(f"  {r.student_id}: {r.message}"), file=sys.stderr)
    for line in summary:
        print(line, file=sys.stderr)
    if interrupted:
        print(f"interrupted: {interrupted} submission(s) not graded (flag 'interrupted'); nothing recorded in the "
              "gradebook", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.gradebook:
        from autograder.gradebook import course_directory, record
        coursedir = course_directory(root, args.db)
        recorded = record(assignment, results, coursedir)
        print(f"gradebook {coursedir.db_url}: recorded {len(recorded)} submission(s)"
              + (f", of which {counts['error']} error row(s) at 0 points, marked 'needs manual grade'"
                 if counts["error"] else ""), file=sys.stderr)
    return 0


def _on_result(out, total, quiet):
    """Write each result's files as it comes; when stderr is not a terminal (a log), also print one line per
    submission, since the progress bar only draws on a terminal."""
    from autograder.reports import write_submission
    from autograder.safety import printable
    done = [0]

    def on_result(result):
        try:
            write_submission(out, result)
        except Exception as exc:  # this submission's files could not be written: its row says so, the run goes on
            result.status, result.score = "error", 0.0
            result.flags.append("grader-error:write")
            result.message = printable(f"its result files could not be written ({type(exc).__name__}: {exc})")
        done[0] += 1
        if not quiet and not sys.stderr.isatty():
            print(printable(f"[{done[0]}/{total}] {result.student_id}: {result.score:g}/{result.max_score:g} "
                            f"{result.status}" + (f" [{';'.join(result.flags)}]" if result.flags else "")),
                  file=sys.stderr, flush=True)
    return on_result


def _roster_and_policy(args):
    """(lms.Roster or None, lateness.LatePolicy) from the grade command's options; ValueError when unusable."""
    from datetime import timedelta
    from autograder.lateness import LatePolicy, parse_time
    from autograder.lms import load_roster
    roster = load_roster(args.roster) if args.roster else None
    try:
        due = parse_time(args.due) if args.due else None
    except (ValueError, OverflowError):
        raise ValueError(f"--due {args.due!r} is not a date and time (e.g. 2026-03-01T23:59:00+08:00)") from None
    if args.late_penalty < 0 or not 0 <= args.late_cap <= 100:
        raise ValueError("--late-penalty must be >= 0 and --late-cap between 0 and 100 (percent)")
    return roster, LatePolicy(due, args.late_penalty, args.late_cap, timedelta(minutes=args.grace))


def _write_grades(out, assignment, submissions, results, roster, policy, args):
    """grades.csv with the lateness columns, and the Canvas gradebook CSV; (path, summary lines)."""
    from autograder import gradebook_export, lateness
    from autograder.reports import write_grades
    by_id = {s.student_id: s for s in submissions}
    late = {r.student_id: lateness.assess(by_id[r.student_id], policy, r.max_score)
            for r in results if r.student_id in by_id}
    path = write_grades(out, results, extra=lambda r: lateness.columns(
        r, late.get(r.student_id), by_id[r.student_id].name if r.student_id in by_id else ""))
    finals = {sid: lateness.final_score(r.score, late.get(sid)) for sid, r in ((r.student_id, r) for r in results)}
    rows = gradebook_export.entries(results, by_id, finals, roster)
    canvas, skipped = gradebook_export.write_canvas_csv(out, rows, args.lms_column or assignment.name,
                                                        assignment.autograded_max)
    lines = []
    n_late = sum(1 for x in late.values() if x.late)
    if n_late or policy.due:
        lines.append(f"late: {n_late} hand-in(s)" + (f", penalty {policy.per_day:g}% per day (cap {policy.cap:g}%)"
                                                     if policy.per_day else ", no penalty"))
    lines.append(f"{canvas}: {len(rows) - len(skipped)} row(s) for Canvas's gradebook import"
                 + (f"; left out (no Canvas user id: give a roster): {', '.join(skipped[:10])}"
                    + (" ..." if len(skipped) > 10 else "") if skipped else ""))
    unknown = [s.student_id for s in submissions if "unrecognised-name" in s.flags or "not-in-roster" in s.flags]
    if unknown:
        lines.append(f"{len(unknown)} hand-in(s) with a name no LMS pattern or roster entry explains (flags "
                     f"unrecognised-name, not-in-roster): {', '.join(unknown[:10])}" + (" ..." if len(unknown) > 10
                                                                                       else ""))
    return path, lines


def cmd_check(args):
    from autograder.kernel import KernelStartError
    from autograder.selfcheck import report, self_check
    from autograder.sandbox import SandboxUnavailable
    from autograder.submission import SubmissionError
    try:
        check = self_check(args.notebook, _config(args), root=args.root)
    except (SubmissionError, ValueError, FileNotFoundError, KernelStartError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(report(check))
    return 0 if check.passed else EXIT_FAILED


def cmd_release(args):
    from autograder.release import release
    try:
        folders = release(args.root, [args.assignment] if args.assignment else None, force=args.force)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    for folder in folders:
        print(f"released {folder}")
    return 0


def cmd_similarity(args):
    """The code-similarity report of a class (autograder/similarity.py); it never changes a score."""
    from autograder.assignment import AssignmentError, load_assignment
    from autograder.discover import extract_zip, find_submissions
    from autograder.lms import load_roster
    from autograder.similarity import class_code, rank, report_html
    from autograder.submission import SubmissionError, read_notebook
    try:
        assignment = load_assignment(args.root, args.assignment)
        roster = load_roster(args.roster) if args.roster else None
    except (AssignmentError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ag-sim-") as unpacked:
        source = Path(args.submissions)
        try:
            if source.is_file():
                source = extract_zip(source, Path(unpacked))
            submissions = find_submissions(source, assignment.name, assignment.notebook_name,
                                           exclude=[Path(args.out).parent], roster=roster)
        except (SubmissionError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        notebooks = {}
        for submission in submissions:
            try:
                notebooks[submission.student_id] = read_notebook(submission.notebook) if submission.notebook else None
            except SubmissionError:
                notebooks[submission.student_id] = None
    code = class_code(assignment, notebooks)
    pairs = rank(code.prints)
    names = {s.student_id: s.name for s in submissions if s.name}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report_html(assignment.name, code, pairs, top=args.top, names=names), encoding="utf-8")
    print(f"{args.out}: {len(notebooks)} hand-in(s), {len(pairs)} pair(s) in {time.monotonic() - start:.1f} s; "
          "most similar:", file=sys.stderr)
    for pair in pairs[:5]:
        print(f"  {pair.score:.2f}  {pair.a}  {pair.b}", file=sys.stderr)
    return 0


def cmd_gradescope(args):
    from autograder.assignment import AssignmentError, load_assignment
    from autograder.gradescope import build_zip
    try:
        load_assignment(args.root, args.assignment)  # refuse to ship an assignment the grader cannot grade
        path = build_zip(args.root, args.assignment, args.out, timeout=args.timeout,
                         visibility=args.hidden_visibility)
    except (AssignmentError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {path}")
    return 0


def cmd_gradescope_run(args):
    from autograder.gradescope import run
    result = run(args.root, args.assignment, args.submission, args.results, _config(args), args.hidden_visibility)
    print(f"{result.student_id}: {result.score:g}/{result.max_score:g} ({result.status}) "
          + ";".join(result.flags))
    return 0


def _add_visibility(parser):
    from autograder.gradescope_view import VISIBILITIES
    parser.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published",
                        help="when students see the details of a failing hidden case (default after_published: "
                             "when the grades are published; the pass/fail and points of every test are visible)")


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
    grade.add_argument("--quiet", action="store_true", help="no progress bar (nor progress lines in a log)")
    grade.add_argument("--roster", metavar="CSV", help="map LMS ids to student ids and names (autograder/lms.py)")
    grade.add_argument("--due", help="due date and time, ISO 8601 (e.g. 2026-03-01T23:59:00+08:00; no zone: UTC)")
    grade.add_argument("--late-penalty", type=float, default=0.0, metavar="PERCENT",
                       help="percent of the points taken off per started day late (default 0: no penalty)")
    grade.add_argument("--late-cap", type=float, default=100.0, metavar="PERCENT",
                       help="largest total late penalty, percent of the points (default 100)")
    grade.add_argument("--grace", type=float, default=0.0, metavar="MINUTES",
                       help="minutes after --due that still count as on time (default 0)")
    grade.add_argument("--lms-column", metavar="NAME",
                       help="assignment column of canvas_grades.csv, e.g. 'GRU NumPy (12345)' to update Canvas "
                            "assignment 12345 (default: the assignment id, a new column)")
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
    release.add_argument("--force", action="store_true",
                         help="overwrite course/ even where it holds changes (by default release refuses and lists "
                              "the files it would lose)")
    release.set_defaults(run=cmd_release)

    similar = commands.add_parser("similarity", parents=[common],
                                  help="ranked code-similarity report of a class (HTML; never changes a score)")
    similar.add_argument("assignment")
    similar.add_argument("submissions", help="the same folder or zip as for grade")
    similar.add_argument("--out", required=True, help="the HTML file to write")
    similar.add_argument("--roster", metavar="CSV", help="as for grade")
    similar.add_argument("--top", type=int, default=50, help="pairs shown with their code (default 50)")
    similar.set_defaults(run=cmd_similarity)

    gradescope = commands.add_parser("gradescope", parents=[common], help="build a Gradescope autograder zip")
    gradescope.add_argument("assignment")
    gradescope.add_argument("--out", required=True, help="the zip file to write")
    gradescope.add_argument("--timeout", type=float, default=60.0, help="seconds per cell when grading")
    _add_visibility(gradescope)
    gradescope.set_defaults(run=cmd_gradescope)

    run = commands.add_parser("gradescope-run", parents=[common],
                              help="grade one Gradescope submission (run_autograder calls this)")
    run.add_argument("assignment")
    run.add_argument("--submission", required=True)
    run.add_argument("--results", required=True)
    _add_visibility(run)
    _add_run_options(run)
    run.set_defaults(run=cmd_gradescope_run)
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    return args.run(args)
