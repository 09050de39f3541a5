"""The machinery behind every graded item (评分项), defined once and used in two places.

A graded item says how to make test cases, what the right answer is, and which wrong answers are common. It is
used by

- the notebook's public and hidden tests (``coursekit.checks``): the learner's function runs on the cases in the
  learner's own kernel and a failure explains itself, one likely mistake at a time;
- the trusted grader (``autograder``): the learner's function runs in a sandboxed kernel that only returns plain
  data (arrays and numbers, via :func:`run_item`), and the grader's own process judges that data with
  :func:`judge`. The score never comes from code the learner could have changed.

Cases are regenerated from a seed on both sides (``item.make_cases(rng, hidden)`` is deterministic), so only the
learner's outputs cross the process boundary.
"""

import dataclasses
import inspect
import io
import json
import warnings
from typing import Callable, Optional

import numpy as np

PUBLIC_SEED = 2024  # the cases learners see in the notebook; the grader draws fresh ones per grading run


@dataclasses.dataclass(frozen=True)
class Case:
    """One call of the learner's function: ``fn(*args)``. ``label`` names it in messages, e.g. "B=1, H=1"."""

    label: str
    args: tuple
    rtol: float = 1e-7
    atol: float = 1e-9


@dataclasses.dataclass(frozen=True)
class Item:
    """A graded item.

    - name: the grade id of the nbgrader test cell, unique in its notebook (e.g. "test_gru_cell_forward")
    - target: the learner's function (or variable, when ``call`` is False) being graded
    - points: what the item is worth
    - make_cases(rng, hidden) -> list[Case]: hidden=True adds the edge cases only the grader runs
    - reference(*args): the right answer; or ``validate(case, output) -> message or None`` for items whose
      answer is not unique (e.g. a random task generator)
    - mistakes: (diagnosis, wrong_implementation) pairs; an output equal to a wrong implementation's output is
      reported with that diagnosis
    - forbidden: names the learner's code must not use (e.g. "torch" in a NumPy exercise)
    - call: False for a value item (the target is a variable, compared with ``reference()``)
    """

    name: str
    target: str
    points: float
    make_cases: Callable[[np.random.Generator, bool], list]
    reference: Optional[Callable] = None
    validate: Optional[Callable] = None
    mistakes: tuple = ()
    forbidden: tuple = ()
    call: bool = True
    no_warnings: bool = False  # fail on overflow/invalid-value warnings (numerical stability exercises)
    adapt: Optional[Callable] = None  # builds the real arguments (e.g. a torch module) from a case's plain args
    # invoke(target, *args) -> output: how to run a target that is not a plain function, e.g. a learner's
    # nn.Module class (build it, load weights chosen by the case, run forward). Default: target(*args).
    invoke: Optional[Callable] = None


@dataclasses.dataclass
class Verdict:
    """What :func:`judge` concluded: ``message`` explains the first failure (or says all passed)."""

    item: str
    passed: bool
    n_cases: int
    n_passed: int
    message: str


# ----------------------------------------------------------------------------------------------------------------
# Learner side: call the function, keep only plain data
# ----------------------------------------------------------------------------------------------------------------

def _copy_args(args):
    return tuple(_copy_value(a) for a in args)


def _copy_value(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_copy_value(v) for v in value)
    return value


def _same_value(a, b):
    """Exact equality of two plain-data trees (used to detect in-place modification of inputs)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def to_plain(value):
    """Convert a learner's output to plain data: float/int/bool, NumPy arrays of numbers, tuples of those.

    Torch tensors become arrays. Anything else (objects with a custom __eq__, strings, None...) raises TypeError:
    a grade must never depend on an object the learner controls.
    """
    if type(value) in (bool, int, float, np.float64, np.float32, np.int64, np.int32, np.bool_):
        return value.item() if isinstance(value, np.generic) else value
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise TypeError(f"returned an array of dtype {value.dtype}; expected numbers")
        return np.array(value, copy=True)
    if type(value) in (tuple, list):
        return tuple(to_plain(v) for v in value)
    if type(value) is dict and all(type(k) is str for k in value):
        return {k: to_plain(v) for k, v in value.items()}
    if type(value).__module__.startswith("torch") and type(value).__name__ == "Tensor":
        return to_plain(value.detach().cpu().numpy())
    raise TypeError(f"returned a {type(value).__name__}; expected a NumPy array, a number, or a tuple of them")


def _invoke(item, target, args):
    """The learner's output for one case: the value (value item), item.invoke(target, *args), or target(*args)."""
    if not item.call:
        return target
    if item.invoke is not None:
        return item.invoke(target, *args)
    return target(*args)


def call_learner(item, fn, cases):
    """Run the learner's ``fn`` on every case (in the learner's process). Returns one outcome per case:
    {"output": plain data or None, "error": message or None, "modified_input": bool, "warnings": [str]}.

    Overflow and invalid-value warnings are recorded: a correct answer computed through an overflow (e.g.
    np.exp(800) = inf in a sigmoid) is still numerically unsafe.
    """
    outcomes = []
    for case in cases:
        args = _copy_args(case.args)
        outcome = {"output": None, "error": None, "modified_input": False, "warnings": []}
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn"):
            warnings.simplefilter("always", RuntimeWarning)
            try:
                real_args = item.adapt(*args) if item.adapt else args
                outcome["output"] = to_plain(_invoke(item, fn, real_args))
            except Exception as exc:  # the learner's bug becomes a message, never a crash of the checker
                outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["warnings"] = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        outcome["modified_input"] = not _same_value(args, case.args)
        outcomes.append(outcome)
    return outcomes


# ----------------------------------------------------------------------------------------------------------------
# Trusted side: compare with the reference, name the likely mistake
# ----------------------------------------------------------------------------------------------------------------

def _mismatch(output, expected, rtol, atol, where="output"):
    """None if output matches expected (structure, shape, values); else a message naming the first difference."""
    if isinstance(expected, dict):
        if not isinstance(output, dict):
            return f"{where} should be a dict with keys {sorted(expected)}, got a {type(output).__name__}"
        if output.keys() != expected.keys():
            return f"{where} has keys {sorted(output)}; expected {sorted(expected)}"
        for key in expected:
            problem = _mismatch(output[key], expected[key], rtol, atol, where=f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(expected, tuple):
        if not isinstance(output, tuple):
            return f"{where} should be a tuple of {len(expected)} values, got a single {type(output).__name__}"
        if len(output) != len(expected):
            return f"{where} should be a tuple of {len(expected)} values, got {len(output)}"
        for index, (out, exp) in enumerate(zip(output, expected)):
            problem = _mismatch(out, exp, rtol, atol, where=f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(output, (tuple, dict)):
        return f"{where} should be a single value, got a tuple of {len(output)}"
    out, exp = np.asarray(output), np.asarray(expected)
    if out.shape != exp.shape:
        return f"{where} has shape {out.shape}; expected {exp.shape}"
    if exp.dtype.kind == "f" and out.dtype.kind not in "f":
        return f"{where} has dtype {out.dtype}; expected floating point numbers"
    if not np.all(np.isfinite(out)) and np.all(np.isfinite(exp)):
        return f"{where} contains nan or inf (overflow? e.g. np.exp of a large number)"
    if not np.allclose(out, exp, rtol=rtol, atol=atol):
        err = np.abs(out.astype(np.float64) - exp.astype(np.float64))
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        return (f"{where} has wrong values: max abs error {err.max():.3g} at index {tuple(map(int, worst))} "
                f"(got {float(out[worst]):.6g}, expected {float(exp[worst]):.6g})")
    return None


def _diagnose(item, case, output):
    """The first listed mistake whose output equals the learner's, or None."""
    for diagnosis, wrong in item.mistakes:
        try:
            wrong_output = wrong(*_copy_args(case.args))
        except Exception:
            continue
        if _mismatch(output, wrong_output, case.rtol, case.atol) is None:
            return diagnosis
    return None


def judge_case(item, case, outcome):
    """None if the outcome is right, else a message for this case."""
    prefix = f"[{case.label}] "
    if outcome["error"]:
        return prefix + f"{item.target} raised {outcome['error']}"
    if outcome["modified_input"]:
        return prefix + f"{item.target} modified its input in place; work on new arrays (e.g. x = x + 1, not x += 1)"
    if outcome.get("warnings") and item.no_warnings:
        return prefix + (f"{item.target} triggered a NumPy warning: {outcome['warnings'][0]!r}. "
                         "The value may look right, but the computation overflowed on the way")
    output = outcome["output"]
    if item.validate is not None:
        problem = item.validate(case, output)
        return prefix + problem if problem else None
    expected = item.reference(*_copy_args(case.args))
    problem = _mismatch(output, expected, case.rtol, case.atol)
    if problem is None:
        return None
    diagnosis = _diagnose(item, case, output)
    if diagnosis:
        return prefix + f"{problem}.\nMost likely: {diagnosis}"
    return prefix + problem


def judge(item, cases, outcomes):
    """Judge the outcomes of :func:`call_learner` (run in the trusted process by the grader)."""
    if len(outcomes) != len(cases):
        return Verdict(item.name, False, len(cases), 0,
                       f"expected {len(cases)} outcomes for {item.target}, got {len(outcomes)}")
    problems = [judge_case(item, case, outcome) for case, outcome in zip(cases, outcomes)]
    failed = [p for p in problems if p]
    if failed:
        # Show the first failure that names a likely mistake: e.g. transposed weights raise a shape error on a
        # non-square case but are recognised on the square one.
        shown = next((p for p in failed if "\nMost likely: " in p), failed[0])
        more = f"\n(and {len(failed) - 1} more failing case(s))" if len(failed) > 1 else ""
        message = f"{item.target}: {len(cases) - len(failed)}/{len(cases)} cases pass.\n{shown}{more}"
    else:
        message = f"{item.target}: all {len(cases)} cases pass."
    return Verdict(item.name, not failed, len(cases), len(cases) - len(failed), message)


# ----------------------------------------------------------------------------------------------------------------
# Forbidden names (e.g. calling torch or the reference instead of writing the NumPy code)
# ----------------------------------------------------------------------------------------------------------------

def names_used(fn):
    """Every global/attribute name the function's code (and the functions nested in it) refers to."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return set()
    names, stack = set(), [code]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return names


def forbidden_used(item, fn):
    """The forbidden names that ``fn`` refers to, directly or through a global alias of a forbidden module."""
    if not item.forbidden or not item.call:
        return []
    namespace = dict(getattr(fn, "__globals__", {}))
    code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None) or ()
    if code is not None:  # variables captured from an enclosing function count too
        for name, cell in zip(code.co_freevars, closure):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # a closure cell that is not filled yet
                pass
    used = []
    for name in sorted(names_used(fn) | set(code.co_freevars if code else ())):
        value = namespace.get(name)
        origin = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        origin = origin if isinstance(origin, str) else ""
        # a forbidden module itself, anything defined in it, or a parent package that leads to it
        if name in item.forbidden or any(origin == f or origin.startswith(f + ".")
                                         or (inspect.ismodule(value) and f.startswith(origin + "."))
                                         for f in item.forbidden):
            used.append(name)
    return used


# ----------------------------------------------------------------------------------------------------------------
# The two entry points
# ----------------------------------------------------------------------------------------------------------------

def cases_for(item, seed, hidden):
    return item.make_cases(np.random.default_rng(seed), hidden)


def check(item, fn, *, hidden=False, seed=PUBLIC_SEED, quiet=False):
    """Check a learner's function in the notebook; raise AssertionError with a diagnosis when it is wrong."""
    used = forbidden_used(item, fn)
    if used:
        raise AssertionError(f"{item.target} uses {', '.join(used)}; this exercise must be written without "
                             f"{', '.join(item.forbidden)}.")
    cases = cases_for(item, seed, hidden)
    verdict = judge(item, cases, call_learner(item, fn, cases))
    if not verdict.passed:
        raise AssertionError(verdict.message)
    if not quiet:
        print(("hidden " if hidden else "") + "check passed: " + verdict.message)
    return verdict


def run_item(item, namespace, *, seed, hidden=True):
    """Grader side, inside the sandboxed kernel: outcomes as plain data, nothing else.

    Returns {"missing": True} when the learner never defined the target.
    """
    if item.target not in namespace:
        return {"missing": True, "outcomes": []}
    fn = namespace[item.target]
    return {"missing": False, "forbidden": forbidden_used(item, fn),
            "outcomes": call_learner(item, fn, cases_for(item, seed, hidden))}


# ----------------------------------------------------------------------------------------------------------------
# Plain data across a process boundary: npz with allow_pickle=False, so nothing executable crosses it
# ----------------------------------------------------------------------------------------------------------------

def pack(tree):
    """Flatten plain data (dicts with str keys, lists/tuples, arrays, numbers, str, None) to npz bytes."""
    arrays = {}

    def walk(value):
        if isinstance(value, dict):
            return {"d": {str(k): walk(v) for k, v in value.items()}}
        if isinstance(value, (tuple, list)):
            return {"t": [walk(v) for v in value]}
        if value is None or isinstance(value, (str, bool)):
            return {"v": value}
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"a": key, "s": np.ndim(value) == 0 and not isinstance(value, np.ndarray)}

    layout = walk(tree)
    buffer = io.BytesIO()
    np.savez(buffer, __layout__=np.frombuffer(json.dumps(layout).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


def unpack(data):
    """Inverse of :func:`pack`; refuses pickled objects."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    layout = json.loads(arrays.pop("__layout__").tobytes().decode())

    def build(node):
        if "d" in node:
            return {k: build(v) for k, v in node["d"].items()}
        if "t" in node:
            return tuple(build(v) for v in node["t"])
        if "v" in node:
            return node["v"]
        array = arrays[node["a"]]
        return array.item() if node["s"] else array

    return build(layout)

