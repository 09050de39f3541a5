"""Graded items of notebook 03-gru-backprop: the backward pass of one GRU step and of a whole sequence (BPTT).

The forward functions are given in the notebook (locked cells) and return caches with a documented layout:

- ``gru_cell_forward(x, h_prev, params) -> (h_next, cache)`` with
  ``cache = (x, h_prev, params, r, z, n, gh_n)``: x (B, I), h_prev (B, H), params the dict of weights,
  r, z, n, gh_n (B, H) where gh_n = h_prev W_hn^T + b_hn is the candidate's hidden part *before* the reset gate
  multiplies it (reset="after", PyTorch's formula);
- ``gru_forward(xs, h0, params) -> (hs, cache)`` with ``cache = [cache of step 0, ..., cache of step T-1]``.

The grader never runs the learner's forward: :func:`cell_cache` and :func:`sequence_cache` build the same caches
from plain data with :mod:`coursekit.gru` on the trusted side (the items' ``prepare``), and the learner's
backward gets them as plain arrays.
(tests/test_items_gru_backprop.py checks that the notebook's given forward cells and these builders agree.)
"""

import numpy as np

from coursekit import gru
from coursekit.checking import Case, Item
from coursekit.i18n import N_, Text
from coursekit.items.cases import PROBE_T1, cell_cases, gru_params, probe_label, probe_params, sequence_cases

ASSIGNMENT = "03-gru-backprop"
NOT_ALLOWED = ("torch", "coursekit")  # the point of the exercise is to derive and write the gradients yourself


# ----------------------------------------------------------------------------------------------------------------
# The caches of the notebook's given forward functions, built from plain data
# ----------------------------------------------------------------------------------------------------------------

def cell_cache(x, h_prev, params):
    """(h_next, cache) exactly as the notebook's ``gru_cell_forward``: cache = (x, h_prev, params, r, z, n, gh_n)."""
    h_next, (x, (h_prev, r, z, n, _, gh_n), _, _) = gru.cell_forward(x, h_prev, params, reset="after")
    return h_next, (x, h_prev, params, r, z, n, gh_n)


def sequence_cache(xs, h0, params):
    """(hs, cache) exactly as the notebook's ``gru_forward``: cache = [cell cache of step t for t = 0..T-1]."""
    hs, (xs, step_caches, _, _) = gru.forward(xs, h0, params, reset="after")
    caches = [(xs[t], h_prev, params, r, z, n, gh_n)
              for t, (h_prev, r, z, n, _, gh_n) in enumerate(step_caches)]
    return hs, caches


def _prepare_cell(dh_next, x, h_prev, params):
    return dh_next, cell_cache(x, h_prev, params)[1]


def _prepare_sequence(dhs, xs, h0, params):
    return dhs, sequence_cache(xs, h0, params)[1]


# ----------------------------------------------------------------------------------------------------------------
# Cases: the forward cases of notebook 02 plus a random upstream gradient
# ----------------------------------------------------------------------------------------------------------------

def _with_upstream(rng, cases, shape_of):
    """Prepend an upstream gradient ~ N(0, 1) (same dtype as the hidden state) to each case's args."""
    out = []
    for case in cases:
        first, h, _ = case.args
        upstream = rng.standard_normal(shape_of(first, h)).astype(h.dtype)
        out.append(Case(case.label, (upstream,) + case.args, rtol=case.rtol, atol=case.atol))
    return out


# Probes: forward states chosen so that one path of the backward pass carries gradient (z = 1 closes every path
# but the direct one, r = 1 leaves the reset gate's derivative at 0...), in an order that adds one path at a time.
CELL_PROBES = (  # what the probe isolates (its label: cases.probe_label), z forced, r forced, blame
    (N_("z forced to 1 (only the direct path)"), 1, None,
     N_("the direct path: h' = (1 - z) * n + z * h_prev depends on h_prev directly, so dh_prev starts from "
        "dh_next * z (and with z = 1 nothing flows into the gates)")),
    (N_("z = 0, r = 1 (the candidate's path)"), 0, 1,
     N_("the candidate's path: dn = dh_next * (1 - z), da_n = dn * (1 - n**2), then dx += da_n @ W_in, "
        "dh_prev += (da_n * r) @ W_hn, dW_in = da_n.T @ x, db_in = da_n.sum(0), dW_hn = (da_n * r).T @ h_prev, "
        "db_hn = (da_n * r).sum(0)")),
    (N_("z = 0 (the reset gate's path)"), 0, None,
     N_("the reset gate's path: dr = da_n * gh_n with the cached gh_n = h_prev @ W_hn.T + b_hn, "
        "da_r = dr * r * (1 - r); and W_hn, b_hn sit inside r * (...): their gradients use da_n * r")),
    (N_("every path"), None, None,
     N_("the update gate's path: dz = dh_next * (h_prev - n), da_z = dz * z * (1 - z)")),
)

# Where a wrong gradient shows up, what it usually means (used when no listed mistake explains the output).
ENTRY_HINTS = (
    ("output[2]['W_iz']", N_("dW_iz = da_z.T @ x with da_z = dh_next * (h_prev - n) * z * (1 - z): the update "
                             "gate's path")),
    ("output[2]['W_hz']", N_("dW_hz = da_z.T @ h_prev with da_z = dh_next * (h_prev - n) * z * (1 - z): the "
                             "update gate's path")),
    ("output[2]['b_iz']", N_("db_iz = da_z.sum(axis=0), da_z = dh_next * (h_prev - n) * z * (1 - z): the update "
                             "gate's path")),
    ("output[2]['W_ir']", N_("dW_ir = da_r.T @ x with da_r = da_n * gh_n * r * (1 - r): the reset gate's path")),
    ("output[2]['W_hr']", N_("dW_hr = da_r.T @ h_prev with da_r = da_n * gh_n * r * (1 - r): the reset gate's "
                             "path")),
    ("output[2]['b_ir']", N_("db_ir = da_r.sum(axis=0), da_r = da_n * gh_n * r * (1 - r): the reset gate's path")),
    ("output[2]['W_in']", N_("dW_in = da_n.T @ x with da_n = dh_next * (1 - z) * (1 - n**2): the candidate's "
                             "path")),
    ("output[2]['b_in']", N_("db_in = da_n.sum(axis=0), da_n = dh_next * (1 - z) * (1 - n**2): the candidate's "
                             "path")),
    ("output[2]['b_hn']", N_("db_hn is (da_n * r).sum(axis=0): b_hn sits inside r * (W_hn h_prev + b_hn), unlike "
                             "b_in")),
    ("output[2]['W_hn']", N_("dW_hn is (da_n * r).T @ h_prev: W_hn h_prev is multiplied by r")),
    ("output[2]['b_hr']", N_("db_hr = db_ir = da_r.sum(axis=0): both biases enter r's pre-activation the same "
                             "way")),
    ("output[2]['b_hz']", N_("db_hz = db_iz = da_z.sum(axis=0): both biases enter z's pre-activation the same "
                             "way")),
)


def _cell_probe_cases(rng, B=2, H=3):
    cases = []
    for probe, z, r, blame in CELL_PROBES:
        x, h = rng.standard_normal((B, H)), rng.standard_normal((B, H))
        params = probe_params(gru_params(rng, H, H), z, r, ())
        cases.append(Case(probe_label(probe), (rng.standard_normal((B, H)), x, h, params), blame=blame))
    return cases


def _sequence_probe_cases(rng, B=2, H=3):
    cases = [Case(probe_label(probe, PROBE_T1), (c.args[0][None], c.args[1][None], c.args[2], c.args[3]),
                  blame=c.blame) for c, (probe, *_) in zip(_cell_probe_cases(rng, B, H), CELL_PROBES)]
    T = 3
    independent = probe_params(gru_params(rng, H, H), 0, 1, ("W_hn", "b_hn"))  # no gradient reaches h_prev
    cases.append(Case(N_("probe: T=3, steps independent (z = 0, r = 1, W_hn = 0)"),
                      (rng.standard_normal((T, B, H)), rng.standard_normal((T, B, H)), rng.standard_normal((B, H)),
                       independent),
                      blame=N_("the time order of the BPTT loop: dxs[t] belongs to xs[t], and the weight gradients "
                               "add up the contributions of every step t")))
    dhs = rng.standard_normal((T, B, H))
    dhs[:-1] = 0.0
    cases.append(Case(N_("probe: T=3, upstream gradient at the last step only"),
                      (dhs, rng.standard_normal((T, B, H)), rng.standard_normal((B, H)), gru_params(rng, H, H)),
                      blame=N_("the time order of the BPTT loop: run t from T-1 down to 0, and start each step from "
                               "dhs[t] + the dh_prev that step t+1 returned")))
    cases.append(Case(N_("probe: T=4, every path"),
                      (rng.standard_normal((4, B, H)), rng.standard_normal((4, B, H)), rng.standard_normal((B, H)),
                       gru_params(rng, H, H)),
                      blame=N_("the BPTT loop: at every step dh = dhs[t] + dh_prev from step t+1, and every step's "
                               "weight gradients are added")))
    return cases


def cell_backward_cases(rng, hidden):
    """Cases (dh_next (B, H), x (B, I), h_prev (B, H), params), then the probes."""
    return _with_upstream(rng, cell_cases(rng, hidden), lambda x, h: h.shape) + _cell_probe_cases(rng)


def sequence_backward_cases(rng, hidden):
    """Cases (dhs (T, B, H), xs (T, B, I), h0 (B, H), params), then the probes."""
    return (_with_upstream(rng, sequence_cases(rng, hidden), lambda xs, h: (xs.shape[0],) + h.shape)
            + _sequence_probe_cases(rng))


# ----------------------------------------------------------------------------------------------------------------
# References: coursekit.gru's backward pass
# ----------------------------------------------------------------------------------------------------------------

def cell_backward_reference(dh_next, x, h_prev, params):
    """(dx, dh_prev, grads) of one step."""
    _, cache = gru.cell_forward(x, h_prev, params, reset="after")
    return gru.cell_backward(dh_next, cache)


def sequence_backward_reference(dhs, xs, h0, params):
    """(dxs, dh0, grads) of a whole sequence."""
    _, cache = gru.forward(xs, h0, params, reset="after")
    return gru.backward(dhs, cache)


# ----------------------------------------------------------------------------------------------------------------
# Wrong answers, written the way a learner would write the backward pass, one mistake switched on at a time.
# With every switch off they equal the references (tested), so each mistake differs from a right answer in
# exactly one place.
# ----------------------------------------------------------------------------------------------------------------

def _explicit_cell_backward(dh_next, cache, mistake=None):
    x, h_prev, p, r, z, n, gh_n = cache
    # h' = (1 - z) n + z h_prev
    dh_prev = np.zeros_like(dh_next) if mistake == "no direct path" else dh_next * z
    dn = dh_next * (z if mistake == "z for dn" else 1 - z)
    dz = dh_next * ((n - h_prev) if mistake == "dz sign" else (h_prev - n))
    # n = tanh(a_n), a_n = x W_in^T + b_in + r * gh_n
    da_n = dn if mistake == "no tanh'" else dn * (1 - n * n)
    dr = da_n * ((gh_n - p["b_hn"]) if mistake == "gh_n without b_hn" else gh_n)
    dgh_n = da_n if mistake == "gh_n without r" else da_n * r
    # r = sigmoid(a_r), z = sigmoid(a_z)
    da_r = dr if mistake == "no sigmoid'" else dr * r * (1 - r)
    da_z = dz if mistake == "no sigmoid'" else dz * z * (1 - z)
    dx = da_r @ p["W_ir"] + da_z @ p["W_iz"] + da_n @ p["W_in"]
    dh_prev = dh_prev + da_r @ p["W_hr"] + da_z @ p["W_hz"] + dgh_n @ p["W_hn"]
    grads = {
        "W_ir": da_r.T @ x, "W_iz": da_z.T @ x, "W_in": da_n.T @ x,
        "W_hr": da_r.T @ h_prev, "W_hz": da_z.T @ h_prev, "W_hn": dgh_n.T @ h_prev,
        "b_ir": da_r.sum(axis=0), "b_iz": da_z.sum(axis=0), "b_in": da_n.sum(axis=0),
        "b_hr": da_r.sum(axis=0), "b_hz": da_z.sum(axis=0), "b_hn": dgh_n.sum(axis=0),
    }
    return dx, dh_prev, grads


def _explicit_sequence_backward(dhs, caches, cell_mistake=None, mistake=None):
    T = len(caches)
    dxs = [None] * T
    grads = {key: np.zeros_like(value) for key, value in caches[0][2].items()}
    dh = np.zeros_like(dhs[0])
    for t in reversed(range(T)):
        if mistake == "upstream only at the end":
            dh = dh + dhs[t] if t == T - 1 else dh
        elif mistake == "no recurrent gradient":
            dh = dhs[t]
        else:
            dh = dh + dhs[t]
        dxs[t], dh, step_grads = _explicit_cell_backward(dh, caches[t], cell_mistake)
        for key in grads:
            if mistake == "grads of step 0 only":  # overwritten at every step, the loop ends with t = 0
                grads[key] = step_grads[key]
            elif mistake == "grads of step T-1 only":
                grads[key] = step_grads[key] if t == T - 1 else grads[key]
            else:
                grads[key] = grads[key] + step_grads[key]
    if mistake == "dxs reversed":
        dxs = dxs[::-1]
    return np.stack(dxs), dh, grads


def _wrong_cell(mistake):
    return lambda dh_next, x, h_prev, params: _explicit_cell_backward(
        dh_next, cell_cache(x, h_prev, params)[1], mistake)


def _wrong_sequence(mistake=None, cell_mistake=None):
    return lambda dhs, xs, h0, params: _explicit_sequence_backward(
        dhs, sequence_cache(xs, h0, params)[1], cell_mistake, mistake)


CELL_MISTAKES = (
    ("no direct path",
     N_("the direct path is missing: h' = (1 - z) * n + z * h_prev depends on h_prev directly, so dh_prev starts "
        "from dh_next * z before the gate paths are added")),
    ("z for dn",
     N_("dn uses z instead of 1 - z: n enters h' as (1 - z) * n, so dn = dh_next * (1 - z)")),
    ("no tanh'",
     N_("the derivative of tanh is missing: n = tanh(a_n), so da_n = dn * (1 - n**2)")),
    ("gh_n without b_hn",
     N_("the reset gate's gradient uses W_hn h_prev without b_hn: r multiplies gh_n = h_prev W_hn^T + b_hn "
        "(bias included), so dr = da_n * gh_n with the cached gh_n")),
    ("gh_n without r",
     N_("W_hn and b_hn sit inside r * (h_prev W_hn^T + b_hn): their gradient (and the path through W_hn to "
        "dh_prev) is da_n * r, not da_n")),
    ("dz sign",
     N_("dz has the wrong sign: dh'/dz = h_prev - n, not n - h_prev")),
    ("no sigmoid'",
     N_("the derivative of the sigmoid is missing: r = sigmoid(a_r), so da_r = dr * r * (1 - r) (same for z)")),
)

SEQUENCE_MISTAKES = (
    ("grads of step 0 only",
     N_("the weight gradients are not summed over time: grads holds only the contribution of step t = 0 (the last "
        "one the reverse loop visits); the same weights are used at every step, so add them up: "
        "grads[k] += step_grads[k]")),
    ("grads of step T-1 only",
     N_("the weight gradients are not summed over time: grads holds only the contribution of the last step T-1; "
        "the same weights are used at every step, so add every step's gradients: grads[k] += step_grads[k]")),
    ("upstream only at the end",
     N_("the upstream gradient dhs[t] is added only at the last step; the loss reads every hidden state, so at "
        "every step dh = dhs[t] + (the gradient dh_prev that came back from step t+1)")),
    ("no recurrent gradient",
     N_("the gradient from the future is dropped: each step starts from dhs[t] alone; carry dh_prev of step t+1 "
        "back and add it: dh = dhs[t] + dh_prev")),
    ("dxs reversed",
     N_("dxs is in reverse time order: the loop runs t = T-1, ..., 0, so store the step's dx at dxs[t] "
        "(or reverse the list at the end)")),
)

GRU_CELL_BACKWARD = Item(
    name="test_gru_cell_backward", target="gru_cell_backward", points=6, make_cases=cell_backward_cases,
    reference=cell_backward_reference, prepare=_prepare_cell, forbidden=NOT_ALLOWED,
    entry_hints=ENTRY_HINTS + (
        ("only output[1]", N_("dh_prev collects four paths: dh_next * z + da_r @ W_hr + da_z @ W_hz + (da_n * r) @ "
                              "W_hn")),
        ("only output[0]", N_("dx collects three paths: da_r @ W_ir + da_z @ W_iz + da_n @ W_in"))),
    mistakes=tuple((diagnosis, _wrong_cell(key)) for key, diagnosis in CELL_MISTAKES),
)

GRU_BACKWARD = Item(
    name="test_gru_backward", target="gru_backward", points=4, make_cases=sequence_backward_cases,
    reference=sequence_backward_reference, prepare=_prepare_sequence, forbidden=NOT_ALLOWED,
    entry_hints=ENTRY_HINTS + (
        ("only output[0]", N_("dxs: dxs[t] is the dx that step t's backward returns, stored at index t")),
        ("only output[1]", N_("dh0: the gradient on h0 is the dh_prev that the backward of step 0 returns, after "
                              "the loop (not an upstream gradient)")),
        ("only output[2]", N_("grads: every step's weight gradients are added up, grads[k] += step_grads[k]"))),
    mistakes=tuple((diagnosis, _wrong_sequence(mistake=key)) for key, diagnosis in SEQUENCE_MISTAKES) + tuple(
        (Text("gru_cell_backward still has a mistake ({diagnosis}); make test_gru_cell_backward pass first",
              diagnosis=Text(diagnosis)),
         _wrong_sequence(cell_mistake=key)) for key, diagnosis in CELL_MISTAKES),
)


# ----------------------------------------------------------------------------------------------------------------
# candidate_backward(dn, cache): the learner's own derivation of the candidate and reset-gate terms (section 3),
# checked before it goes into gru_cell_backward
# ----------------------------------------------------------------------------------------------------------------

CANDIDATE_KEYS = ("da_n", "dr", "dgh_n", "da_r")


def _explicit_candidate_backward(dn, cache, mistake=None):
    """{da_n, dr, dgh_n, da_r} from the gradient dn on the candidate n, one mistake switched on at a time."""
    _, _, p, r, z, n, gh_n = cache
    if mistake == "no tanh'":
        da_n = dn
    elif mistake == "1 - z again":
        da_n = dn * (1 - z) * (1 - n * n)
    else:
        da_n = dn * (1 - n * n)
    g = gh_n - p["b_hn"] if mistake == "gh_n without b_hn" else gh_n
    dr, dgh_n = (da_n * r, da_n * g) if mistake == "product rule swapped" else (da_n * g, da_n * r)
    if mistake == "dgh_n without r":
        dgh_n = da_n
    if mistake == "no sigmoid'":
        da_r = dr
    elif mistake == "z's derivative":
        da_r = dr * z * (1 - z)
    else:
        da_r = dr * r * (1 - r)
    return {"da_n": da_n, "dr": dr, "dgh_n": dgh_n, "da_r": da_r}


def candidate_backward_reference(dn, x, h_prev, params):
    """The gradients at the candidate's pre-activation a_n, the reset gate r, the candidate's hidden part g_n and
    the reset gate's pre-activation a_r, for an upstream gradient dn on n (tests/test_items_derivations.py checks
    them against coursekit.gru's backward pass)."""
    return _explicit_candidate_backward(dn, cell_cache(x, h_prev, params)[1])


def _wrong_candidate(mistake):
    return lambda dn, x, h_prev, params: _explicit_candidate_backward(dn, cell_cache(x, h_prev, params)[1], mistake)


CANDIDATE_MISTAKES = (
    ("no tanh'", N_("da_n is missing the derivative of tanh: n = tanh(a_n), so da_n = dn * (1 - n**2), with n "
                    "from the cache")),
    ("1 - z again", N_("da_n has the factor (1 - z) twice: dn already is dh' * (1 - z) (step 1), so da_n = dn * "
                       "(1 - n**2)")),
    ("gh_n without b_hn", N_("dr uses h_prev W_hn^T without b_hn: r multiplies g_n = h_prev W_hn^T + b_hn, bias "
                             "included, which the cache holds as gh_n; dr = da_n * gh_n")),
    ("product rule swapped", N_("dr and dgh_n are swapped: for a_n = ... + r * g_n, the derivative with respect to "
                                "r is g_n and with respect to g_n is r, so dr = da_n * gh_n and dgh_n = da_n * r")),
    ("dgh_n without r", N_("dgh_n is missing the factor r: g_n enters a_n as r * g_n, so dgh_n = da_n * r")),
    ("no sigmoid'", N_("da_r is missing the derivative of the sigmoid: r = sigmoid(a_r), so da_r = dr * r * "
                       "(1 - r)")),
    ("z's derivative", N_("da_r uses the update gate's derivative z * (1 - z); the reset gate's is r * (1 - r)")),
)

CANDIDATE_BACKWARD = Item(
    name="test_candidate_backward", target="candidate_backward", points=2, make_cases=cell_backward_cases,
    reference=candidate_backward_reference, prepare=_prepare_cell, forbidden=NOT_ALLOWED,
    mistakes=tuple((diagnosis, _wrong_candidate(key)) for key, diagnosis in CANDIDATE_MISTAKES),
)

ITEMS = (GRU_CELL_BACKWARD, GRU_BACKWARD, CANDIDATE_BACKWARD)
