"""What a grading run writes: grades.csv, Gradescope-style results/<id>.json, feedback/<id>.html, executed/<id>.ipynb.

Feedback shows each test's name, points and the judge's message, never a test cell's source (hidden tests stay
hidden). Scores and max_score are the autograded points; written answers graded by hand are listed separately
(flag ``needs-manual-grading:<grade id>``) and are not part of either number.
"""

import csv
import html
import json
from pathlib import Path

import nbformat

from autograder.safety import csv_cell, file_stem
from autograder import lateness
from autograder.outcomes import Status
from coursekit.feedback import points_phrase
from coursekit.i18n import Text, render

CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "flags") + lateness.COLUMNS


def _number(value):
    return float(f"{value:.6g}")


def _in(result):
    """Render a message in the submission's language."""
    return lambda message: render(message, result.language)


def results_json(result):
    """The Gradescope results.json dict of one submission (its words in the submission's language)."""
    say = _in(result)
    tests = [{"name": f"{t.grade_id} ({t.target})", "score": _number(t.score), "max_score": _number(t.max_score),
              "status": "passed" if t.passed else "failed", "output": t.message, "visibility": "visible"}
             for t in result.tests]
    status = Text(Status.described(result.status))
    lines = [say(Text("Status: {status}.", status=status)) + (f" {result.message}" if result.message else "")]
    manual = [m for m in result.manual if m.answered]
    if manual:
        answers = ", ".join(f"{m.grade_id} ({say(points_phrase(m.max_score))})" for m in manual)
        lines.append(say(Text("Graded by hand later (not included in this score): {answers}.", answers=answers)))
    if result.cell_errors:
        lines.append(say(Text("Cells that stopped with an error: {cells}",
                              cells="; ".join(f"{cell}: {problem}" for cell, problem in result.cell_errors[:10]))))
    return {"score": _number(result.score), "execution_time": round(result.execution_time, 2),
            "output": "\n".join(lines), "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"student_id": result.student_id, "assignment": result.assignment,
                           "status": result.status, "max_score": _number(result.max_score),
                           "flags": result.flags,
                           "needs_manual_grading": [m.grade_id for m in manual],
                           "sandbox": getattr(result, "sandbox", ""),
                           "language": result.language}}


def feedback_html(result):
    """A standalone feedback page for the student, in the submission's language."""
    e, say = html.escape, _in(result)
    rows = []
    for t in result.tests:
        badge = "passed" if t.passed else "failed"
        rows.append(f'<section class="{badge}"><h2>{e(t.grade_id)} <small>({e(t.target)})</small> '
                    f'<span class="points">{t.score:g} / {t.max_score:g}</span></h2>'
                    f"<pre>{e(t.message)}</pre></section>")
    later, unanswered = say(Text("graded by hand later")), say(Text("no answer given (0 points)"))
    manual = "".join(f"<li>{e(m.grade_id)} ({e(say(points_phrase(m.max_score)))}): "
                     f"{e(later if m.answered else unanswered)}</li>" for m in result.manual)
    errors = "".join(f"<li><code>{e(cell)}</code>: {e(problem)}</li>" for cell, problem in result.cell_errors)
    message = f"<p class='error'>{e(result.message)}</p>" if result.message else ""
    title = say(Text("{assignment}: feedback for {student}", assignment=result.assignment, student=result.student_id))
    heading = say(Text("{assignment}: feedback", assignment=result.assignment))
    # the template is ours (the catalog's); the only value from outside, the student id, is escaped
    student = "<b>" + e(result.student_id) + "</b>"
    score = say(Text("Student: {student}. Autograded score: {score:g} / {max_score:g} ({status}).",
                     student=student, score=result.score, max_score=result.max_score,
                     status=Text(Status.described(result.status))))
    written, stopped = say(Text("Written answers")), say(Text("Cells that stopped with an error"))
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if result.language == 'zh_CN' else 'en'}"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
section {{ border-left: 6px solid; padding: 0.2rem 1rem; margin: 1rem 0; background: #fafafa; }}
section.passed {{ border-color: #2a2; }} section.failed {{ border-color: #c22; }}
.points {{ float: right; }} pre {{ white-space: pre-wrap; }} .error {{ color: #c22; }}
</style></head><body>
<h1>{e(heading)}</h1>
<p>{score}</p>
{message}
{''.join(rows)}
{f'<h2>{e(written)}</h2><ul>{manual}</ul>' if manual else ''}
{f'<h2>{e(stopped)}</h2><ul>{errors}</ul>' if errors else ''}
</body></html>
"""


def write_submission(out, result):
    """Write results/<id>.json, feedback/<id>.html and (when it ran) executed/<id>.ipynb. <id> is
    ``safety.file_stem`` of the student id: distinct ids never share a file ("victim x" and "victim_x")."""
    out, name = Path(out), file_stem(result.student_id)
    for sub in ("results", "feedback", "executed"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "results" / f"{name}.json").write_text(json.dumps(results_json(result), indent=1, ensure_ascii=False))
    (out / "feedback" / f"{name}.html").write_text(feedback_html(result))
    if result.notebook is not None:
        nbformat.write(result.notebook, out / "executed" / f"{name}.ipynb")


def _extra_cells(extra, result):
    """The lateness cells of one row; a failure there empties them for that row only."""
    try:
        return list(extra(result))
    except Exception:
        return [""] * len(lateness.COLUMNS)


def write_grades(out, results, extra=None):
    """grades.csv: one row per submission, sorted by student id. ``extra(result)`` gives the cells of
    ``lateness.COLUMNS`` (name, submission time, late, penalty, final score), empty when not given."""
    extra = extra or (lambda r: lateness.columns(r, None))
    path = Path(out) / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for r in sorted(results, key=lambda r: str(r.student_id)):
            writer.writerow([csv_cell(cell) for cell in (r.student_id, r.assignment, f"{r.score:g}",
                                                         f"{r.max_score:g}", r.status, ";".join(r.flags),
                                                         *_extra_cells(extra, r))])
    return path
