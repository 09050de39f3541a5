"""Reference fallback for the cells after an exercise (参考实现兜底), used from notebook 01 on.

A figure or an experiment that builds on the learner's function should not draw a wrong picture, or crash, when
that function is not right yet. ``learner_or_reference`` runs the exercise's public check quietly: when it passes,
the learner's own function is used; otherwise the reference is, and a visible note says so and why, in the
notebook's language (coursekit.i18n.kernel_language; the check's own message is already in it).
"""

from coursekit import checking, items
from coursekit.i18n import Text, render


def learner_or_reference(assignment, grade_id, learner_fn, reference_fn):
    """``learner_fn`` if it passes the public check of item ``grade_id`` of ``assignment``, else ``reference_fn``.

    Example (notebook 02): ``cell = learner_or_reference("02-gru-numpy", "test_gru_cell_forward",
    gru_cell_forward, reference_cell)``.
    """
    item = items.get(assignment, grade_id)
    try:
        checking.check(item, learner_fn, quiet=True)
    except Exception as exc:  # a failed check (AssertionError) or anything the learner's code raised
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first_line = first_line.rstrip(".。")  # it is quoted in parentheses, followed by the note's own period
        print(render(Text("Note: your {target} does not pass its check yet ({reason}).\nThe cells below use the "
                          "reference implementation instead, so that their figures are right. Fix {target} and rerun "
                          "them to see your own.", target=item.target, reason=first_line)))
        return reference_fn
    return learner_fn
