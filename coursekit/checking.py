"""The machinery behind every graded item (评分项), defined once and used in two places.

A graded item says how to make test cases, what the right answer is, and which wrong answers are common. It is
used by

- the notebook's public and hidden tests (``coursekit.checks``): the learner's function runs on the cases in the
  learner's own kernel and a failure explains itself, one likely mistake at a time;
- the trusted grader (``autograder``): the grader draws the cases in its own process, sends only their inputs
  (plain data, :func:`request`) to a sandboxed *clean room* that holds the learner's code and
  :mod:`coursekit.harness` but no reference code, and judges the plain outputs that come back with :func:`judge`.
  The score never comes from code the learner could have changed.

This module is the trusted side (cases, references, judging); :mod:`coursekit.harness` is the learner's side.
"""

import dataclasses
import inspect
from typing import Callable, Optional

import numpy as np

from coursekit import harness
from coursekit.harness import Invocation, copy_value, pack, unpack  # noqa: F401  (pack/unpack: public API)

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
    - prepare, invoker, requirement: see the fields below
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
    # prepare(*case.args) -> args or harness.Invocation: the plain arguments the learner's target gets, computed on
    # the trusted side (it may use the reference, e.g. to build a forward cache). Default: the case's args.
    prepare: Optional[Callable] = None
    # invoker: the name of a coursekit.harness invoker for targets that are not called with plain arrays (torch
    # tensors, a module built from weights, a learner's class, a call whose Python lines are counted).
    invoker: Optional[str] = None
    # requirement(case, outcome) -> message or None: a property of the call besides its output, judged on the
    # trusted side from what the harness measured (e.g. the lines of Python a scan ran).
    requirement: Optional[Callable] = None


@dataclasses.dataclass
class Verdict:
    """What :func:`judge` concluded: ``message`` explains the first failure (or says all passed)."""

    item: str
    passed: bool
    n_cases: int
    n_passed: int
    message: str


# ----------------------------------------------------------------------------------------------------------------
# Learner side: the invocations of an item's cases, run by coursekit.harness (in the clean room when grading)
# ----------------------------------------------------------------------------------------------------------------

def invocation(item, case):
    """How the learner's target is called on ``case``: ``item.prepare`` (trusted side) or the case's args."""
    if item.prepare is not None:
        prepared = item.prepare(*copy_value(case.args))
        return prepared if isinstance(prepared, Invocation) else Invocation(tuple(prepared), item.invoker)
    return Invocation(tuple(case.args), item.invoker)


def request(item, cases):
    """The plain-data request the clean room evaluates for ``item`` on ``cases`` (see coursekit.harness)."""
    return {"target": item.target, "call": item.call,
            "calls": tuple(invocation(item, case).as_plain() for case in cases)}


def call_learner(item, fn, cases):
    """The outcomes of the learner's ``fn`` on ``cases``, in this process (a notebook's own check)."""
    return harness.call_learner(fn, [invocation(item, case) for case in cases], call=item.call)


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
            wrong_output = wrong(*copy_value(case.args))
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
    if item.requirement is not None:
        problem = item.requirement(case, outcome)
        if problem:
            return prefix + problem
    expected = item.reference(*copy_value(case.args))
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
    """What the grader's clean room does for one item, in this process: the outcomes of the learner's target in
    ``namespace`` on the cases drawn from ``seed`` (tests and examples; the grader draws the cases itself).

    Returns {"missing": True, ...} when the learner never defined the target.
    """
    return harness.evaluate(namespace, request(item, cases_for(item, seed, hidden)))
