"""Random test cases shared by the GRU items: shapes that catch the usual bugs.

- a square case (I == H) so that transposed weights give a value instead of a shape error, and can be named;
- B=1, H=1 and T=1 edge cases, float32 inputs and saturated gates (large |x|), public and hidden alike;
- probes (:func:`cell_probes`, :func:`sequence_probes`) that isolate one part of the step each.
"""

import numpy as np

from coursekit import gru
from coursekit.checking import Case
from coursekit.i18n import N_, Text

F32 = {"rtol": 1e-4, "atol": 1e-5}  # float32 results are compared at float32 precision


def gru_params(rng, input_size, hidden_size, dtype=np.float64, scale=1.0):
    params = gru.init_params(input_size, hidden_size, rng=rng)
    return {key: (scale * value).astype(dtype) for key, value in params.items()}


def cell_cases(rng, hidden):
    """Cases (x (B, I), h_prev (B, H), params) for a GRU cell.

    Public and hidden cases are of the same kinds (B=1, H=1, I=1, float32, saturated gates, square weights); the
    hidden ones add more shapes and draw fresh numbers, so passing the public check predicts the hidden one.
    """
    shapes = [("B=3, I=5, H=4", 3, 5, 4), (N_("I=H=6 (square weights)"), 2, 6, 6), ("B=1", 1, 3, 5), ("H=1", 4, 3, 1),
              ("I=1", 2, 1, 3)]
    if hidden:
        shapes += [("B=7, I=9, H=8", 7, 9, 8), ("B=2, I=4, H=2", 2, 4, 2)]
    cases = [Case(label, (rng.standard_normal((B, I)), rng.standard_normal((B, H)), gru_params(rng, I, H)))
             for label, B, I, H in shapes]
    B, I, H = 3, 4, 5
    cases.append(Case(N_("float32 inputs"), (rng.standard_normal((B, I)).astype(np.float32),
                                             rng.standard_normal((B, H)).astype(np.float32),
                                             gru_params(rng, I, H, np.float32)), **F32))
    cases.append(Case(N_("saturated gates (|x| ~ 100)"), (100 * rng.standard_normal((B, I)),
                                                          rng.uniform(-1, 1, (B, H)),
                                                          gru_params(rng, I, H, scale=3.0))))
    return cases


def sequence_cases(rng, hidden):
    """Cases (xs (T, B, I), h0 (B, H), params) for a GRU over a sequence (public and hidden of the same kinds)."""
    shapes = [("T=6, B=3, I=5, H=4", 6, 3, 5, 4), (N_("T=4, I=H=3 (square weights)"), 4, 2, 3, 3),
              ("T=1", 1, 2, 3, 4), (N_("B=1, odd T=5"), 5, 1, 3, 2), ("H=1", 5, 2, 3, 1)]
    if hidden:
        shapes += [("T=40", 40, 2, 3, 4), ("T=7, B=4, I=2, H=3", 7, 4, 2, 3)]
    cases = [Case(label, (rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), gru_params(rng, I, H)))
             for label, T, B, I, H in shapes]
    T, B, I, H = 5, 2, 3, 4
    cases.append(Case(N_("float32 inputs"), (rng.standard_normal((T, B, I)).astype(np.float32),
                                             rng.standard_normal((B, H)).astype(np.float32),
                                             gru_params(rng, I, H, np.float32)), **F32))
    return cases


# ----------------------------------------------------------------------------------------------------------------
# Probes: cases built so that only one part of a GRU step matters, in an order where each probe adds one part to
# those the probes before it already tested. The first failing probe names the wrong part, also for mistakes
# nobody listed. A gate is forced open or shut by a bias of +-60: sigmoid(60) is 1.0 in float64 and
# sigmoid(-60) ~ 1e-26, far below the tolerance.
# ----------------------------------------------------------------------------------------------------------------

GATE = 60.0


def _force(params, gate, value):
    """Gate ``gate`` ("r" or "z") forced to ``value`` (0 or 1): its weights and hidden bias zeroed, input bias
    +-GATE."""
    p = dict(params)
    for key in (f"W_i{gate}", f"W_h{gate}", f"b_h{gate}"):
        p[key] = np.zeros_like(p[key])
    p[f"b_i{gate}"] = np.full_like(p[f"b_i{gate}"], GATE if value else -GATE)
    return p


def _zero(params, *keys):
    return {**params, **{key: np.zeros_like(params[key]) for key in keys}}


PROBE = N_("probe: {probe}")  # a probe's label: what it isolates, e.g. "probe: z = 0 (r from x and h_prev)"
PROBE_T1 = N_("probe (T=1): {probe}")  # a cell probe run as a sequence of one step


def probe_label(probe, template=PROBE):
    """The label of a probe case: ``template`` around ``probe``, what it isolates (N_-marked where it has words)."""
    return Text(template, probe=Text(probe))


# where the reset gate acts, one full sentence per placement (reset="after" is PyTorch's, "before" Cho et al.'s)
RESET_PLACEMENT_BLAME = {
    "after": N_("where the reset gate acts: r multiplies (W_hn h_prev + b_hn), b_hn included: n = tanh(W_in x + "
                "b_in + r * (W_hn h_prev + b_hn))"),
    "before": N_("where the reset gate acts: r multiplies h_prev before W_hn, and b_hn stays outside: n = tanh(W_in "
                 "x + b_in + W_hn (r * h_prev) + b_hn)"),
}


def cell_probe_specs(reset):
    """(what the probe isolates, z forced, r forced, zero x, zero h_prev, zero keys, blame) of the GRU cell's
    probes, in order; the first entry is the label without "probe: " (see :func:`probe_label`)."""
    return (
        (N_("z forced to 1 (b_iz = +60)"), 1, None, False, False, (),
         N_("the update mix: with z = 1 the step must return h_prev unchanged, h' = (1 - z) * n + z * h_prev "
            "(PyTorch's convention: z near 1 keeps the old state)")),
        ("z = 0, r = 1, h_prev = 0, b_hn = 0", 0, 1, False, True, ("b_hn",),
         N_("the candidate's input term W_in x + b_in (with z = 0 the step returns n = tanh(W_in x + b_in + ...); "
            "check W_in, b_in and the orientation x @ W_in.T)")),
        ("z = 0, r = 1, h_prev = 0", 0, 1, False, True, (),
         N_("b_hn: the candidate adds the hidden-side bias b_hn, n = tanh(W_in x + b_in + ... + b_hn)")),
        ("z = 0, r = 1, x = 0", 0, 1, True, False, (),
         N_("the candidate's recurrent term W_hn h_prev (check W_hn and the orientation h_prev @ W_hn.T)")),
        (N_("z = 0, r forced to 0 (b_ir = -60)"), 0, 0, False, False, (), RESET_PLACEMENT_BLAME[reset]),
        (N_("z = 0, x = 0 (r from h_prev alone)"), 0, None, True, False, (),
         N_("the reset gate's recurrent term: r = sigmoid(W_ir x + b_ir + W_hr h_prev + b_hr); check W_hr, b_hr")),
        (N_("z = 0 (r from x and h_prev)"), 0, None, False, False, (),
         N_("the reset gate's input term: r = sigmoid(W_ir x + b_ir + W_hr h_prev + b_hr); check W_ir, b_ir")),
        (N_("x = 0 (z from h_prev alone)"), None, None, True, False, (),
         N_("the update gate's recurrent term: z = sigmoid(W_iz x + b_iz + W_hz h_prev + b_hz); check W_hz, b_hz")),
        (N_("every part at once"), None, None, False, False, (),
         N_("the update gate's input term: z = sigmoid(W_iz x + b_iz + W_hz h_prev + b_hz); check W_iz, b_iz")),
    )


def probe_params(params, z, r, zero_keys):
    p = _zero(params, *zero_keys)
    if z is not None:
        p = _force(p, "z", z)
    if r is not None:
        p = _force(p, "r", r)
    return p


def cell_probes(rng, reset="after", B=2, H=3, template=PROBE):
    """Probe cases (x, h_prev, params) for a GRU cell: square weights (I = H), so that transposed weights give
    values (and a name) rather than shape errors. ``template`` makes their labels (:func:`probe_label`)."""
    cases = []
    for probe, z, r, zero_x, zero_h, zero_keys, blame in cell_probe_specs(reset):
        x, h = rng.standard_normal((B, H)), rng.standard_normal((B, H))
        params = probe_params(gru_params(rng, H, H), z, r, zero_keys)
        cases.append(Case(probe_label(probe, template), (0 * x if zero_x else x, 0 * h if zero_h else h, params),
                          blame=blame))
    return cases


def sequence_probes(rng, reset="after", B=2, H=3):
    """Probe cases (xs, h0, params) for a GRU over a sequence: the cell's probes as sequences of one step, then
    what only a sequence has (the time order, the state passed on)."""
    cases = [Case(c.label, (c.args[0][None], c.args[1], c.args[2]), blame=c.blame)
             for c in cell_probes(rng, reset, B, H, template=PROBE_T1)]
    xs, h0 = rng.standard_normal((4, B, H)), rng.standard_normal((B, H))
    independent = probe_params(gru_params(rng, H, H), 0, 1, ("W_hn", "b_hn"))
    cases.append(Case(probe_label(N_("T=4, steps independent (z = 0, r = 1, W_hn = 0)")), (xs, h0, independent),
                      blame=N_("the time order: hs[t] is the state after reading xs[t], for t = 0 .. T-1 in order")))
    xs, h0 = rng.standard_normal((3, B, H)), rng.standard_normal((B, H))
    cases.append(Case(probe_label(N_("T=3, every part")), (xs, h0, gru_params(rng, H, H)),
                      blame=N_("the state passed on: step t starts from the state step t-1 returned (h0 for t = 0), "
                               "and h_last is the state after the last step")))
    return cases
