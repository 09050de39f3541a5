"""Graded items of notebook 07-parallel-gru: the parallel scan (并行扫描) and minGRU.

- ``linear_recurrence_scan(a, b, h0)``: all h_t of h_t = a_t * h_{t-1} + b_t, by a scan;
- ``mingru_forward(xs, h0, params)``: minGRU in NumPy, through that scan.

Both must equal the sequential loop *and* must not be one. The second part is checked structurally, not by timing:
the item's invoker runs the learner's function under :func:`coursekit.harness.count_python_lines` and its
``requirement`` fails it (a SequentialLoopError message) when it executed more lines of Python than a scan
needs (:func:`line_budget`). A loop
over T = 4096 time steps runs at least 4096 lines; a Hillis-Steele or Blelloch scan runs a few dozen per doubling of
the stride. The count does not see inside C code, so NumPy's own sequential routines (np.cumprod, np.cumsum) are not
caught by it; the closed forms built from them divide by products of a_t, which underflow to 0, and the hidden cases
(long sequences with small a_t, exact resets a_t = 0) make them fail on correctness instead.
"""

import math

import numpy as np

from coursekit import mingru
from coursekit.checking import Case, Item
from coursekit.i18n import N_, Text
from coursekit.items.cases import F32
from coursekit.scan import linear_recurrence_loop

ASSIGNMENT = "07-parallel-gru"
# NumPy only; coursekit's sigmoid (coursekit.activations) may be used, its scan and minGRU may not. Turning the
# line counter off would defeat the structural check.
FORBIDDEN = ("torch", "scipy", "coursekit.scan", "coursekit.mingru", "settrace", "setprofile", "accumulate")


def line_budget(T):
    """Most lines of Python a scan over T steps may run: 60 per doubling of the stride plus 200 for the rest.

    Generous for any scan written in Python (the course's runs about 4 per pass) and far below the T lines
    (at least) of a loop over time once T is large: 920 for T = 4096.
    """
    return 60 * math.ceil(math.log2(max(T, 2))) + 200


def within_line_budget(case, outcome):
    """The item's ``requirement``: the lines of Python the call ran (measured by the harness's ``count_lines``
    invoker) stay within :func:`line_budget`; a message naming the loop over time otherwise."""
    lines = outcome.get("measures", {}).get("python_lines")
    if lines is None:
        return None
    T = np.shape(case.args[0])[0]
    if lines > line_budget(T):
        return Text("SequentialLoopError: it ran {lines} lines of Python for T = {T} time steps, more than a scan "
                    "needs (at most {budget} are allowed here): that is a loop over time. Combine whole arrays in "
                    "ceil(log2 T) passes (stride 1, 2, 4, ...) instead of stepping through t",
                    lines=lines, T=T, budget=line_budget(T))
    return None


# ----------------------------------------------------------------------------------------------------------------
# linear_recurrence_scan(a, b, h0)
# ----------------------------------------------------------------------------------------------------------------

def _scan_variant(a, b, h0, *, passes=None, update_a_first=False, reverse_combine=False):
    """Hillis-Steele scans with one deliberate mistake each (NumPy); the default arguments give the right answer.

    passes: stop after this many passes (the right number is ceil(log2 T)).
    update_a_first: update A before B, so that B's update uses the new A (the products of the wrong steps).
    reverse_combine: combine (earlier, later) in the wrong order: B_t = A_{t-k} B_t + B_{t-k}.
    """
    a, b, h0 = np.asarray(a), np.asarray(b), np.asarray(h0)
    T = a.shape[0]
    A = np.array(a, dtype=np.result_type(a, b, h0))
    B = np.array(b, dtype=A.dtype)
    B[0] = a[0] * h0 + b[0]
    k, done = 1, 0
    while k < T and (passes is None or done < passes):
        A_old = A.copy()
        if update_a_first:
            A[k:] = A_old[k:] * A_old[:-k]
        factor = A_old[:-k] if reverse_combine else A[k:]
        B[k:] = (factor * B[k:] + B[:-k]) if reverse_combine else (factor * B[:-k] + B[k:])
        if not update_a_first:
            A[k:] = A_old[k:] * A_old[:-k]
        k, done = 2 * k, done + 1
    return B


def _scan_cases(rng, hidden):
    def case(label, T, shape=(), a_low=0.0, a_high=1.0, dtype=np.float64, **tolerance):
        a = rng.uniform(a_low, a_high, size=(T, *shape))
        b = rng.standard_normal((T, *shape))
        h0 = rng.standard_normal(shape)
        return Case(label, (a.astype(dtype), b.astype(dtype), h0.astype(dtype)), **tolerance)

    # every kind of case in public and hidden alike (T=1, 2, odd T, a <= 0, resets, underflow, float32); the
    # hidden cases add longer sequences and fresh numbers
    cases = [case("T=13, (B, H) = (3, 4)", 13, (3, 4)),
             case(N_("T=16, scalar states (T,)"), 16),
             case(N_("T=4096, (B, H) = (2, 3): the lines of Python are counted"), 4096, (2, 3)),
             case(N_("T=256, (B, H) = (2, 3): the sequential depth of the work is measured"), 256, (2, 3)),
             case("T=1", 1, (2, 3)), case("T=2", 2, (4,)), case("T=3, H=1", 3, (1, 1)),
             case(N_("T=3000, a in (0, 0.1): products of a underflow to 0"), 3000, (2,), 0.0, 0.1),
             case(N_("a in (-1, 1)"), 37, (3, 2), -1.0, 1.0),
             case("float32", 50, (2, 3), dtype=np.float32, **F32)]
    if hidden:
        cases += [case(N_("T=100, a in (0.9, 1): long memory"), 100, (2, 5), 0.9, 1.0),
                  case("T=8192, (B, H) = (1, 1)", 8192, (1, 1))]
    T = 64
    a = rng.uniform(0.5, 1.0, (T, 3))
    a[rng.random((T, 3)) < 0.2] = 0.0  # exact resets: h_t = b_t forgets everything before t
    cases.append(Case(N_("a_t = 0 at some steps (resets)"),
                      (a, rng.standard_normal((T, 3)), rng.standard_normal(3))))
    T, shape = 11, (2,)
    b, h0 = rng.standard_normal((T, *shape)), rng.standard_normal(shape)
    cases += [
        Case(N_("probe: a = 0 (every step forgets)"), (np.zeros((T, *shape)), b, h0),
             blame=N_("with a_t = 0, h_t = b_t: B starts as b, and the combine adds B_t, "
                      "B_t = A_t * B_{t-k} + B_t")),
        Case(N_("probe: T=1, a = 1, b = 0 (no pass runs)"), (np.ones((1, *shape)), np.zeros((1, *shape)), h0),
             blame=N_("h0: with a = 1 and b = 0 the state stays h0; fold it into step 0, B_0 = a_0 * h0 + b_0")),
        Case(N_("probe: a = 1 (a running sum)"), (np.ones((T, *shape)), b, h0),
             blame=N_("the passes: with a = 1, h_t = h0 + b_0 + ... + b_t; strides k = 1, 2, 4, ... while k < T, "
                      "each pass adding B_{t-k} into B_t for t >= k")),
        Case(N_("probe: b = 0 (products of a only)"),
             (rng.uniform(0.5, 1.5, (T, *shape)), np.zeros((T, *shape)), h0),
             blame=N_("the A part of the combine: with b = 0, h_t = a_t ... a_0 h0; A_t = A_t * A_{t-k}, computed "
                      "after B's update of the same pass used the old A")),
    ]
    return cases


def within_depth(case, outcome):
    """Part of the scan's requirement: the sequential depth measured on Traced numbers (harness ``scan``
    invoker) is that of a scan, O(log T), not T. Unmeasured (-1) when the function turned the numbers into
    floats; the line count and the forbidden ``accumulate`` still apply then."""
    depth = outcome.get("measures", {}).get("sequential_depth", -1)
    T = np.shape(case.args[0])[0]
    if depth > depth_budget(T):
        return (Text("the work has a chain of {depth} dependent operations for T = {T} (a scan needs at most "
                     "{budget}): the steps are combined one after another", depth=depth, T=T, budget=depth_budget(T)),
                N_("a loop over time, even one run in C (itertools.accumulate, functools.reduce, np.frompyfunc): "
                   "combine whole arrays in ceil(log2 T) passes, stride 1, 2, 4, ..."))
    return None


def depth_budget(T):
    """Most dependent operations a scan over T steps may chain: 6 per pass plus 10 (Hillis-Steele chains 2 per
    pass, Blelloch about 4); a sequential evaluation chains at least T."""
    return 6 * math.ceil(math.log2(max(T, 2))) + 10


def scan_requirement(case, outcome):
    return within_line_budget(case, outcome) or within_depth(case, outcome)


LINEAR_RECURRENCE_SCAN = Item(
    name="test_linear_recurrence_scan", target="linear_recurrence_scan", points=4, make_cases=_scan_cases,
    reference=linear_recurrence_loop, invoker="scan", requirement=scan_requirement, forbidden=FORBIDDEN,
    mistakes=(
        (N_("h0 is ignored: the recurrence starts from h_{-1} = h0, so h_0 = a_0 * h0 + b_0"),
         lambda a, b, h0: linear_recurrence_loop(a, b, np.zeros_like(h0))),
        (N_("hs[t] must be the state after step t (h_t), not before it: the first row is a_0 * h0 + b_0, not h0"),
         lambda a, b, h0: np.concatenate([np.asarray(h0)[None], linear_recurrence_loop(a, b, h0)[:-1]])),
        (N_("a and b are swapped: a_t multiplies h_{t-1} and b_t is added"),
         lambda a, b, h0: linear_recurrence_loop(b, a, h0)),
        (N_("the scan stops a pass too early: it needs ceil(log2 T) passes (stride k = 1, 2, 4, ... while k < T)"),
         lambda a, b, h0: _scan_variant(a, b, h0, passes=max(math.ceil(math.log2(max(len(a), 1))) - 1, 0))),
        (N_("A was updated before B: the new B_t = A_t * B_{t-k} + B_t must use the A_t of the previous pass"),
         lambda a, b, h0: _scan_variant(a, b, h0, update_a_first=True)),
        (N_("the two pairs are combined in the wrong order: the earlier step (t - k) acts first, so "
            "B_t = A_t * B_{t-k} + B_t, not A_{t-k} * B_t + B_{t-k}"),
         lambda a, b, h0: _scan_variant(a, b, h0, reverse_combine=True)),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# mingru_forward(xs, h0, params)
# ----------------------------------------------------------------------------------------------------------------

def mingru_reference(xs, h0, params):
    """hs (T, B, H) of minGRU: z = sigmoid(x W_z^T + b_z), h~ = x W_h^T + b_h, h_t = (1 - z) h_{t-1} + z h~."""
    return mingru.forward(xs, h0, params, sequential=True)


def _mingru_wrong(*, transform=None, candidate=None, swap_z=False, zero_h0=False, shift=False):
    def wrong(xs, h0, params):
        p = transform(params) if transform else params
        a, b = mingru.coefficients(xs, p)
        z = 1.0 - a
        h_tilde = np.asarray(xs) @ p["W_h"].T + p["b_h"]
        if candidate is not None:
            b = z * candidate(h_tilde)
        if swap_z:
            a, b = z, (1.0 - z) * h_tilde
        start = np.zeros_like(h0) if zero_h0 else h0
        hs = linear_recurrence_loop(a, b, start)
        return np.concatenate([np.asarray(h0)[None], hs[:-1]]) if shift else hs
    return wrong


def _mingru_cases(rng, hidden):
    def case(label, T, B, I, H, *, x_scale=1.0, dtype=np.float64, **tolerance):
        params = {k: v.astype(dtype) for k, v in mingru.init_params(I, H, rng=rng).items()}
        xs = (x_scale * rng.standard_normal((T, B, I))).astype(dtype)
        return Case(label, (xs, rng.standard_normal((B, H)).astype(dtype), params), **tolerance)

    cases = [case("T=9, B=3, I=4, H=5", 9, 3, 4, 5), case(N_("I=H=3 (square weights)"), 6, 2, 3, 3),
             case(N_("T=2048, B=2, I=3, H=4: the lines of Python are counted"), 2048, 2, 3, 4),
             case("T=1", 1, 2, 3, 4), case(N_("B=1, odd T=7"), 7, 1, 2, 3), case("H=1", 8, 3, 2, 1),
             case(N_("large |x| (gates saturate at 0 and 1)"), 20, 2, 3, 4, x_scale=60.0),
             case("float32", 12, 2, 3, 4, dtype=np.float32, **F32)]
    if hidden:
        cases += [case("T=50, B=4, I=2, H=3", 50, 4, 2, 3)]
    T, B, I, H = 6, 2, 3, 3
    xs, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))

    def gate(z):  # the gate forced open (z = 1) or shut (z = 0): W_z = 0, b_z = +-60
        p = mingru.init_params(I, H, rng=rng)
        return {**p, "W_z": np.zeros_like(p["W_z"]), "b_z": np.full_like(p["b_z"], 60.0 if z else -60.0)}
    cases += [
        Case(N_("probe: z forced to 0 (the state stays h0)"), (xs, h0, gate(0)),
             blame=N_("a_t = 1 - z_t multiplies h_{t-1}: with z = 0 every state is h0")),
        Case(N_("probe: z forced to 1 (the state is the candidate)"), (xs, h0, gate(1)),
             blame=N_("the candidate h~_t = x_t W_h^T + b_h (no tanh): with z = 1, h_t = h~_t")),
        Case(N_("probe: every part"), (xs, h0, mingru.init_params(I, H, rng=rng)),
             blame=N_("the gate z_t = sigmoid(x_t W_z^T + b_z), and b_t = z_t * h~_t")),
    ]
    return cases


MINGRU_FORWARD = Item(
    name="test_mingru_forward", target="mingru_forward", points=3, make_cases=_mingru_cases,
    reference=mingru_reference, invoker="count_lines", requirement=within_line_budget, forbidden=FORBIDDEN,
    mistakes=(
        (N_("z and 1 - z are swapped: minGRU (the paper's convention) is h_t = (1 - z_t) * h_{t-1} + z_t * h~_t, "
            "so a_t = 1 - z_t and b_t = z_t * h~_t (the opposite of nn.GRU's convention)"),
         _mingru_wrong(swap_z=True)),
        (N_("minGRU's candidate has no tanh: h~_t = W_h x_t + b_h (keeping it linear is part of the design)"),
         _mingru_wrong(candidate=np.tanh)),
        (N_("h0 is ignored: the recurrence starts from the given h0"), _mingru_wrong(zero_h0=True)),
        (N_("hs[t] must be the state after reading xs[t], not before it"), _mingru_wrong(shift=True)),
        (N_("the weights are transposed: with W of shape (H, I) the product is x @ W.T"),
         _mingru_wrong(transform=lambda p: {**p, "W_z": p["W_z"].T, "W_h": p["W_h"].T})),
        (N_("the biases b_z and b_h are missing"),
         _mingru_wrong(transform=lambda p: {**p, "b_z": 0 * p["b_z"], "b_h": 0 * p["b_h"]})),
    ),
)

ITEMS = (LINEAR_RECURRENCE_SCAN, MINGRU_FORWARD)
