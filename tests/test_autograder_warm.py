"""Warm kernels (autograder/warm.py, zygote.py): forked kernels are as isolated from each other as fresh ones.

One worker grades two submissions in a row with the same zygote. The first leaves everything it can behind: files
in every writable folder, a process that detaches from its session, a System V shared-memory segment. The second
looks for all of it, and tries to read the zygote's memory. Nothing may be found. Needs bubblewrap as root (the only
setting that uses warm kernels); skipped with the reason otherwise.
"""

import json

import nbformat
import pytest

import autograder_synthetic as syn
from autograder.assignment import load_assignment
from autograder.config import GradingConfig
from autograder.grader import Grader
from autograder.sandbox import detect

pytestmark = pytest.mark.slow

LEAVE_BEHIND = """\
import os, subprocess, ctypes
for folder in ("/tmp", "/home/learner", "/run/kernel", "/dev/shm"):
    try:
        with open(os.path.join(folder, "planted.txt"), "w") as file:
            file.write("from the previous student")
    except OSError as exc:
        print("cannot plant in", folder, exc)
subprocess.Popen(["sleep", "600"], start_new_session=True)
libc = ctypes.CDLL(None)
print("shm id", libc.shmget(0x5EED, 4096, 0o1666))
"""

LOOK_AROUND = """\
import os, subprocess, ctypes
found = [f for f in ("/tmp/planted.txt", "/home/learner/planted.txt", "/run/kernel/planted.txt",
                     "/dev/shm/planted.txt") if os.path.exists(f)]
processes = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
if "sleep 600" in processes:
    found.append("the sleeping process")
if ctypes.CDLL(None).shmget(0x5EED, 0, 0) != -1:
    found.append("the shared memory segment")
try:
    open("/proc/1/mem", "rb").read(1)
    found.append("the zygote's memory")
except OSError:
    pass
print("LEFTOVERS", found)
"""


def _sandbox_as_root_or_skip():
    sandbox, note = detect("auto")
    if sandbox is None or not sandbox.as_root:
        pytest.skip(f"warm kernels need bubblewrap as root ({note})")
    return sandbox, note


def _assignment(tmp_path):
    syn.register()
    return load_assignment(syn.make_course(tmp_path / "course"), syn.ASSIGNMENT)


def _submission(tmp_path, assignment, name, extra_code):
    notebook = syn.with_answers(assignment, syn.CORRECT)
    notebook.cells.insert(2, nbformat.v4.new_code_cell(extra_code, id=f"learner-{name}"))
    return syn.write(notebook, tmp_path / name / f"{syn.NOTEBOOK}.ipynb")


def test_a_forked_kernel_finds_nothing_of_the_previous_submission(tmp_path):
    sandbox, note = _sandbox_as_root_or_skip()
    assignment = _assignment(tmp_path)
    grader = Grader(assignment, GradingConfig(sandbox=sandbox, sandbox_note=note), secret=7)
    kernels = grader.kernels()
    try:
        assert kernels.full.warm and all(supply.warm for supply in kernels.rooms.values())
        first = grader.grade("first", _submission(tmp_path, assignment, "first", LEAVE_BEHIND), kernels)
        second = grader.grade("second", _submission(tmp_path, assignment, "second", LOOK_AROUND), kernels)
    finally:
        kernels.close()
        grader.close()
    assert first.score == second.score == assignment.autograded_max
    outputs = json.dumps([cell.get("outputs", []) for cell in second.notebook.cells])
    assert "LEFTOVERS []" in outputs, outputs[:2000]
    assert "cannot plant in /tmp" not in json.dumps([c.get("outputs", []) for c in first.notebook.cells])


def test_without_root_or_bubblewrap_kernels_start_fresh(tmp_path):
    assignment = _assignment(tmp_path)
    grader = Grader(assignment, GradingConfig(sandbox=None), secret=7)
    kernels = grader.kernels()
    try:
        assert not kernels.full.warm and not any(supply.warm for supply in kernels.rooms.values())
    finally:
        kernels.close()
        grader.close()
