"""Every graded item of every notebook, defined once (see :mod:`coursekit.checking`).

``ASSIGNMENTS`` maps an assignment id (the folder name under solutions/ and course/) to its items, keyed by the
grade id of the nbgrader test cell that checks them. The notebooks' test cells and the trusted grader both look
items up here, so a notebook and its grading can never disagree about what is right.
"""

from coursekit.items import (bigru, gru_backprop, gru_concept, gru_numpy, parallel_gru, tang_poems, torch_gru,
                             vanishing_gradients)

_MODULES = (gru_concept, gru_numpy, gru_backprop, torch_gru, bigru, vanishing_gradients, parallel_gru, tang_poems)

ASSIGNMENTS = {module.ASSIGNMENT: {item.name: item for item in module.ITEMS} for module in _MODULES}


def get(assignment, name):
    """The item ``name`` (a test cell's grade id) of ``assignment``; KeyError with the known names otherwise."""
    try:
        items = ASSIGNMENTS[assignment]
    except KeyError:
        raise KeyError(f"unknown assignment {assignment!r}; known: {sorted(ASSIGNMENTS)}") from None
    try:
        return items[name]
    except KeyError:
        raise KeyError(f"{assignment} has no graded item {name!r}; known: {sorted(items)}") from None


def find(name):
    """The item with this grade id in whichever assignment has it (grade ids are unique across the course)."""
    matches = [items[name] for items in ASSIGNMENTS.values() if name in items]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} graded items are named {name!r}")
    return matches[0]
