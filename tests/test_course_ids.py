"""Graded cells are named once in the whole course: the grader recognises an assignment by the ids and grade ids of
its exercise, test and written-answer cells, so a notebook of one assignment handed in for another must share none
of them (two notebooks with a cell "go-further-answers" once let 01's notebook pass for 02's)."""

import collections
from pathlib import Path

import nbformat

from autograder.assignment import cell_kind, grade_id

ROOT = Path(__file__).resolve().parents[1]


def test_graded_cell_names_are_unique_across_the_course():
    owners = collections.defaultdict(set)
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell_kind(cell) in ("solution", "test", "manual"):
                for name in {grade_id(cell), cell.get("id")} - {None}:
                    owners[name].add(path.parent.name)
    shared = {name: sorted(found) for name, found in owners.items() if len(found) > 1}
    assert not shared, f"graded cells named in more than one assignment: {shared}"
