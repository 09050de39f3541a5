"""Made-up submissions of an assignment, to check the grader (and benchmark it) before real ones arrive.

From the released notebook (what students get) and the instructor notebook:

- :func:`solved`: the released notebook with the instructor's solution in every solution cell (full marks);
- the released notebook as it is: nothing answered (zero);
- :func:`broken`: a solved notebook in which one graded function gives wrong results during its own test only
  (the cells around the test swap it for a perturbed version and back), so exactly that item is lost.
"""

import copy

import nbformat

from autograder.assignment import cell_kind, grade_id

_PERTURB = """\
def _corpus_perturbed(value):
    if isinstance(value, tuple):
        return tuple(_corpus_perturbed(v) for v in value)
    return value + 0.5
_corpus_right_{target} = {target}
def {target}(*args, **kwargs):
    return _corpus_perturbed(_corpus_right_{target}(*args, **kwargs))
"""


def solved(released_notebook, instructor_notebook):
    """``released_notebook`` with each solution cell (code or written) taken from the instructor notebook."""
    answers = {grade_id(cell): cell.source for cell in instructor_notebook.cells
               if cell_kind(cell) in ("solution", "manual") and grade_id(cell)}
    notebook = copy.deepcopy(released_notebook)
    for cell in notebook.cells:
        if cell_kind(cell) in ("solution", "manual") and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return notebook


def broken(notebook, test_grade_id, target):
    """A copy of ``notebook`` whose function ``target`` returns wrong values (+0.5) while test ``test_grade_id``
    runs, and is right again afterwards."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(notebook.cells) if grade_id(cell) == test_grade_id)
    before = nbformat.v4.new_code_cell(_PERTURB.format(target=target), id=f"corpus-break-{target}")
    after = nbformat.v4.new_code_cell(f"{target} = _corpus_right_{target}", id=f"corpus-mend-{target}")
    notebook.cells[index + 1:index + 1] = [after]
    notebook.cells[index:index] = [before]
    return notebook
