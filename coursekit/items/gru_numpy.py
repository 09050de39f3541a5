"""Graded items of notebook 02-gru-numpy: one GRU step, a whole sequence, and Cho et al.'s reset placement."""

import numpy as np

from coursekit import gru
from coursekit.checking import Item
from coursekit.i18n import N_
from coursekit.items.cases import cell_cases, cell_probes, sequence_cases, sequence_probes

ASSIGNMENT = "02-gru-numpy"
NOT_ALLOWED = ("torch", "coursekit.gru", "coursekit.items")  # the point is to write the NumPy code yourself


def _replace(params, **changes):
    return {**params, **changes}


def _without(params, *keys):
    return _replace(params, **{key: np.zeros_like(params[key]) for key in keys})


def _transposed(params):
    return {key: value.T if key.startswith("W") else value for key, value in params.items()}


def _gates_swapped(params):
    """r and z exchanged: the rows of weight_ih_l0 are r|z|n, not z|r|n."""
    swap = {"W_ir": "W_iz", "W_iz": "W_ir", "W_hr": "W_hz", "W_hz": "W_hr", "b_ir": "b_iz", "b_iz": "b_ir",
            "b_hr": "b_hz", "b_hz": "b_hr"}
    return {swap.get(key, key): value for key, value in params.items()}


def _reset_open(params):
    """r forced to 1 (sigmoid(50) is 1.0 in floating point): a candidate that forgot the reset gate."""
    changes = _without(params, "W_ir", "W_hr", "b_hr")
    changes["b_ir"] = np.full_like(params["b_ir"], 50.0)
    return changes


def _cell(reset, transform=lambda p: p):
    """A cell (x, h_prev, params) -> h_next that applies ``transform`` to the params first."""
    return lambda x, h, params: gru.cell_forward(x, h, transform(params), reset=reset)[0]


def _candidate_only(reset):
    return lambda x, h, params: gru.cell_forward(x, h, params, reset=reset)[1][1][3]


# the two placements of the reset gate, one full sentence each (reset="after" is PyTorch's, "before" Cho et al.'s)
WRONG_PLACEMENT = {
    "after": N_("the reset gate is applied before the matrix product; here it must be r * (W_hn h + b_hn): the "
                "reset gate multiplies the result of the matrix product"),
    "before": N_("the reset gate is applied after the matrix product; here it must be W_hn (r * h) + b_hn: the "
                 "reset gate multiplies h before the matrix product"),
}
RESET_MISSING = {
    "after": N_("the reset gate is missing from the candidate; it should be "
                "n = tanh(W_in x + b_in + r * (W_hn h + b_hn))"),
    "before": N_("the reset gate is missing from the candidate; it should be "
                 "n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)"),
}


def _cell_mistakes(reset):
    """The usual wrong GRU cells, each with the message that names the mistake."""
    other = "before" if reset == "after" else "after"
    return (
        (N_("z and 1 - z are swapped: this course (and PyTorch) uses h' = (1 - z) * n + z * h_prev"),
         _cell(reset, gru.flip_update_gate)),
        (WRONG_PLACEMENT[reset], _cell(other)),
        (N_("the gates r and z are swapped: the stacked order is r | z | n"), _cell(reset, _gates_swapped)),
        (RESET_MISSING[reset], _cell(reset, _reset_open)),
        (N_("b_hn is missing from the candidate n"), _cell(reset, lambda p: _without(p, "b_hn"))),
        (N_("the hidden-side biases b_hr, b_hz, b_hn are missing"),
         _cell(reset, lambda p: _without(p, "b_hr", "b_hz", "b_hn"))),
        (N_("the biases are missing"), _cell(reset, lambda p: _without(p, *gru.BIAS_KEYS))),
        (N_("the weights are transposed: with W of shape (H, I) the product is x @ W.T"),
         _cell(reset, _transposed)),
        (N_("the candidate n was returned; the last step h' = (1 - z) * n + z * h_prev is missing"),
         _candidate_only(reset)),
    )


def _cell_cases(reset):
    return lambda rng, hidden: cell_cases(rng, hidden) + cell_probes(rng, reset)


def _sequence_cases(rng, hidden):
    return sequence_cases(rng, hidden) + sequence_probes(rng, "after")


def _cell_reference(reset):
    return lambda x, h, params: gru.cell_forward(x, h, params, reset=reset)[0]


GRU_CELL_FORWARD = Item(
    name="test_gru_cell_forward", target="gru_cell_forward", points=4, make_cases=_cell_cases("after"),
    reference=_cell_reference("after"), mistakes=_cell_mistakes("after"), forbidden=NOT_ALLOWED,
)

GRU_CELL_FORWARD_CHO = Item(
    name="test_gru_cell_forward_cho", target="gru_cell_forward_cho", points=2, make_cases=_cell_cases("before"),
    reference=_cell_reference("before"), mistakes=_cell_mistakes("before"), forbidden=NOT_ALLOWED,
)


def _sequence(transform=lambda p: p, zero_h0=False, shift=False, reset="after", last=-1):
    def run(xs, h0, params):
        hs, _ = gru.forward(xs, np.zeros_like(h0) if zero_h0 else h0, transform(params), reset=reset)
        if shift:  # stored the state *before* each step
            hs = np.concatenate([h0[None], hs[:-1]])
        return hs, hs[last]
    return run


GRU_FORWARD = Item(
    name="test_gru_forward", target="gru_forward", points=4, make_cases=_sequence_cases,
    reference=_sequence(), forbidden=NOT_ALLOWED,
    entry_hints=(("only output[0]", N_("hs: hs[t] is the state after reading xs[t], for t = 0 .. T-1 in order "
                                       "(h_last is right)")),
                 ("only output[1]", N_("h_last is the state after reading the last input xs[T-1], i.e. hs[-1] (hs "
                                       "is right here): check h_last and the time order of the loop, t = 0 .. T-1"))),
    mistakes=(
        (N_("h0 is ignored: the recurrence must start from the given h0, not from zeros"), _sequence(zero_h0=True)),
        (N_("hs[t] holds the state before step t; it should hold the state after reading xs[t]"),
         _sequence(shift=True)),
        (N_("z and 1 - z are swapped: h' = (1 - z) * n + z * h_prev"), _sequence(gru.flip_update_gate)),
        (N_("h_last is hs[0], the state after the first step; the final state is hs[-1]"), _sequence(last=0)),
        (N_("the gates r and z are swapped: the stacked order is r | z | n"), _sequence(_gates_swapped)),
        (N_("the reset gate is applied before the matrix product (Cho et al.); gru_forward uses PyTorch's "
            "r * (W_hn h + b_hn)"), _sequence(reset="before")),
        (N_("b_hn is missing from the candidate n"), _sequence(lambda p: _without(p, "b_hn"))),
        (N_("the biases are missing"), _sequence(lambda p: _without(p, *gru.BIAS_KEYS))),
        (N_("the weights are transposed: with W of shape (H, I) the product is x @ W.T"), _sequence(_transposed)),
    ),
)

ITEMS = (GRU_CELL_FORWARD, GRU_FORWARD, GRU_CELL_FORWARD_CHO)
