"""Time of the similarity report (autograder/similarity.py) for a class of N hand-ins of 02-gru-numpy.

Each synthetic student writes gru_cell_forward, gru_forward and gru_cell_forward_cho, choosing at random among
equivalent forms for each line and naming the local variables at random, so that the class looks like a class
(many similar honest answers, no two the same). The whole pipeline is timed: reading the notebooks, fingerprints,
every pair of every function, ranking and the HTML page.

    python benchmarks/bench_similarity.py --n 300
"""

import argparse
import copy
import random
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.assignment import load_assignment
from autograder.similarity import class_code, rank, report_html
from autograder.submission import read_notebook

REPO = Path(__file__).resolve().parent.parent
WORDS = ["a", "b", "g", "h", "k", "m", "q", "s", "t", "u", "v", "w", "tmp", "val", "res", "out", "gate", "act"]


def _affine(rng, v, w, b, p):
    return rng.choice([f"{v} @ {p}['{w}'].T + {p}['{b}']", f"np.dot({v}, {p}['{w}'].T) + {p}['{b}']",
                       f"{p}['{b}'] + {v} @ {p}['{w}'].T", f"np.matmul({v}, {p}['{w}'].T) + {p}['{b}']"])


def _cell(rng, name, cho=False):
    p, h, x = rng.choice(["params", "p", "prm", "P"]), rng.choice(["h_prev", "h", "hp", "prev"]), "x"
    r, z, n = (rng.choice(WORDS) + str(i) for i in range(3))
    lines = [f"def {name}(x, h_prev, params):"]
    if p != "params":
        lines.append(f"    {p} = params")
    if h != "h_prev":
        lines.append(f"    {h} = h_prev")
    gate_r = f"sigmoid({_affine(rng, x, 'W_ir', 'b_ir', p)} + {_affine(rng, h, 'W_hr', 'b_hr', p)})"
    gate_z = f"sigmoid({_affine(rng, x, 'W_iz', 'b_iz', p)} + {_affine(rng, h, 'W_hz', 'b_hz', p)})"
    order = [(r, gate_r), (z, gate_z)]
    rng.shuffle(order)
    lines += [f"    {var} = {expr}" for var, expr in order]
    if cho:
        hidden = f"({r} * {h}) @ {p}['W_hn'].T + {p}['b_hn']"
        lines.append(f"    {n} = np.tanh({_affine(rng, x, 'W_in', 'b_in', p)} + {hidden})")
    else:
        lines.append(f"    {n} = np.tanh({_affine(rng, x, 'W_in', 'b_in', p)} + {r} * "
                     f"({_affine(rng, h, 'W_hn', 'b_hn', p)}))")
    lines.append("    return " + rng.choice([f"(1 - {z}) * {n} + {z} * {h}", f"{n} + {z} * ({h} - {n})",
                                              f"{z} * {h} + (1 - {z}) * {n}"]))
    return "\n".join(lines)


def _sequence(rng):
    hs, h, t = rng.choice(["hs", "outs", "states"]), rng.choice(["h", "state", "cur"]), rng.choice(["t", "i", "step"])
    if rng.random() < 0.5:
        body = [f"    {hs} = []", f"    {h} = h0", f"    for {t} in range(xs.shape[0]):",
                f"        {h} = gru_cell_forward(xs[{t}], {h}, params)", f"        {hs}.append({h})",
                f"    return np.stack({hs}), {h}"]
    else:
        body = [f"    {hs} = np.zeros((xs.shape[0],) + h0.shape)", f"    {h} = h0",
                f"    for {t}, x in enumerate(xs):", f"        {h} = gru_cell_forward(x, {h}, params)",
                f"        {hs}[{t}] = {h}", f"    return {hs}, {h}"]
    return "\n".join(["def gru_forward(xs, h0, params):", *body])


def make_class(assignment, n, folder, seed=0):
    rng = random.Random(seed)
    for i in range(n):
        notebook = copy.deepcopy(assignment.notebook)
        notebook.cells = copy.deepcopy(assignment.released)
        answers = {"gru_cell_forward": _cell(rng, "gru_cell_forward"), "gru_forward": _sequence(rng),
                   "gru_cell_forward_cho": _cell(rng, "gru_cell_forward_cho", cho=True)}
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        (Path(folder) / f"s{i:03d}").mkdir(parents=True)
        nbformat.write(notebook, Path(folder) / f"s{i:03d}" / "gru_numpy.ipynb")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    assignment = load_assignment(REPO, "02-gru-numpy")
    with tempfile.TemporaryDirectory() as folder:
        make_class(assignment, args.n, folder)
        start = time.perf_counter()
        notebooks = {p.parent.name: read_notebook(p) for p in sorted(Path(folder).glob("*/gru_numpy.ipynb"))}
        read = time.perf_counter()
        code = class_code(assignment, notebooks)
        printed = time.perf_counter()
        pairs = rank(code.prints)
        ranked = time.perf_counter()
        page = report_html(assignment.name, code, pairs)
        done = time.perf_counter()
    print(f"{args.n} hand-ins, {len(pairs)} pairs, functions {[f for f in code.functions if code.prints[f]]}")
    print(f"read {read - start:.2f} s, fingerprints {printed - read:.2f} s, pairs and ranking {ranked - printed:.2f} s, "
          f"HTML {done - ranked:.2f} s ({len(page) // 1024} KiB); total {done - start:.2f} s")
    print("top pairs: " + ", ".join(f"{p.a}-{p.b} {p.score:.2f}" for p in pairs[:3]))


if __name__ == "__main__":
    main()
