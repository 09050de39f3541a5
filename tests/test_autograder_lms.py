"""LMS exports in, grades and late work out: file-name patterns, the roster, lateness, the Canvas gradebook CSV,
error rows in nbgrader's gradebook, and (one slow test) a Canvas zip graded end to end."""

import csv
import json
import os
import zipfile
from datetime import datetime, timedelta, timezone

import nbformat
import pytest

import autograder_synthetic as syn
import coursekit.items
from autograder.assignment import load_assignment
from autograder.discover import Submission, extract_zip, find_submissions
from autograder.outcomes import SubmissionResult, error_result
from autograder.gradebook_export import entries, write_canvas_csv
from autograder.lateness import LatePolicy, assess, columns, parse_time
from autograder.lms import LmsName, Roster, RosterError, Student, load_roster, original_stem, parse_name

UTC = timezone.utc


# -- file names ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("filename, lms, lms_id, name, original, late", [
    ("doejohn_late_23456_78901_gru_numpy-1.ipynb", "canvas", "23456", "doejohn", "gru_numpy-1.ipynb", True),
    ("doejohn_23456_78901_gru_numpy.ipynb", "canvas", "23456", "doejohn", "gru_numpy.ipynb", False),
    ("smithann_LATE_5_6_my_data.csv", "canvas", "5", "smithann", "my_data.csv", True),
    ("John Doe_12345_assignsubmission_file_gru_numpy.ipynb", "moodle", "12345", "John Doe", "gru_numpy.ipynb", None),
    ("Jane Q. Public_777_assignsubmission_file", "moodle", "777", "Jane Q. Public", "", None),
    ("GRU NumPy_jdoe_attempt_2026-03-02-08-15-00_gru_numpy.ipynb", "blackboard", "jdoe", "jdoe", "gru_numpy.ipynb",
     None),
    ("GRU_NumPy_jdoe_attempt_2026-03-02-08-15-00.txt", "blackboard", "jdoe", "jdoe", "", None),
])
def test_lms_export_names(filename, lms, lms_id, name, original, late):
    parsed = parse_name(filename)
    assert (parsed.lms, parsed.lms_id, parsed.name, parsed.original, parsed.late) == \
        (lms, lms_id, name, original, late)


def test_blackboard_attempt_time_and_canvas_reupload_suffix():
    parsed = parse_name("A1_jdoe_attempt_2026-03-02-08-15-00_gru_numpy.ipynb")
    assert parsed.submitted_at == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert original_stem(parse_name("doejohn_late_23456_78901_gru_numpy-1.ipynb")) == "gru_numpy"
    assert original_stem(parse_name("A1_jdoe_attempt_2026-03-02-08-15-00_gru_numpy-1.ipynb")) == "gru_numpy-1"


@pytest.mark.parametrize("filename", ["alice.ipynb", "gru_numpy.ipynb", "alice_gru_numpy.ipynb", "2024_report.ipynb"])
def test_names_no_lms_writes(filename):
    assert parse_name(filename) is None


# -- the roster ----------------------------------------------------------------------------------------------------

def test_roster_plain_and_canvas_export(tmp_path):
    plain = tmp_path / "roster.csv"
    plain.write_text("lms_id,student_id,name\n23456,s1001,John Doe\n777,s1002,Jane Q. Public\n")
    roster = load_roster(plain)
    assert roster.find(parse_name("doejohn_late_23456_78901_gru_numpy-1.ipynb")).student_id == "s1001"
    assert roster.find(parse_name("Jane Q. Public_777_assignsubmission_file")).name == "Jane Q. Public"
    canvas = tmp_path / "export.csv"  # Canvas's gradebook export, as downloaded: a roster as it is
    canvas.write_text('\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,GRU NumPy (12345)\n'
                      'Points Possible,,,,,10\n"Doe, John",23456,s1001,jdoe@uni.edu,GRU 2026,\n')
    roster = load_roster(canvas)
    assert roster.students == [Student("s1001", "Doe, John", "23456", "jdoe@uni.edu", "GRU 2026")]
    # a Canvas name without its id still finds the row by the letters of the name
    assert roster.find(LmsName("canvas", "999", "doejohn", "x.ipynb")).student_id == "s1001"
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(RosterError, match="no student id column"):
        load_roster(bad)


# -- discovery of an LMS export ------------------------------------------------------------------------------------

def _nb(path, text=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or json.dumps(nbformat.v4.new_notebook()))
    return path


def test_flat_canvas_moodle_blackboard_export(tmp_path):
    _nb(tmp_path / "doejohn_late_23456_78901_synthetic-1.ipynb")
    (tmp_path / "doejohn_late_23456_78902_notes.txt").write_text("my notes")
    _nb(tmp_path / "roeann_34567_78903_Copy of synthetic.ipynb")
    _nb(tmp_path / "John Smith_12345_assignsubmission_file_synthetic.ipynb")
    _nb(tmp_path / "Jane Roe_777_assignsubmission_file" / "synthetic.ipynb")
    _nb(tmp_path / "A1_jdoe_attempt_2026-03-02-08-15-00_synthetic.ipynb")
    (tmp_path / "A1_jdoe_attempt_2026-03-02-08-15-00.txt").write_text("Name: J Doe")
    (tmp_path / "leeann_45678_78904_report.pdf").write_text("%PDF")
    _nb(tmp_path / "whatever name.ipynb")
    found = {s.student_id: s for s in find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK)}
    assert sorted(found) == ["12345", "23456", "34567", "45678", "777", "jdoe", "whatever name"]
    john = found["23456"]
    assert (john.name, john.lms.lms, john.lms.late, john.flags) == ("doejohn", "canvas", True, [])
    assert john.notebook.name == "doejohn_late_23456_78901_synthetic-1.ipynb"
    assert found["34567"].flags == ["renamed-notebook:Copy of synthetic.ipynb"] and found["34567"].lms.late is False
    assert found["12345"].name == "John Smith" and found["777"].notebook.name == "synthetic.ipynb"
    assert found["jdoe"].lms.submitted_at == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert found["45678"].problem[0] == "no-notebook"
    assert found["whatever name"].flags == ["unrecognised-name"]


def test_roster_maps_ids_and_flags_strangers(tmp_path):
    _nb(tmp_path / "doejohn_late_23456_78901_synthetic.ipynb")
    _nb(tmp_path / "newkid_99999_78905_synthetic.ipynb")
    _nb(tmp_path / "s1002.ipynb")
    roster = Roster([Student("s1001", "Doe, John", "23456"), Student("s1002", "Jane Roe", "777")])
    found = {s.student_id: s for s in find_submissions(tmp_path, syn.ASSIGNMENT, syn.NOTEBOOK, roster=roster)}
    assert sorted(found) == ["99999", "s1001", "s1002"]
    assert found["s1001"].name == "Doe, John" and found["s1001"].flags == []
    assert found["99999"].flags == ["not-in-roster"] and found["s1002"].flags == []


def test_zip_members_keep_their_time(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("doejohn_23456_78901_synthetic.ipynb", date_time=(2026, 3, 1, 23, 30, 0))
        zf.writestr(info, json.dumps(nbformat.v4.new_notebook()))
    found = find_submissions(extract_zip(archive, tmp_path / "x"), syn.ASSIGNMENT, syn.NOTEBOOK)
    assert found[0].file_time == datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


# -- lateness ------------------------------------------------------------------------------------------------------

DUE = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)


def _submission(**fields):
    return Submission("s", None, **fields)


def test_the_submission_time_comes_from_timestamp_then_lms_then_file():
    file_time = DUE + timedelta(days=5)
    lms = LmsName("blackboard", "jdoe", "jdoe", "x.ipynb", submitted_at=DUE + timedelta(hours=3))
    policy = LatePolicy(DUE)
    both = assess(_submission(timestamp="2026-03-01 12:00:00.000000 UTC", lms=lms, file_time=file_time), policy, 10)
    assert (both.source, both.late, both.days_late) == ("timestamp.txt", False, 0)
    lms_only = assess(_submission(lms=lms, file_time=file_time), policy, 10)
    assert (lms_only.source, lms_only.late, lms_only.days_late) == ("lms", True, 1)
    file_only = assess(_submission(file_time=file_time), policy, 10)
    assert (file_only.source, file_only.late, file_only.days_late) == ("file", True, 5)
    unknown = assess(_submission(), policy, 10)
    assert (unknown.source, unknown.late) == ("", None)


def test_canvas_marker_decides_over_a_file_time_and_without_due():
    marked = LmsName("canvas", "1", "doejohn", "x.ipynb", late=True)
    on_time_file = DUE - timedelta(days=1)
    assert assess(_submission(lms=marked, file_time=on_time_file), LatePolicy(DUE, 10), 10).late is True
    assert assess(_submission(lms=marked), LatePolicy(), 10).late is True
    unmarked = LmsName("canvas", "1", "doejohn", "x.ipynb", late=False)
    assert assess(_submission(lms=unmarked, file_time=DUE + timedelta(days=3)), LatePolicy(DUE), 10).late is False


@pytest.mark.parametrize("hours_late, per_day, cap, grace, days, penalty", [
    (1, 10, 100, 0, 1, 1.0),      # a started day counts
    (25, 10, 100, 0, 2, 2.0),
    (24 * 9, 15, 50, 0, 9, 5.0),  # 135 % capped at 50 % of 10 points
    (0.5, 10, 100, 60, 0, 0.0),   # within the grace period
    (30, 0, 100, 0, 2, 0.0),      # no penalty: still reported late
])
def test_late_policy(hours_late, per_day, cap, grace, days, penalty):
    policy = LatePolicy(DUE, per_day, cap, timedelta(minutes=grace))
    lateness = assess(_submission(timestamp=(DUE + timedelta(hours=hours_late)).isoformat()), policy, 10)
    assert (lateness.days_late, lateness.penalty) == (days, penalty)
    result = SubmissionResult("s", "a", "graded", 4.0, 10.0, [], [], [], 1.0)
    cells = columns(result, lateness, "Ann")
    assert cells[0] == "Ann" and cells[3] == ("yes" if days else "no")
    assert float(cells[-1]) == max(0.0, 4.0 - penalty)


def test_naive_times_are_utc():
    assert parse_time("2026-03-01T23:59:00") == DUE
    assert parse_time("2026-03-02T07:59:00+08:00") == DUE


# -- the Canvas gradebook CSV --------------------------------------------------------------------------------------

def test_canvas_csv_imports_by_canvas_id_leaves_error_rows_empty(tmp_path):
    canvas = LmsName("canvas", "23456", "doejohn", "x.ipynb")
    subs = {"s1001": Submission("s1001", None, name="Doe, John", lms=canvas),
            "=cmd|' /C calc'!A0": Submission("=cmd|' /C calc'!A0", None, name="=cmd|' /C calc'!A0",
                                             lms=LmsName("canvas", "5", "=cmd", "x.ipynb")),
            "broken": Submission("broken", None, lms=LmsName("canvas", "6", "broken", "x.ipynb")),
            "folder_only": Submission("folder_only", None)}
    results = [SubmissionResult(sid, "a", "graded", 8.0, 10.0, [], [], [], 1.0) for sid in subs]
    results[2] = SubmissionResult("broken", "a", "error", 0.0, 10.0, ["not-json"], [], [], 0.0, "truncated")
    roster = Roster([Student("s1001", "Doe, John", "23456", "jdoe@uni.edu", "GRU 2026")])
    rows = entries(results, subs, {"s1001": 7.0}, roster)
    path, skipped = write_canvas_csv(tmp_path, rows, "GRU NumPy (12345)", 10)
    table = list(csv.reader(open(path, encoding="utf-8")))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "GRU NumPy (12345)"]
    assert table[1] == ["Points Possible", "", "", "", "", "10"]
    body = {row[1]: row for row in table[2:]}
    assert body["23456"] == ["Doe, John", "23456", "s1001", "jdoe@uni.edu", "GRU 2026", "7"]
    assert body["5"][0].startswith("'=") and body["5"][-1] == "8"   # a formula is never run by a spreadsheet
    assert body["6"][-1] == ""                                       # error row: the cell stays as it is
    assert skipped == ["folder_only"]


# -- error rows reach nbgrader's gradebook (formgrader) --------------------------------------------------------------

@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setitem(coursekit.items.ASSIGNMENTS, syn.ASSIGNMENT, syn.REGISTRY)
    return syn.make_course(tmp_path / "course")


def test_error_rows_are_in_the_gradebook_for_formgrader(course, tmp_path):
    from nbgrader.api import Gradebook
    from autograder.gradebook import course_directory, record
    assignment = load_assignment(course, syn.ASSIGNMENT)
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    coursedir = course_directory(course, db)
    broken = error_result("zoe", assignment, "not-json", "zoe/synthetic.ipynb is truncated")
    interrupted = error_result("yan", assignment, "interrupted", "grading was interrupted")
    assert record(assignment, [broken, interrupted], coursedir) == ["zoe"]
    with Gradebook(db, "gru-course") as gb:
        submission = gb.find_submission(syn.ASSIGNMENT, "zoe")
        assert submission.score == 0 and submission.needs_manual_grade
        grade = gb.find_grade("test_double", syn.NOTEBOOK, syn.ASSIGNMENT, "zoe")
        assert grade.auto_score == 0 and grade.needs_manual_grade
        comment = gb.find_comment("double", syn.NOTEBOOK, syn.ASSIGNMENT, "zoe").auto_comment
        assert "truncated" in comment
    shown = course / "autograder" / "autograded" / "zoe" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    notebook = nbformat.read(shown, as_version=4)
    assert "could not be graded" in notebook.cells[0].source and "truncated" in notebook.cells[0].source
    assert all("HIDDEN" not in cell.source for cell in notebook.cells)


# -- end to end: a Canvas zip, a roster and a due date, graded by the CLI ---------------------------------------------

@pytest.mark.slow
def test_canvas_zip_to_importable_gradebook(course, tmp_path, capsys):
    from autograder.cli import main
    assert main(["release", syn.ASSIGNMENT, "--root", str(course)]) == 0
    released = nbformat.read(course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb", as_version=4)
    solved = syn.with_answers(load_assignment(course, syn.ASSIGNMENT), syn.CORRECT)
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("doejohn_late_23456_78901_synthetic-1.ipynb", (2026, 3, 3, 10, 0, 0)),
                    json.dumps(solved))
        zf.writestr(zipfile.ZipInfo("roeann_34567_78902_synthetic.ipynb", (2026, 3, 1, 9, 0, 0)),
                    json.dumps(released))
        zf.writestr(zipfile.ZipInfo("leebo_45678_78903_synthetic.ipynb", (2026, 3, 1, 9, 0, 0)), '{"cells": [')
        zf.writestr(zipfile.ZipInfo("mystery.ipynb", (2026, 3, 1, 9, 0, 0)), json.dumps(solved))
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id,name\n23456,s1001,John Doe\n34567,s1002,Ann Roe\n45678,s1003,Bo Lee\n")
    out = tmp_path / "out"
    assert main(["grade", syn.ASSIGNMENT, str(archive), "--out", str(out), "--root", str(course), "--workers", "1",
                 "--timeout", "10", "--roster", str(roster),
                 "--due", "2026-03-01T23:59:00+00:00", "--late-penalty", "10", "--late-cap", "30",
                 "--lms-column", "GRU synthetic (4242)"]) == 0
    log = capsys.readouterr().err
    rows = {row["student_id"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    john = rows["s1001"]  # late by Canvas's marker; the zip's time says 2 days (10 % each of 6 points)
    assert (john["score"], john["late"], john["days_late"], john["penalty"], john["final_score"]) == \
        ("6", "yes", "2", "1.2", "4.8")
    assert (rows["s1002"]["late"], rows["s1002"]["final_score"], rows["s1002"]["name"]) == ("no", "0", "Ann Roe")
    assert rows["s1003"]["status"] == "error" and rows["mystery"]["flags"].startswith("unrecognised-name")
    # progress lines, one per hand-in, since stderr is not a terminal here
    assert sum(line.startswith("[") and "/4] " in line for line in log.splitlines()) == 4
    assert "1 error row(s)" in log and "s1003" in log and "mystery" in log
    table = list(csv.reader(open(out / "canvas_grades.csv", encoding="utf-8")))
    assert table[0][-1] == "GRU synthetic (4242)" and table[1][-1] == "6"
    assert {row[1]: row[-1] for row in table[2:]} == {"23456": "4.8", "34567": "0", "45678": ""}
    assert "mystery" in log.split("canvas_grades.csv")[1]  # left out: no Canvas id, and said so
    assert os.path.isfile(out / "results" / "s1001.json")
