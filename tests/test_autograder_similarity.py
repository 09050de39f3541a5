"""The similarity report: a small class of 02-gru-numpy with two planted near-copies (renamed variables and
reformatting; reordered statements) that must rank first, normalisation that ignores what it should, the released
template removed, and the CLI writing the HTML without touching any score."""

import copy
import re
import time
from pathlib import Path

import nbformat
import pytest

from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.similarity import class_code, fingerprint, functions, rank, similarities

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "02-gru-numpy"

HONEST = {
    "reference": '''
def gru_cell_forward(x, h_prev, params):
    p = params
    r = sigmoid(x @ p["W_ir"].T + p["b_ir"] + h_prev @ p["W_hr"].T + p["b_hr"])
    z = sigmoid(x @ p["W_iz"].T + p["b_iz"] + h_prev @ p["W_hz"].T + p["b_hz"])
    n = np.tanh(x @ p["W_in"].T + p["b_in"] + r * (h_prev @ p["W_hn"].T + p["b_hn"]))
    return (1 - z) * n + z * h_prev
''',
    "dot": '''
def gru_cell_forward(x, h_prev, params):
    r = sigmoid(np.dot(x, params["W_ir"].T) + np.dot(h_prev, params["W_hr"].T) + params["b_ir"] + params["b_hr"])
    z = sigmoid(np.dot(x, params["W_iz"].T) + np.dot(h_prev, params["W_hz"].T) + params["b_iz"] + params["b_hz"])
    n = np.tanh(np.dot(x, params["W_in"].T) + params["b_in"] + r * (np.dot(h_prev, params["W_hn"].T) + params["b_hn"]))
    return n + z * (h_prev - n)
''',
    "lambda": '''
def gru_cell_forward(x, h_prev, params):
    lin = lambda v, w, b: v @ params[w].T + params[b]
    r = sigmoid(lin(x, "W_ir", "b_ir") + lin(h_prev, "W_hr", "b_hr"))
    z = sigmoid(lin(x, "W_iz", "b_iz") + lin(h_prev, "W_hz", "b_hz"))
    n = np.tanh(lin(x, "W_in", "b_in") + r * lin(h_prev, "W_hn", "b_hn"))
    return (1 - z) * n + z * h_prev
''',
    "unpacked": '''
def gru_cell_forward(x, h_prev, params):
    W_ir, W_iz, W_in = params["W_ir"], params["W_iz"], params["W_in"]
    W_hr, W_hz, W_hn = params["W_hr"], params["W_hz"], params["W_hn"]
    b_ir, b_iz, b_in = params["b_ir"], params["b_iz"], params["b_in"]
    b_hr, b_hz, b_hn = params["b_hr"], params["b_hz"], params["b_hn"]
    r = sigmoid(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    n = np.tanh(x @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn))
    h_next = (1 - z) * n + z * h_prev
    return h_next
''',
    "inline_sigmoid": '''
def gru_cell_forward(x, h_prev, params):
    a_r = x @ params["W_ir"].T + params["b_ir"] + h_prev @ params["W_hr"].T + params["b_hr"]
    a_z = x @ params["W_iz"].T + params["b_iz"] + h_prev @ params["W_hz"].T + params["b_hz"]
    r = 1 / (1 + np.exp(-a_r))
    z = 1 / (1 + np.exp(-a_z))
    hn = h_prev @ params["W_hn"].T + params["b_hn"]
    n = np.tanh(x @ params["W_in"].T + params["b_in"] + r * hn)
    return (1 - z) * n + z * h_prev
''',
    "gates_loop": '''
def gru_cell_forward(x, h_prev, params):
    g = {}
    for k in ("r", "z"):
        g[k] = sigmoid(x @ params["W_i" + k].T + params["b_i" + k] + h_prev @ params["W_h" + k].T + params["b_h" + k])
    n = np.tanh(x @ params["W_in"].T + params["b_in"] + g["r"] * (h_prev @ params["W_hn"].T + params["b_hn"]))
    return (1 - g["z"]) * n + g["z"] * h_prev
''',
    "matmul": '''
def gru_cell_forward(x, h_prev, params):
    gi_r = np.matmul(x, params["W_ir"].T) + params["b_ir"]
    gi_z = np.matmul(x, params["W_iz"].T) + params["b_iz"]
    gi_n = np.matmul(x, params["W_in"].T) + params["b_in"]
    gh_r = np.matmul(h_prev, params["W_hr"].T) + params["b_hr"]
    gh_z = np.matmul(h_prev, params["W_hz"].T) + params["b_hz"]
    gh_n = np.matmul(h_prev, params["W_hn"].T) + params["b_hn"]
    r = sigmoid(gi_r + gh_r)
    z = sigmoid(gi_z + gh_z)
    return (1 - z) * np.tanh(gi_n + r * gh_n) + z * h_prev
''',
    "near_reference": '''
def gru_cell_forward(x, h_prev, params):
    r = sigmoid(x @ params["W_ir"].T + h_prev @ params["W_hr"].T + params["b_ir"] + params["b_hr"])
    z = sigmoid(x @ params["W_iz"].T + h_prev @ params["W_hz"].T + params["b_iz"] + params["b_hz"])
    candidate = np.tanh(x @ params["W_in"].T + params["b_in"] + r * (h_prev @ params["W_hn"].T + params["b_hn"]))
    return z * h_prev + (1 - z) * candidate
''',
    "transposed": '''
def gru_cell_forward(x, h_prev, params):
    xt, ht = x.T, h_prev.T
    r = sigmoid((params["W_ir"] @ xt).T + params["b_ir"] + (params["W_hr"] @ ht).T + params["b_hr"])
    z = sigmoid((params["W_iz"] @ xt).T + params["b_iz"] + (params["W_hz"] @ ht).T + params["b_hz"])
    n = np.tanh((params["W_in"] @ xt).T + params["b_in"] + r * ((params["W_hn"] @ ht).T + params["b_hn"]))
    return (1 - z) * n + z * h_prev
''',
}

# ann wrote something of her own; cyd copied it, renamed every variable, reformatted, changed the comments
ANN = '''
def gru_cell_forward(x, h_prev, params):
    """My GRU step."""
    def affine(inp, w_key, b_key):  # one affine map
        return inp @ params[w_key].T + params[b_key]
    pre_r = affine(x, "W_ir", "b_ir") + affine(h_prev, "W_hr", "b_hr")
    pre_z = affine(x, "W_iz", "b_iz") + affine(h_prev, "W_hz", "b_hz")
    reset = sigmoid(pre_r)
    update = sigmoid(pre_z)
    hidden_part = affine(h_prev, "W_hn", "b_hn")
    cand = np.tanh(affine(x, "W_in", "b_in") + reset * hidden_part)
    keep = update * h_prev
    return keep + (1.0 - update) * cand
'''
CYD = '''
def gru_cell_forward(x, h_prev, params):
    # gru cell
    def lin(a,k1,k2):
        return a@params[k1].T+params[k2]
    s1 = lin(x,"W_ir","b_ir")+lin(h_prev,"W_hr","b_hr")
    s2 = lin(x,"W_iz","b_iz")+lin(h_prev,"W_hz","b_hz")
    rr = sigmoid(s1)
    zz = sigmoid(s2)
    hh = lin(h_prev,"W_hn","b_hn")
    nn_ = np.tanh(lin(x,"W_in","b_in")+rr*hh)
    k = zz*h_prev
    return k+(1.0-zz)*nn_
'''
# bo wrote a stacked version; eve copied it and reordered the independent statements (and renamed a few)
BO = '''
def gru_cell_forward(x, h_prev, params):
    H = h_prev.shape[1]
    W_i = np.vstack([params["W_ir"], params["W_iz"], params["W_in"]])
    W_h = np.vstack([params["W_hr"], params["W_hz"], params["W_hn"]])
    b_i = np.hstack([params["b_ir"], params["b_iz"], params["b_in"]])
    b_h = np.hstack([params["b_hr"], params["b_hz"], params["b_hn"]])
    gi = x @ W_i.T + b_i
    gh = h_prev @ W_h.T + b_h
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h_prev
'''
EVE = '''
def gru_cell_forward(x, h_prev, params):
    b_h = np.hstack([params["b_hr"], params["b_hz"], params["b_hn"]])
    W_h = np.vstack([params["W_hr"], params["W_hz"], params["W_hn"]])
    b_i = np.hstack([params["b_ir"], params["b_iz"], params["b_in"]])
    W_i = np.vstack([params["W_ir"], params["W_iz"], params["W_in"]])
    size = h_prev.shape[1]
    hidden = h_prev @ W_h.T + b_h
    inputs = x @ W_i.T + b_i
    z = sigmoid(inputs[:, size:2 * size] + hidden[:, size:2 * size])
    r = sigmoid(inputs[:, :size] + hidden[:, :size])
    n = np.tanh(inputs[:, 2 * size:] + r * hidden[:, 2 * size:])
    return z * h_prev + (1 - z) * n
'''
PLANTED = {("ann", "cyd"), ("bo", "eve")}


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(REPO, ASSIGNMENT)


def _notebook(assignment, source):
    """The released notebook with gru_cell_forward's cell replaced by ``source`` (other exercises left as stubs)."""
    notebook = copy.deepcopy(assignment.notebook)
    notebook.cells = copy.deepcopy(assignment.released)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "gru_cell_forward":
            cell.source = source.strip()
    return notebook


def _class(assignment):
    sources = {**HONEST, "ann": ANN, "cyd": CYD, "bo": BO, "eve": EVE}
    return {student: _notebook(assignment, source) for student, source in sources.items()}


def test_the_planted_copies_rank_first(assignment):
    code = class_code(assignment, _class(assignment))
    assert set(code.prints["gru_cell_forward"]) == {*HONEST, "ann", "cyd", "bo", "eve"}
    assert all(not code.prints[f] for f in code.functions if f != "gru_cell_forward")  # stubs: nothing left
    pairs = rank(code.prints)
    assert {(p.a, p.b) for p in pairs[:2]} == PLANTED, [(p.a, p.b, round(p.score, 2)) for p in pairs[:5]]
    honest_best = max(p.score for p in pairs if (p.a, p.b) not in PLANTED)
    assert min(p.score for p in pairs[:2]) > honest_best + 0.15  # a clear gap, not a tie broken by luck


def test_normalisation_ignores_names_format_comments_and_order():
    def fp(source):
        return fingerprint(functions(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]),
                                     {"f"})["f"][1])
    base = fp("def f(x, w):\n    a = x @ w\n    b = np.tanh(x)\n    return a + b * 2")
    assert base == fp("def f(inp, weights):  # mine\n    '''doc'''\n    t = np.tanh(inp)\n    s = inp@weights\n"
                      "    return 2*t + s")
    assert base != fp("def f(x, w):\n    a = x @ w\n    b = np.exp(x)\n    return a + b * 2")  # np.exp is not np.tanh


def test_the_template_is_removed(assignment):
    released = _notebook(assignment, "")
    released.cells = copy.deepcopy(assignment.released)
    code = class_code(assignment, {"blank1": released, "blank2": copy.deepcopy(released),
                                   "ann": _class(assignment)["ann"]})
    assert "blank1" not in code.prints["gru_cell_forward"] and rank(code.prints) == []


def test_similarities_are_symmetric_and_bounded():
    prints = {"a": frozenset({"x", "y", "z"}), "b": frozenset({"x", "y", "z"}), "c": frozenset({"q"}),
              "d": frozenset({"x", "q"})}
    table = similarities(prints)
    assert table[("a", "b")] == pytest.approx(1.0) and table[("a", "c")] == 0.0
    assert all(0.0 <= v <= 1.0 + 1e-12 for v in table.values())


def test_cli_writes_a_ranked_report_and_changes_no_score(assignment, tmp_path, capsys):
    folder = tmp_path / "submissions"
    for student, notebook in _class(assignment).items():
        (folder / student).mkdir(parents=True)
        nbformat.write(notebook, folder / student / "gru_numpy.ipynb")
    (folder / "broken").mkdir()
    (folder / "broken" / "gru_numpy.ipynb").write_text('{"cells": [')
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    out = tmp_path / "report" / "similarity.html"
    assert main(["similarity", ASSIGNMENT, str(folder), "--out", str(out), "--top", "5"]) == 0
    page = out.read_text()
    headings = re.findall(r'<section id="pair\d+"><h2>\d+\. (\S+) and (\S+): ', page)
    assert set(headings[:2]) == PLANTED, headings
    assert "changes no score" in page and "Not compared (unreadable notebook): broken" in page
    assert page.count('<section id="pair') == 5
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert "most similar" in capsys.readouterr().err
    assert not list(tmp_path.rglob("grades.csv"))


def test_a_class_of_300_takes_seconds(assignment):
    """300 hand-ins (the 13 styles above with renamed variables), three graded functions compared; the whole
    pipeline on notebooks is measured by benchmarks/bench_similarity.py."""
    sources = [ANN, CYD, BO, EVE, *HONEST.values()]
    prints = {}
    for i in range(300):
        source = sources[i % len(sources)].replace("h_prev", f"h{i}").replace("params", f"prm{i}")
        node = functions(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]),
                         {"gru_cell_forward"})["gru_cell_forward"][1]
        prints[f"s{i:03d}"] = fingerprint(node)
    start = time.perf_counter()
    pairs = rank({"gru_cell_forward": prints, "gru_forward": prints, "gru_cell_forward_cho": prints})
    elapsed = time.perf_counter() - start
    assert len(pairs) == 300 * 299 // 2 and elapsed < 20, elapsed
