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
from typing import Callable, Optional

import numpy as np

from coursekit import harness
from coursekit.feedback import (CheckFailed, Problem, failure_message, forbidden_message, learner_traceback,
                               most_telling, passed_message)
from coursekit.forbidden import forbidden_reached
from coursekit.harness import Invocation, copy_value, pack, unpack  # noqa: F401  (pack/unpack: public API)
from coursekit.i18n import N_, Text

PUBLIC_SEED = 2024  # the cases learners see in the notebook; the grader draws fresh ones per grading run


@dataclasses.dataclass(frozen=True)
class Case:
    """One call of the learner's function: ``fn(*args)``. ``label`` names it in messages, e.g. "B=1, H=1"."""

    label: str
    args: tuple
    rtol: float = 1e-9  # tight enough that a float32 computation fails a float64 case
    atol: float = 1e-12
    # blame: for a probe case (built to isolate one part: zero input, a gate forced shut...), the part that is
    # most likely wrong when this case fails and the probes before it pass
    blame: str = ""
    shape_probe: bool = False  # the probe isolates a shape property (B = 1, a plain number): blame wrong shapes too


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
      reported with that diagnosis (an N_-marked template or a coursekit.i18n.Text, like every message here)
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
    keep_dtype: bool = True  # float outputs must have the reference's precision (float32 in, float32 out)
    numpy_output: bool = False  # the text asks for NumPy arrays: a returned torch tensor fails
    # across(cases, outcomes) -> (case index, message) or None: a property of several calls together, e.g. the
    # same seed giving the same batch (judged when every case passes on its own)
    across: Optional[Callable] = None
    # entry_hints: (where, hint) pairs: when no listed mistake explains a wrong output and its first wrong entry
    # is ``where`` (e.g. "output[2]['b_hn']"), or ``where`` is "only output[i]" and the i-th of a tuple of outputs
    # is the only wrong one, the hint is the likely cause
    entry_hints: tuple = ()


@dataclasses.dataclass
class Verdict:
    """What :func:`judge` concluded: ``message`` explains the first failure (or says all passed), in the
    language it was judged for."""

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

# The templates of a mismatch that say the numbers are wrong (a probe's blame explains them; a shape does not)
WRONG_VALUES = N_("{where} has wrong values: max abs error {error:.3g} at index {index} (got {got:.6g}, expected "
                  "{expected:.6g})")
NOT_FINITE = N_("{where} contains nan or inf (overflow? e.g. np.exp of a large number)")


def _mismatch(output, expected, rtol, atol, where="output"):
    """None if output matches expected (structure, shape, values); else a Text naming the first difference
    (its value ``where`` names the entry, e.g. "output[2]['b_hn']")."""
    if isinstance(expected, dict):
        if not isinstance(output, dict):
            return Text("{where} should be a dict with keys {keys}, got a {type}", where=where,
                        keys=sorted(expected), type=type(output).__name__)
        if output.keys() != expected.keys():
            return Text("{where} has keys {keys}; expected {expected}", where=where, keys=sorted(output),
                        expected=sorted(expected))
        for key in expected:
            problem = _mismatch(output[key], expected[key], rtol, atol, where=f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(expected, tuple):
        if not isinstance(output, tuple):
            return Text("{where} should be a tuple of {n} values, got a single {type}", where=where,
                        n=len(expected), type=type(output).__name__)
        if len(output) != len(expected):
            return Text("{where} should be a tuple of {n} values, got {got}", where=where, n=len(expected),
                        got=len(output))
        for index, (out, exp) in enumerate(zip(output, expected)):
            problem = _mismatch(out, exp, rtol, atol, where=f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(output, (tuple, dict)):
        return Text("{where} should be a single value, got a tuple of {n}", where=where, n=len(output))
    out, exp = np.asarray(output), np.asarray(expected)
    if out.shape != exp.shape:
        return Text("{where} has shape {shape}; expected {expected}", where=where, shape=out.shape,
                    expected=exp.shape)
    if exp.dtype.kind == "f" and out.dtype.kind not in "f":
        return Text("{where} has dtype {dtype}; expected floating point numbers", where=where, dtype=out.dtype)
    if not np.all(np.isfinite(out)) and np.all(np.isfinite(exp)):
        return Text(NOT_FINITE, where=where)
    if not np.allclose(out, exp, rtol=rtol, atol=atol):
        err = np.abs(out.astype(np.float64) - exp.astype(np.float64))
        worst = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        return Text(WRONG_VALUES, where=where, error=float(err.max()), index=tuple(map(int, worst)),
                    got=float(out[worst]), expected=float(exp[worst]))
    return None


def _dtype_change(output, expected, where="output"):
    """A message if a floating-point array of the output has another precision than the reference's, else None
    (float32 in, float64 out is as wrong as the reverse: the text asks to keep the inputs' dtype)."""
    if isinstance(expected, dict):
        return next(filter(None, (_dtype_change(output[k], expected[k], f"{where}[{k!r}]") for k in expected)), None)
    if isinstance(expected, tuple):
        return next(filter(None, (_dtype_change(o, e, f"{where}[{i}]")
                                  for i, (o, e) in enumerate(zip(output, expected)))), None)
    out, exp = np.asarray(output), np.asarray(expected)
    if exp.dtype.kind == "f" and out.dtype.kind == "f" and out.dtype != exp.dtype:
        return Text("{where} is {dtype} although the inputs are {expected}", where=where, dtype=str(out.dtype),
                    expected=str(exp.dtype))
    return None


DTYPE_CAUSE = N_("an array made without dtype= is float64 (np.zeros(shape), np.array(list), np.ones(...)): create "
                 "it from the inputs, e.g. np.zeros_like(h) or np.zeros(shape, dtype=x.dtype), and do not cast")
INPUT_CAUSE = N_("x += ..., x[...] = ..., out=x and .resize_() write into the caller's array; compute into new "
                 "arrays instead (x = x + ...)")
WARNING_CAUSE = N_("the value may look right, but the computation overflowed on the way: never exponentiate a "
                   "large x")
PRECISION_CAUSE = N_("the numbers are right only to float32 precision (about 7 digits): something is computed in "
                     "float32 (an astype(np.float32), a float32 constant or array) although the inputs are float64")
TENSOR_CAUSE = N_("the text asks for a NumPy array: convert at the end, e.g. tensor.detach().numpy()")


def _listed_mistake(item, cases, outcomes, problems):
    """The first listed mistake that explains every failing value: its output equals the learner's on each case
    that failed on values (cases where the wrong implementation itself raises are skipped), on one at least.

    Matching on one case is not enough: on H = 1 the two placements of the reset gate agree, so a learner whose
    b_hn is misplaced would be told the reset gate is.
    """
    failing = [i for i, p in enumerate(problems) if p is not None and p.kind == "value"]
    for diagnosis, wrong in item.mistakes:
        matched = 0
        for index in failing:
            case = cases[index]
            try:
                wrong_output = wrong(*copy_value(case.args))
            except Exception:
                continue
            if _mismatch(outcomes[index]["output"], wrong_output, case.rtol, case.atol) is not None:
                break
            matched = matched or index + 1
        else:
            if matched:
                return matched - 1, diagnosis
    return None


def _as_problem(label, found, kind, index):
    """A Problem from what a validate/requirement/across function returned: a message or (message, cause)."""
    what, cause = found if isinstance(found, tuple) else (found, None)
    return Problem(label, what, cause, kind, index=index)


def judge_case(item, case, outcome, index=-1):
    """None if the outcome is right, else the :class:`~coursekit.feedback.Problem` on this case."""
    label, error = case.label, outcome.get("error")
    if error:
        kind = "stub" if error.startswith("NotImplementedError") else "error"
        return Problem(label, Text("{target} raised {error}", target=item.target, error=error), None, kind,
                       index=index)
    measures = outcome.get("measures") or {}
    if outcome.get("modified_input") or measures.get("tensor_args_changed"):
        return Problem(label, Text("{target} changed its inputs (values or shapes)", target=item.target),
                       INPUT_CAUSE, "input", index=index)
    if outcome.get("warnings") and item.no_warnings:
        return Problem(label, Text("NumPy warned: {warning!r}", warning=outcome["warnings"][0]), WARNING_CAUSE,
                       "warning", index=index)
    if item.numpy_output and measures.get("tensor_output"):
        return Problem(label, Text("{target} returned a torch tensor", target=item.target), TENSOR_CAUSE,
                       "requirement", index=index)
    if item.requirement is not None:
        found = item.requirement(case, outcome)
        if found:
            return _as_problem(label, found, "requirement", index)
    output = outcome["output"]
    if item.validate is not None:
        found = item.validate(case, output)
        return _as_problem(label, found, "value", index) if found else None
    expected = item.reference(*copy_value(case.args))
    problem = _mismatch(output, expected, case.rtol, case.atol)
    if problem is None:
        change = _dtype_change(output, expected) if item.keep_dtype else None
        return Problem(label, change, DTYPE_CAUSE, "dtype", index=index) if change else None
    where = {problem.values["where"]}
    if isinstance(expected, tuple) and isinstance(output, tuple) and len(output) == len(expected):
        wrong = [i for i, (o, e) in enumerate(zip(output, expected)) if _mismatch(o, e, case.rtol, case.atol)]
        if len(wrong) == 1:
            where.add(f"only output[{wrong[0]}]")
    # a named entry ("output[2]['b_hn']"), or the only wrong one of several, says more than a probe's blame
    hint = next((h for w, h in item.entry_hints if w in where), None)
    if hint is None and _float32_close(output, expected):
        hint = PRECISION_CAUSE
    # a probe's blame explains wrong numbers; a wrong shape or type says nothing about which part is wrong
    blame = case.blame if (problem.template in (WRONG_VALUES, NOT_FINITE) or case.shape_probe) else ""
    return Problem(label, problem, hint or blame or None, "value", index=index)


def _float32_close(output, expected):
    """Whether a float64 answer is wrong only at float32 precision (right to ~1e-6, not to ~1e-9)."""
    if isinstance(output, (tuple, dict)) or isinstance(expected, (tuple, dict)):
        return False
    try:
        out, exp = np.asarray(output, dtype=np.float64), np.asarray(expected)
    except (TypeError, ValueError):
        return False
    if not (exp.dtype == np.float64 and out.shape == exp.shape and np.all(np.isfinite(out))):
        return False
    relative = np.abs(out - exp) / np.maximum(np.abs(exp), 1e-30)
    # float32 rounding touches (nearly) every entry; a clipped or special-cased formula only some
    return bool(np.allclose(out, exp, rtol=2e-6, atol=1e-7) and np.mean(relative > 1e-13) >= 0.5)


def problems_of(item, cases, outcomes):
    """Every case's problem (None where it passes), plus the item's checks across cases (e.g. the seed)."""
    problems = [judge_case(item, case, outcome, index) for index, (case, outcome) in enumerate(zip(cases, outcomes))]
    listed = _listed_mistake(item, cases, outcomes, problems) if item.mistakes else None
    if listed:
        index, diagnosis = listed
        problems[index] = dataclasses.replace(problems[index], cause=diagnosis, listed=True)
    if item.across is not None and not any(problems):
        found = item.across(cases, outcomes)
        if found:
            index, message = found
            problems[index] = _as_problem(cases[index].label, message, "value", index)
    return problems


def judge(item, cases, outcomes, language=None):
    """Judge the outcomes of :func:`call_learner` (run in the trusted process by the grader); the message is in
    ``language`` (the grader passes the submission's; default: this kernel's, coursekit.i18n)."""
    if len(outcomes) != len(cases):
        return Verdict(item.name, False, len(cases), 0,
                       f"expected {len(cases)} outcomes for {item.target}, got {len(outcomes)}")
    failed = [p for p in problems_of(item, cases, outcomes) if p]
    if failed:
        message = failure_message(item.target, item.points, failed, len(cases), language)
    else:
        message = passed_message(item.target, len(cases), language)
    return Verdict(item.name, not failed, len(cases), len(cases) - len(failed), message)


# ----------------------------------------------------------------------------------------------------------------
# Forbidden modules and names (e.g. calling torch or the reference instead of writing the NumPy code)
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


def forbidden_found(item, fn):
    """{what the learner wrote: the forbidden module or name it reaches} (see :mod:`coursekit.forbidden`).

    Entries of ``item.forbidden`` are modules; those without a dot are also refused as bare names (e.g.
    "errstate", "settrace"), wherever they appear in the code.
    """
    if not item.forbidden or not item.call:
        return {}
    names = tuple(f for f in item.forbidden if "." not in f)
    return forbidden_reached(fn, item.forbidden, names)


def forbidden_used(item, fn):
    """The labels of :func:`forbidden_found`, sorted (what the learner wrote that reaches a forbidden thing)."""
    return sorted(forbidden_found(item, fn))


# ----------------------------------------------------------------------------------------------------------------
# The two entry points
# ----------------------------------------------------------------------------------------------------------------

def cases_for(item, seed, hidden):
    return item.make_cases(np.random.default_rng(seed), hidden)


def _learner_trace(item, fn, case):
    """The learner's own traceback on ``case`` (their code raised there): call it once more, directly."""
    invoked = invocation(item, case)
    try:
        harness.call_directly(fn, invoked, item.call)
    except Exception as exc:  # the learner's error, shown with their frames only
        return learner_traceback(exc)
    return ""


def check(item, fn, *, hidden=False, seed=PUBLIC_SEED, quiet=False, language=None):
    """Check a learner's function in the notebook; raise :class:`~coursekit.feedback.CheckFailed` (an
    AssertionError that IPython shows as a few lines) naming the likely mistake when it is wrong. The message is
    in ``language``, by default the notebook's (coursekit.i18n.kernel_language)."""
    __tracebackhide__ = True  # noqa: F841  (pytest and IPython's debugger skip this frame)
    found = forbidden_found(item, fn)
    if found:
        raise CheckFailed(forbidden_message(item.target, found, item.forbidden, language))
    cases = cases_for(item, seed, hidden)
    outcomes = call_learner(item, fn, cases)
    failed = [p for p in problems_of(item, cases, outcomes) if p]
    if failed:
        shown = most_telling(failed)
        trace = _learner_trace(item, fn, cases[shown.index]) if shown.kind == "error" and item.call else ""
        raise CheckFailed(failure_message(item.target, item.points, failed, len(cases), language), trace)
    verdict = Verdict(item.name, True, len(cases), len(cases), passed_message(item.target, len(cases), language))
    if not quiet:
        line = (Text("hidden check passed: {message}", message=verdict.message) if hidden
                else Text("check passed: {message}", message=verdict.message))
        print(line.render(language))
    return verdict


def run_item(item, namespace, *, seed, hidden=True):
    """What the grader's clean room does for one item, in this process: the outcomes of the learner's target in
    ``namespace`` on the cases drawn from ``seed`` (tests and examples; the grader draws the cases itself).

    Returns {"missing": True, ...} when the learner never defined the target.
    """
    return harness.evaluate(namespace, request(item, cases_for(item, seed, hidden)))
