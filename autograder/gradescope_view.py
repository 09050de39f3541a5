"""What a student sees on Gradescope: which results are visible when, and an overall output that says what to do.

Per item, Gradescope gets one visible test with the item's points and status. Its output is the judge's message
when that message is about a case of the kind the notebook's own check cell runs (the public cases), or about no
case at all (not defined, a crash, the code review). When the first failure shown is a hidden case (the edge cases
only the grader runs), the visible output only says so, and the full message (the case, its expected values) goes
to a second test worth 0 points whose visibility is ``hidden_visibility``: ``after_published`` by default, so a
student cannot probe the hidden cases by resubmitting; ``visible``, ``after_due_date`` or ``hidden`` are the other
Gradescope settings (``python -m autograder gradescope --hidden-visibility``).
"""

import copy
import re

from coursekit.checking import PUBLIC_SEED, cases_for
from coursekit.feedback import points_phrase
from coursekit.i18n import SOURCE, Text, render

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
HIDDEN_NOTE = Text("A hidden case fails: the grader also tries shapes and values that the check cell in your notebook "
                   "does not. Its details are shown when the grades are published; until then, think about edge "
                   "cases (sizes of 1, large values, other dtypes) and check your function on them.")


def _case_pattern(language):
    """Where a judge's message names the case it shows: "What is wrong [n=1]: ..." in ``language`` (or "[n=1]
    ..." at a line start)."""
    prefix = render(Text("What is wrong [{label}]: {what}", label="\0", what=""), language).split("[\0]")[0]
    return re.compile(rf"(?:^|{re.escape(prefix)})\[([^\]\n]+)\]", re.M)


def public_labels(item, language=SOURCE):
    """Labels of the cases the notebook's check cell runs (same kinds, whatever the seed), as messages in
    ``language`` show them."""
    try:
        return {render(case.label, language) for case in cases_for(item, PUBLIC_SEED, False)}
    except Exception:  # an item whose cases cannot be built here: treat every case as hidden
        return set()


def split_message(message, labels, language=SOURCE):
    """(visible text, details or None) of one item's message; ``labels``: its public case labels. A message that
    names a case of another label (a hidden case) shows only its first line; any other is shown whole (a public
    case, or no case: not defined, a crash, the code review)."""
    if not any(label not in labels for label in _case_pattern(language).findall(message)):
        return message, None
    return message.split("\n")[0] + "\n" + render(HIDDEN_NOTE, language), message


def student_view(data, result, assignment, hidden_visibility="after_published"):
    """Gradescope's results.json for students, from reports.results_json's ``data`` of ``result``."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {hidden_visibility!r}")
    language = result.language
    view = copy.deepcopy(data)
    tests = []
    for entry, item_result in zip(data["tests"], result.tests):
        item = assignment.tests.get(item_result.grade_id)
        labels = public_labels(item, language) if item else set()
        visible, detail = split_message(item_result.message, labels, language)
        tests.append({**entry, "output": visible, "visibility": "visible"})
        if detail is not None:
            tests.append({"name": f"{entry['name']}: details", "score": 0, "max_score": 0,
                          "status": entry["status"], "output": detail, "visibility": hidden_visibility})
    view["tests"] = tests
    view["output"] = next_steps(result, assignment)
    view["visibility"], view["stdout_visibility"] = "visible", "hidden"
    return view



def next_steps(result, assignment):
    """The overall output: the score in one line, then what to do next (in the submission's language)."""
    language = result.language
    notebook = f"{assignment.notebook_name}.ipynb"
    if result.status == "error":
        return render(Text("Your submission could not be graded: {reason}\nWhat to do: upload the notebook file "
                           "{notebook} itself (in JupyterLab: right-click it > Download), not a zip, a PDF or a copy "
                           "of another assignment, then resubmit.", reason=result.message, notebook=notebook),
                      language)
    failing = [t for t in result.tests if not t.passed]
    lines = [Text("Autograded score: {score:g} / {max_score:g} ({passing} of {total} exercises pass).",
                  score=result.score, max_score=result.max_score, passing=len(result.tests) - len(failing),
                  total=len(result.tests))]
    if failing:
        lines.append(Text("Not passing yet: {targets}.", targets=", ".join(t.target for t in failing)))
        lines.append(Text("Next: open each failing test below, fix that function in {notebook}, run the check cell "
                          "under it (or `python -m autograder check {notebook}`), then resubmit. Hidden cases are "
                          "different each time you submit.", notebook=notebook))
    else:
        lines.append(Text("Every autograded exercise passes: nothing to do."))
    if any(f.startswith(("timeout:", "crash:", "gave-up", "not-run:")) for f in result.flags):
        lines.append(Text("Some cells did not finish (time limit or a crash): run your notebook top to bottom "
                          "(Kernel > Restart and Run All) before you resubmit."))
    if any(f.startswith("policy:") for f in result.flags):
        lines.append(Text("Part of your code uses something an exercise does not allow (for example torch in a "
                          "NumPy exercise); the tests below say which. The course staff review these."))
    manual = [m for m in result.manual if m.answered]
    if manual:
        lines.append(Text("Graded by hand later (not in this score): {answers}.", answers=", ".join(
            f"{m.grade_id} ({render(points_phrase(m.max_score), language)})" for m in manual)))
    return "\n".join(render(line, language) for line in lines)
