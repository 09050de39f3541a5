"""Hostile and broken submissions of 02-gru-numpy, with the outcome each must get from this grader.

Every submission is a code transformation of the released (student) notebook with the model answers filled in
(``autograder.corpus.solved``), so nothing big is committed. Used by tests/test_autograder_security.py (all cases
in one ``python -m autograder grade`` run) and by benchmarks/security_table.py (the same cases through plain
``nbgrader autograde`` too).

An attack that succeeds prints its ``evidence`` marker (e.g. ``LEAKED-HIDDEN-TESTS`` when it could read hidden
tests): the marker must never appear in what this grader writes, and the benchmark reports it for nbgrader. Paths
in the attacks are those of ``nbgrader autograde``, which runs a notebook in
``<course>/autograder/autograded/<student>/<assignment>/``: ``../../../gradebook.db`` is its gradebook and
``../../../../solutions/`` the instructor notebooks.
"""

import copy
import dataclasses
import json
from pathlib import Path

import nbformat

from autograder import corpus
from autograder.assignment import cell_kind, grade_id

ASSIGNMENT = "02-gru-numpy"
NOTEBOOK = "gru_numpy"
MAX_SCORE = 10
POINTS = {"gru_cell_forward": 4, "gru_forward": 4, "gru_cell_forward_cho": 2}


@dataclasses.dataclass
class Context:
    """What a case is built from."""

    root: Path  # the course root the grader uses (absolute paths of the attacks point into it)
    released: nbformat.NotebookNode  # the student notebook, as released by nbgrader
    instructor: nbformat.NotebookNode  # solutions/02-gru-numpy
    other_released: nbformat.NotebookNode  # course/01-gru-concept (for "a notebook of another assignment")
    other_instructor: nbformat.NotebookNode
    port: int = 9  # a local TCP port that a listener may watch (the network attack connects to it)

    @property
    def solved(self):
        return corpus.solved(self.released, self.instructor)


@dataclasses.dataclass(frozen=True)
class Case:
    """One submission: how to build it and what this grader must make of it."""

    name: str
    attack: str  # one line for the table
    build: object  # Context -> notebook (or bytes for a broken file)
    score: float
    status: str = "graded"
    flags: tuple = ()  # every flag of the row starts with one of these, and each of these starts some flag
    evidence: str | None = None  # printed by the attack when it succeeds

    def expected(self):
        """This grader's outcome, as the table shows it."""
        text = f"{self.score:g}/{MAX_SCORE} {self.status}"
        return text + (f" [{', '.join(self.flags)}]" if self.flags else "")


def outcome(row, flag_prefixes):
    """The outcome text of a grades.csv row, flags shown by the prefixes they match (see Case.expected)."""
    flags = [f for f in row["flags"].split(";") if f]
    shown = [p for p in flag_prefixes if any(f.startswith(p) for f in flags)]
    unexplained = [f for f in flags if not any(f.startswith(p) for p in flag_prefixes)]
    text = f"{float(row['score']):g}/{float(row['max_score']):g} {row['status']}"
    text += f" [{', '.join(shown + unexplained)}]" if shown or unexplained else ""
    return text


# ----------------------------------------------------------------------------------------------------------------
# Notebook transformations
# ----------------------------------------------------------------------------------------------------------------

def _copy(notebook):
    return copy.deepcopy(notebook)


def with_solution(notebook, target, source):
    """``notebook`` with the solution cell of ``target`` (its grade id) replaced by ``source``."""
    notebook = _copy(notebook)
    cell = next(c for c in notebook.cells if cell_kind(c) == "solution" and grade_id(c) == target)
    cell.source = source
    return notebook


def with_cell(notebook, source, after="setup", name="extra"):
    """``notebook`` with a new code cell (the learner's own) after the cell whose grade id or id is ``after``."""
    notebook = _copy(notebook)
    index = next(i for i, c in enumerate(notebook.cells) if after in (grade_id(c), c.get("id")))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source, id=f"learner-{name}"))
    return notebook


WRONG = {
    "gru_cell_forward": "def gru_cell_forward(x, h_prev, params):\n    return np.zeros_like(h_prev)",
    "gru_forward": "def gru_forward(xs, h0, params):\n    hs = np.zeros((len(xs),) + h0.shape)\n    return hs, hs[-1]",
    "gru_cell_forward_cho": "def gru_cell_forward_cho(x, h_prev, params):\n    return np.zeros_like(h_prev)",
}


def all_wrong(notebook):
    for target, source in WRONG.items():
        notebook = with_solution(notebook, target, source)
    return notebook


# -- correct code written in unusual ways -----------------------------------------------------------------------

EINSUM = {
    "gru_cell_forward": '''\
def gru_cell_forward(x, h_prev, params):
    p = params
    lin = lambda W, v, b: np.einsum("bi,hi->bh", v, W) + b
    r = sigmoid(lin(p["W_ir"], x, p["b_ir"]) + lin(p["W_hr"], h_prev, p["b_hr"]))
    z = sigmoid(lin(p["W_iz"], x, p["b_iz"]) + lin(p["W_hz"], h_prev, p["b_hz"]))
    n = np.tanh(lin(p["W_in"], x, p["b_in"]) + r * lin(p["W_hn"], h_prev, p["b_hn"]))
    return n + z * (h_prev - n)''',
    "gru_forward": '''\
def gru_forward(xs, h0, params):
    states = [h0]
    for x in xs:
        states.append(gru_cell_forward(x, states[-1], params))
    hs = np.stack(states[1:])
    return hs, hs[-1]''',
    "gru_cell_forward_cho": '''\
def gru_cell_forward_cho(x, h_prev, params):
    p = params
    lin = lambda W, v, b: np.einsum("bi,hi->bh", v, W) + b
    r = sigmoid(lin(p["W_ir"], x, p["b_ir"]) + lin(p["W_hr"], h_prev, p["b_hr"]))
    z = sigmoid(lin(p["W_iz"], x, p["b_iz"]) + lin(p["W_hz"], h_prev, p["b_hz"]))
    n = np.tanh(lin(p["W_in"], x, p["b_in"]) + lin(p["W_hn"], r * h_prev, p["b_hn"]))
    return (1 - z) * n + z * h_prev''',
}

LOOPS = {
    "gru_cell_forward": '''\
def gru_cell_forward(x, h_prev, params):
    # one hidden unit of one example at a time: no matrix product at all
    p = params
    B, H = h_prev.shape
    h_next = np.empty((B, H), dtype=np.result_type(x, h_prev, p["W_ir"]))
    dot = lambda row, v: sum(row[i] * v[i] for i in range(len(v)))
    for b in range(B):
        for j in range(H):
            r = sigmoid(dot(p["W_ir"][j], x[b]) + p["b_ir"][j] + dot(p["W_hr"][j], h_prev[b]) + p["b_hr"][j])
            z = sigmoid(dot(p["W_iz"][j], x[b]) + p["b_iz"][j] + dot(p["W_hz"][j], h_prev[b]) + p["b_hz"][j])
            n = np.tanh(dot(p["W_in"][j], x[b]) + p["b_in"][j] + r * (dot(p["W_hn"][j], h_prev[b]) + p["b_hn"][j]))
            h_next[b, j] = (1 - z) * n + z * h_prev[b, j]
    return h_next''',
    "gru_forward": '''\
def gru_forward(xs, h0, params):
    hs = []
    h = h0
    t = 0
    while t < len(xs):
        h = gru_cell_forward(xs[t], h, params)
        hs.append(h)
        t += 1
    return np.array(hs), h''',
    "gru_cell_forward_cho": '''\
def gru_cell_forward_cho(x, h_prev, params):
    p = params
    out = []
    for b in range(h_prev.shape[0]):
        r = sigmoid(p["W_ir"] @ x[b] + p["b_ir"] + p["W_hr"] @ h_prev[b] + p["b_hr"])
        z = sigmoid(p["W_iz"] @ x[b] + p["b_iz"] + p["W_hz"] @ h_prev[b] + p["b_hz"])
        n = np.tanh(p["W_in"] @ x[b] + p["b_in"] + p["W_hn"] @ (r * h_prev[b]) + p["b_hn"])
        out.append((1 - z) * n + z * h_prev[b])
    return np.stack(out)''',
}

FLOAT32 = {  # keeps float32 inputs in float32 (and float64 in float64), its own sigmoid through tanh
    "gru_cell_forward": '''\
def _sig(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def gru_cell_forward(x, h_prev, params):
    dt = np.result_type(x, h_prev)
    p = {k: v.astype(dt) for k, v in params.items()}
    x, h_prev = x.astype(dt), h_prev.astype(dt)
    gates_x = x @ np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]]).T
    gates_h = h_prev @ np.concatenate([p["W_hr"], p["W_hz"], p["W_hn"]]).T
    H = h_prev.shape[1]
    r = _sig(gates_x[:, :H] + p["b_ir"] + gates_h[:, :H] + p["b_hr"])
    z = _sig(gates_x[:, H:2 * H] + p["b_iz"] + gates_h[:, H:2 * H] + p["b_hz"])
    n = np.tanh(gates_x[:, 2 * H:] + p["b_in"] + r * (gates_h[:, 2 * H:] + p["b_hn"]))
    return ((1 - z) * n + z * h_prev).astype(dt)''',
    "gru_forward": '''\
def gru_forward(xs, h0, params):
    hs = np.zeros((xs.shape[0],) + h0.shape, dtype=np.result_type(xs, h0))
    h = h0
    for t, x in enumerate(xs):
        h = hs[t] = gru_cell_forward(x, h, params)
    return hs, hs[-1]''',
    "gru_cell_forward_cho": '''\
def gru_cell_forward_cho(x, h_prev, params):
    dt = np.result_type(x, h_prev)
    p = {k: v.astype(dt) for k, v in params.items()}
    r = _sig(x @ p["W_ir"].T + p["b_ir"] + h_prev @ p["W_hr"].T + p["b_hr"])
    z = _sig(x @ p["W_iz"].T + p["b_iz"] + h_prev @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + (r * h_prev) @ p["W_hn"].T + p["b_hn"])
    return (1 - z) * n + z * h_prev''',
}


def _answers(answers):
    def build(ctx):
        notebook = ctx.solved
        for target, source in answers.items():
            notebook = with_solution(notebook, target, source)
        return notebook
    return build


# -- the attacks ----------------------------------------------------------------------------------------------------

NOOP_CHECKS = """\
import coursekit.checking
np.testing.assert_allclose = lambda *args, **kwargs: None
coursekit.checking.check = lambda *args, **kwargs: None  # what this course's test cells call"""

RENAMED_CHECKS = "check_cell_forward = check_gru_forward = check_cell_forward_cho = lambda *args, **kwargs: None"

AST_TRANSFORMER = """\
import ast


class SkipChecks(ast.NodeTransformer):
    # every statement that calls a check_... function becomes `pass`
    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and getattr(call.func, "id", "").startswith("check"):
            return ast.Pass()
        return node


get_ipython().ast_transformers.append(SkipChecks())"""

TORCH_VF = '''\
def gru_cell_forward(x, h_prev, params):
    import torch
    stack = lambda *keys: torch.from_numpy(np.concatenate([params[k] for k in keys]))
    h = torch._VF.gru_cell(torch.from_numpy(x), torch.from_numpy(h_prev), stack("W_ir", "W_iz", "W_in"),
                           stack("W_hr", "W_hz", "W_hn"), stack("b_ir", "b_iz", "b_in"), stack("b_hr", "b_hz", "b_hn"))
    return h.numpy()'''

COURSE_REFERENCE = '''\
def gru_forward(xs, h0, params):
    hs, _ = gru.forward(xs, h0, params)
    return hs, hs[-1]'''

SYS_MODULES = """\
import sys
reference = sys.modules["coursekit.gru"]"""

SYS_MODULES_CHO = '''\
def gru_cell_forward_cho(x, h_prev, params):
    return reference.cell_forward(x, h_prev, params, reset="before")[0]'''

DUNDER_IMPORT = '''\
def gru_cell_forward_cho(x, h_prev, params):
    ref = __import__("coursekit.gru", fromlist=["cell_forward"])
    return ref.cell_forward(x, h_prev, params, reset="before")[0]'''

SQLITE_WRITE = """\
import sqlite3
try:
    db = sqlite3.connect("../../../gradebook.db")
    db.execute("UPDATE grade SET extra_credit = 50.5")
    db.commit()
    print("GRADEBOOK-WRITTEN", db.total_changes)
except Exception as exc:
    print("no gradebook:", exc)"""

SQLITE_READ = """\
import sqlite3
try:
    db = sqlite3.connect("file:../../../gradebook.db?mode=ro", uri=True)
    rows = [row[0] for row in db.execute("SELECT source FROM source_cell")]
    if any("hidden=True" in source for source in rows):
        print("LEAKED-HIDDEN-TESTS", [source for source in rows if "hidden=True" in source][:3])
except Exception as exc:
    print("no gradebook:", exc)"""

READ_SOLUTIONS = """\
try:
    text = open("../../../../solutions/02-gru-numpy/gru_numpy.ipynb").read()
    if "BEGIN HIDDEN TESTS" in text:
        print("LEAKED-HIDDEN-TESTS", text[text.index("BEGIN HIDDEN TESTS"):][:300])
except OSError as exc:
    print("cannot read:", exc)"""

WALK = """\
import os
# no path literal, no "..": climb from the working folder by splitting on chr(47)
top = os.getcwd().rsplit(chr(47), 4)[0] or chr(47)
found = []
for folder, subfolders, files in os.walk(top):
    subfolders[:] = [d for d in subfolders if d not in ("usr", "proc", "sys", "dev", "site-packages")]
    for name in files:
        if name.endswith(".ipynb"):
            try:
                with open(os.path.join(folder, name), "rb") as file:
                    data = file.read(5_000_000)
            except OSError:
                continue
            if b"BEGIN HIDDEN TESTS" in data:
                found.append(os.path.join(folder, name))
print("LEAKED-HIDDEN-TESTS" if found else "nothing found", found[:5])"""

ENV_PROBE = """\
import os
if "NBGRADER_EXECUTION" in os.environ:
    print("PROBE-FOUND", os.environ["NBGRADER_EXECUTION"])"""

ALWAYS_EQUAL = '''\
class AlwaysEqual:
    shape = property(lambda self: (1,))
    def __eq__(self, other):
        return True
    def __array__(self, *args, **kwargs):
        return np.zeros(1)


def gru_cell_forward(x, h_prev, params):
    return AlwaysEqual()'''

BUILTINS = """\
import builtins
builtins.abs = lambda value: 0 * value
builtins.float = lambda *args: 0.0"""

SETTRACE = """\
import sys


def _copy_expected(frame, event, arg):
    # when the checker compares an output with the expected value, overwrite the output in place
    if event == "call" and frame.f_code.co_name == "_mismatch":
        out, expected = frame.f_locals.get("output"), frame.f_locals.get("expected")
        if getattr(out, "shape", None) == getattr(expected, "shape", 0) and getattr(out, "flags", None) is not None \\
                and out.flags.writeable:
            out[...] = expected
    return None


sys.settrace(_copy_expected)"""

FORK = """\
import os, time
if os.fork() == 0:  # the child outlives the cell (for two minutes at most)
    with open("forked.pid", "w") as file:
        file.write(str(os.getpid()))
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
    os._exit(0)"""

FILL_DISK = """\
written = 0
try:
    for i in range(20):  # 1 GB at most, in files of 50 MB
        with open(f"fill-{i}.bin", "wb") as file:
            file.write(b"\\0" * (50 * 2**20))
        written += 50
except OSError as exc:
    print("stopped after", written, "MB:", exc)
if written >= 1000:
    print("DISK-FILLED", written, "MB")"""

ALLOCATE = """\
big = np.ones(2**27)  # 1 GiB, every page touched
print(big.nbytes // 2**20, "MiB allocated")
del big"""

GIANT_LINE = "print('x' * 20_000_000)"

DELETE_NOTEBOOK = """\
import glob, os
for path in glob.glob("*.ipynb"):
    os.remove(path)
    print("DELETED-NOTEBOOK", path)"""

KILL_GRADER = """\
import os, signal
os.kill(os.getppid(), signal.SIGKILL)"""

NETWORK_PAYLOAD = b"answers of another student"
NETWORK = """\
import socket
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as connection:
        connection.sendall(b"answers of another student")
        print("CONNECTED")
except OSError as exc:
    print("no network:", exc)"""

SHELL = ("!cat ../../../../solutions/02-gru-numpy/gru_numpy.ipynb | grep -c 'BEGIN HIDDEN TESTS' "
         "&& echo LEAKED-HIDDEN-TESTS")

CTYPES = """\
import ctypes
libc = ctypes.CDLL(None)
if libc.system(b"cat ../../../../solutions/02-gru-numpy/gru_numpy.ipynb | grep -q 'BEGIN HIDDEN' ") == 0:
    print("LEAKED-HIDDEN-TESTS")"""

SUBPROCESS = """\
import subprocess
done = subprocess.run(["grep", "-c", "BEGIN HIDDEN", "../../../../solutions/02-gru-numpy/gru_numpy.ipynb"],
                      capture_output=True, text=True)
if done.returncode == 0:
    print("LEAKED-HIDDEN-TESTS", done.stdout)"""

OS_EXIT = '''\
def gru_forward(xs, h0, params):
    hs, _ = None, None
    return hs


import os
os._exit(3)'''


def _absolute_gradebook(ctx):
    path = ctx.root / "autograder" / "gradebook.db"
    return with_cell(ctx.solved, f"""\
try:
    with open({str(path)!r}, "r+b") as file:
        file.write(b"overwritten")
        print("GRADEBOOK-WRITTEN")
except OSError as exc:
    print("cannot write:", exc)""", after="cell-test", name="gradebook")


def _truncated(ctx):
    text = json.dumps(ctx.solved)
    return text[: len(text) // 2].encode()


def _other_assignment(ctx):
    return corpus.solved(ctx.other_released, ctx.other_instructor)


def _duplicated_ids(ctx):
    """A copy of the first test cell (same id and metadata) that disarms the function, placed before the real one;
    the real test cell is then the duplicate."""
    notebook = _copy(ctx.solved)
    index = next(i for i, c in enumerate(notebook.cells) if grade_id(c) == "test_gru_cell_forward")
    fake = copy.deepcopy(notebook.cells[index])
    fake.source = "gru_cell_forward = lambda *args: 0"
    notebook.cells.insert(index, fake)
    return notebook


def _edited_tests(ctx):
    """Wrong gru_forward; its test cell emptied and stripped of metadata; the Cho test cell deleted."""
    notebook = with_solution(ctx.solved, "gru_forward", WRONG["gru_forward"])
    for cell in notebook.cells:
        if grade_id(cell) == "test_gru_forward":
            cell.source = "pass"
            del cell.metadata["nbgrader"]
    notebook.cells = [c for c in notebook.cells if grade_id(c) != "test_gru_cell_forward_cho"]
    return notebook


def _cell_then_wrong(source, name):
    return lambda ctx: with_cell(all_wrong(ctx.solved), source, name=name)


def _cell(source, name, after="setup"):
    return lambda ctx: with_cell(ctx.solved, source if "{port}" not in source else source.format(port=ctx.port),
                                 after=after, name=name)


CASES = (
    # honest work, also written in unusual ways: full marks, no flag
    Case("honest", "honest: the model answers", lambda ctx: ctx.solved, 10),
    Case("honest-einsum", "honest: np.einsum instead of @, h' = n + z (h - n)", _answers(EINSUM), 10),
    Case("honest-loops", "honest: Python loops instead of matrix products", _answers(LOOPS), 10),
    Case("honest-float32", "honest: keeps float32 in float32, own sigmoid via tanh", _answers(FLOAT32), 10),
    Case("blank", "the released notebook, nothing answered", lambda ctx: ctx.released, 0),
    # forging the verdict
    Case("noop-checks", "wrong code + np.testing.assert_allclose and coursekit.checking.check replaced by no-ops",
         _cell_then_wrong(NOOP_CHECKS, "noop"), 0, flags=("policy:grading-machinery", "policy:monkeypatch")),
    Case("renamed-checks", "wrong code + the notebook's check_* names rebound to no-ops",
         _cell_then_wrong(RENAMED_CHECKS, "rename"), 0),
    Case("ast-transformer", "wrong code + an IPython AST transformer that deletes the check calls",
         _cell_then_wrong(AST_TRANSFORMER, "transformer"), 0, flags=("policy:ipython-hooks",)),
    Case("settrace", "wrong code + sys.settrace overwriting the output inside the checker",
         _cell_then_wrong(SETTRACE, "trace"), 0, flags=("policy:tracing",)),
    Case("builtins", "wrong code + builtins.abs and builtins.float replaced",
         _cell_then_wrong(BUILTINS, "builtins"), 0, flags=("policy:builtins", "policy:monkeypatch")),
    Case("always-equal", "gru_cell_forward returns an object whose __eq__ is always True",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", ALWAYS_EQUAL), 6),
    # using the reference instead of writing the code
    Case("torch-vf", "gru_cell_forward calls torch._VF.gru_cell",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", TORCH_VF), 6,
         flags=("policy:reference", "policy:forbidden-name")),
    Case("course-reference", "gru_forward calls the course's own gru.forward",
         lambda ctx: with_solution(ctx.solved, "gru_forward", COURSE_REFERENCE), 6,
         flags=("policy:reference", "policy:forbidden-name")),
    Case("sys-modules", "gru_cell_forward_cho takes coursekit.gru from sys.modules",
         lambda ctx: with_solution(with_cell(ctx.solved, SYS_MODULES, name="modules"), "gru_cell_forward_cho",
                                   SYS_MODULES_CHO), 0, flags=("policy:dynamic-code", "policy:forbidden-name")),
    Case("dunder-import", "gru_cell_forward_cho imports the reference with __import__",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward_cho", DUNDER_IMPORT), 0,
         flags=("policy:dynamic-code",)),
    # the gradebook, solutions and hidden tests
    Case("gradebook-write", "sqlite3 writes extra credit into ../../../gradebook.db", _cell(SQLITE_WRITE, "sqlw"), 0,
         flags=("policy:database", "policy:outside-path"), evidence="GRADEBOOK-WRITTEN"),
    Case("gradebook-read", "sqlite3 reads the hidden tests from the gradebook's source_cell table",
         _cell(SQLITE_READ, "sqlr"), 0, flags=("policy:database", "policy:outside-path"),
         evidence="LEAKED-HIDDEN-TESTS"),
    Case("gradebook-absolute", "overwrites the gradebook by its absolute path", _absolute_gradebook, 0,
         flags=("policy:database", "policy:outside-path"), evidence="GRADEBOOK-WRITTEN"),
    Case("read-solutions", "open() of ../../../../solutions/ (the instructor notebook)", _cell(READ_SOLUTIONS, "read"),
         0, flags=("policy:outside-path",), evidence="LEAKED-HIDDEN-TESTS"),
    Case("walk-filesystem", "searches every folder above it for hidden tests (no path literal: passes the review)",
         _cell(WALK, "walk"), 10, evidence="LEAKED-HIDDEN-TESTS"),
    Case("shell-escape", "!cat of the instructor notebook", _cell(SHELL, "shell"), 0,
         flags=("policy:ipython-hooks", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("ctypes", "ctypes calls libc system() to read the solutions", _cell(CTYPES, "ctypes"), 0,
         flags=("policy:native-code", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("subprocess", "subprocess greps the solutions", _cell(SUBPROCESS, "subprocess"), 0,
         flags=("policy:process", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("env-probe", "checks NBGRADER_EXECUTION to behave differently when graded", _cell(ENV_PROBE, "env"), 0,
         flags=("policy:environment",), evidence="PROBE-FOUND"),
    Case("network", "sends data to a local TCP port", _cell(NETWORK, "network"), 0, flags=("policy:network",),
         evidence="CONNECTED"),
    # the machine
    Case("fork", "forks a process that outlives the cell", _cell(FORK, "fork"), 0,
         flags=("policy:process", "policy:exit")),
    Case("kill-grader", "SIGKILL to its parent process (the grader)", _cell(KILL_GRADER, "kill", after="cho-test"), 0,
         flags=("policy:process",)),
    Case("os-exit", "os._exit in the gru_forward cell", lambda ctx: with_solution(ctx.solved, "gru_forward", OS_EXIT),
         6, status="incomplete", flags=("policy:exit", "crash")),
    Case("fill-disk", "writes 1 GB of files into its folder", _cell(FILL_DISK, "fill"), 10, evidence="DISK-FILLED"),
    Case("allocate-1gb", "allocates and touches 1 GiB", _cell(ALLOCATE, "allocate"), 10),
    Case("giant-line", "prints 20 MB on one line", _cell(GIANT_LINE, "giant"), 10),
    Case("delete-notebook", "deletes the notebook files of its folder", _cell(DELETE_NOTEBOOK, "delete"), 10,
         evidence="DELETED-NOTEBOOK"),
    # broken or misdirected files
    Case("truncated-json", "the notebook file cut in half", _truncated, 0, status="error", flags=("not-json",)),
    Case("other-assignment", "the solved notebook of 01-gru-concept, handed in for 02", _other_assignment, 0,
         status="error", flags=("wrong-assignment",)),
    Case("duplicated-ids", "a fake copy of a test cell (same id) that disarms the function, before the real one",
         _duplicated_ids, 10, flags=("restored-locked", "duplicate-cell")),
    Case("edited-tests", "wrong gru_forward; its test cell emptied and stripped of metadata, another deleted",
         _edited_tests, 6, flags=("restored-metadata", "restored-locked", "restored-deleted")),
)

BY_NAME = {case.name: case for case in CASES}


def context(root, repo, port=9):
    """The Context of a course root whose course/ and solutions/ hold 02 (and, for one case, 01 from ``repo``)."""
    read = lambda path: nbformat.read(path, as_version=4)  # noqa: E731
    other = "01-gru-concept"
    return Context(root=Path(root), released=read(Path(root) / "course" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
                   instructor=read(Path(root) / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
                   other_released=read(Path(repo) / "course" / other / "gru_concept.ipynb"),
                   other_instructor=read(Path(repo) / "solutions" / other / "gru_concept.ipynb"), port=port)


def write_submissions(ctx, folder, cases=CASES):
    """<folder>/<case name>/gru_numpy.ipynb for each case; returns the folder."""
    folder = Path(folder)
    for case in cases:
        built = case.build(ctx)
        path = folder / case.name / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        # as JSON, not nbformat.write, which would repair what the case broke (e.g. duplicated cell ids)
        path.write_bytes(built if isinstance(built, bytes) else json.dumps(built, indent=1).encode())
    return folder
