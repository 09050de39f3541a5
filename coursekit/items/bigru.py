"""Graded items of notebook 05-bigru: a bidirectional GRU (双向GRU) in NumPy, and reading h_n of a stacked one.

- ``bigru_forward(xs, params_fwd, params_bwd)`` -> (outputs (T, B, 2H), h_n (2, B, H)), like
  nn.GRU(bidirectional=True) with h0 = 0;
- ``top_layer_final_states(h_n, num_layers)`` -> (forward, backward) final states of the top layer, each (B, H).
"""

import numpy as np

from coursekit import gru
from coursekit.checking import Case, Item
from coursekit.i18n import N_
from coursekit.items.cases import F32, gru_params, probe_label, probe_params

ASSIGNMENT = "05-bigru"
NOT_ALLOWED = ("torch", "coursekit")  # the notebook gives a one-direction gru_forward; the wiring is the exercise


# ----------------------------------------------------------------------------------------------------------------
# bigru_forward
# ----------------------------------------------------------------------------------------------------------------

def bigru_forward_reference(xs, params_fwd, params_bwd):
    """outputs[t] = [forward state after xs[:t+1] | backward state after xs[t:] read in reverse]; h_n = the two
    final states [forward after xs[-1], backward after xs[0]]."""
    return gru.bidirectional_forward(xs, params_fwd, params_bwd)


def _zeros_h0(xs, params):
    return np.zeros((np.shape(xs)[1], params["W_hr"].shape[0]), dtype=np.result_type(xs, params["W_hr"]))


def _directions(xs, params_fwd, params_bwd, *, reverse_input=True):
    """Forward states (T, B, H) and the backward GRU's states in the order it computed them (reversed time)."""
    hs_fwd, _ = gru.forward(xs, _zeros_h0(xs, params_fwd), params_fwd)
    backward_input = xs[::-1] if reverse_input else xs
    hs_bwd_computed, _ = gru.forward(backward_input, _zeros_h0(xs, params_bwd), params_bwd)
    return hs_fwd, hs_bwd_computed


def _not_realigned(xs, pf, pb):
    hs_fwd, hs_bwd = _directions(xs, pf, pb)
    return np.concatenate([hs_fwd, hs_bwd], axis=2), np.stack([hs_fwd[-1], hs_bwd[-1]])


def _h_n_from_last_output(xs, pf, pb):
    outputs, _ = bigru_forward_reference(xs, pf, pb)
    H = outputs.shape[2] // 2
    return outputs, np.stack([outputs[-1, :, :H], outputs[-1, :, H:]])


def _swapped_order(h_n_too):
    def wrong(xs, pf, pb):
        outputs, h_n = bigru_forward_reference(xs, pf, pb)
        H = outputs.shape[2] // 2
        outputs = np.concatenate([outputs[..., H:], outputs[..., :H]], axis=2)
        return outputs, (h_n[::-1] if h_n_too else h_n)
    return wrong


def _unreversed_input(realign):
    """The backward GRU read xs from left to right (then, maybe, its states were flipped)."""
    def wrong(xs, pf, pb):
        hs_fwd, hs_bwd = _directions(xs, pf, pb, reverse_input=False)
        shown = hs_bwd[::-1] if realign else hs_bwd
        return np.concatenate([hs_fwd, shown], axis=2), np.stack([hs_fwd[-1], hs_bwd[-1]])
    return wrong


def _same_params(xs, pf, pb):
    return bigru_forward_reference(xs, pf, pf)


def _frozen(params):
    """A direction whose update gate is forced to 1: from h0 = 0 its states stay exactly 0."""
    return probe_params(params, 1, None, ())


def _bigru_cases(rng, hidden):
    shapes = [("T=6, B=3, I=5, H=4", 6, 3, 5, 4), (N_("T=4, I=H=3 (square weights)"), 4, 2, 3, 3),
              ("T=1", 1, 2, 3, 4), (N_("B=1, odd T=5"), 5, 1, 3, 2), ("H=1", 5, 2, 3, 1)]
    if hidden:
        shapes += [("T=40", 40, 2, 3, 4), ("T=7, B=4, I=2, H=3", 7, 4, 2, 3)]
    cases = [Case(label, (rng.standard_normal((T, B, I)), gru_params(rng, I, H), gru_params(rng, I, H)))
             for label, T, B, I, H in shapes]
    T, B, I, H = 5, 2, 3, 4
    cases.append(Case(N_("float32 inputs"), (rng.standard_normal((T, B, I)).astype(np.float32),
                                             gru_params(rng, I, H, np.float32), gru_params(rng, I, H, np.float32)),
                      **F32))
    cases.append(Case(N_("saturated gates (|x| ~ 100)"), (100 * rng.standard_normal((T, B, I)),
                                                          gru_params(rng, I, H, scale=3.0),
                                                          gru_params(rng, I, H, scale=3.0))))
    T, B, I, H = 4, 2, 3, 3
    xs = rng.standard_normal((T, B, I))
    cases += [
        Case(probe_label(N_("backward direction frozen (its z = 1: its states stay 0)")),
             (xs, gru_params(rng, I, H), _frozen(gru_params(rng, I, H))),
             blame=N_("the forward direction: outputs[..., :H] are the states of a GRU over xs from h0 = 0 with "
                      "params_fwd, and h_n[0] is its state after xs[-1]")),
        Case(probe_label(N_("forward direction frozen (its z = 1: its states stay 0)")),
             (xs, _frozen(gru_params(rng, I, H)), gru_params(rng, I, H)),
             blame=N_("the backward direction: a GRU with params_bwd reads xs[::-1]; flip its states back so "
                      "that outputs[t, :, H:] belongs to step t, and h_n[1] is its state after it reads xs[0]")),
        Case(probe_label("T=1"), (xs[:1], gru_params(rng, I, H), gru_params(rng, I, H)),
             blame=N_("one step: both directions read xs[0] from a zero state, outputs[0] = [forward | backward] "
                      "and h_n = [forward, backward]")),
    ]
    return cases


BIGRU_FORWARD = Item(
    name="test_bigru_forward", target="bigru_forward", points=4, make_cases=_bigru_cases,
    reference=bigru_forward_reference, forbidden=NOT_ALLOWED,
    entry_hints=(("only output[1]", N_("the order of directions in h_n: h_n[0] is the forward direction's final "
                                       "state (after xs[-1]), h_n[1] the backward one's (after it reads xs[0], "
                                       "outputs[0, :, H:])")),),
    mistakes=(
        (N_("the backward states were not re-reversed before concatenation: the backward GRU computes them from "
            "t = T-1 down to 0, so flip them back (hs[::-1]) to align outputs[t] with time step t"),
         _not_realigned),
        (N_("h_n[1] was taken from outputs[-1, :, H:]; the backward direction's final state is where it finished "
            "reading, at t = 0: outputs[0, :, H:]"),
         _h_n_from_last_output),
        (N_("the directions are concatenated in the wrong order: forward first, outputs[..., :H], then backward"),
         _swapped_order(h_n_too=True)),
        (N_("the directions are concatenated in the wrong order: forward first, outputs[..., :H], then backward"),
         _swapped_order(h_n_too=False)),
        (N_("the backward GRU ran on the un-reversed sequence: give it xs[::-1]"),
         _unreversed_input(realign=False)),
        (N_("the backward GRU ran on the un-reversed sequence: give it xs[::-1] (flipping its outputs is not "
            "enough)"),
         _unreversed_input(realign=True)),
        (N_("both directions used params_fwd; the backward GRU has its own weights, params_bwd"), _same_params),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# top_layer_final_states
# ----------------------------------------------------------------------------------------------------------------

def top_layer_final_states_reference(h_n, num_layers):
    """h_n (num_layers * 2, B, H), ordered layer 0 [fwd, bwd], layer 1 [fwd, bwd], ... -> (h_n[-2], h_n[-1]).

    The same as h_n.view(num_layers, 2, B, H)[-1] split into its two directions.
    """
    h_n = np.asarray(h_n)
    split = h_n.reshape(num_layers, 2, *h_n.shape[1:])
    return split[-1, 0], split[-1, 1]


def _top_layer_cases(rng, hidden):
    shapes = [("num_layers=2, B=3, H=4", 2, 3, 4), ("num_layers=3, B=2, H=5", 3, 2, 5), ("B=1", 2, 1, 4),
              ("H=1", 3, 2, 1)]
    if hidden:
        shapes += [("num_layers=4", 4, 3, 2), ("num_layers=2, B=5, H=3", 2, 5, 3)]
    cases = [Case(label, (rng.standard_normal((2 * L, B, H)), L)) for label, L, B, H in shapes]
    return cases + [Case(probe_label("num_layers=1"), (rng.standard_normal((2, 2, 3)), 1),
                         blame=N_("with one layer, h_n is (2, B, H) = [forward, backward]: the answer is "
                                  "(h_n[0], h_n[1]); in general h_n.view(num_layers, 2, B, H)[-1]")),
                    Case(probe_label("num_layers=3"), (rng.standard_normal((6, 2, 3)), 3),
                         blame=N_("the top layer is the last one: h_n.view(num_layers, 2, B, H)[-1], i.e. rows "
                                  "2 * num_layers - 2 (forward) and 2 * num_layers - 1 (backward)"))]


TOP_LAYER_FINAL_STATES = Item(
    name="test_top_layer_final_states", target="top_layer_final_states", points=2, make_cases=_top_layer_cases,
    reference=top_layer_final_states_reference, invoker="tensors",  # h_n as a tensor, as nn.GRU returns it
    mistakes=(
        (N_("h_n was split as (2, num_layers, B, H); nn.GRU orders it layer by layer, each with [forward, backward]: "
            "h_n.view(num_layers, 2, B, H)"),
         lambda h_n, L: (h_n[L - 1], h_n[2 * L - 1])),
        (N_("these are the first layer's states; the top layer is the last: h_n.view(num_layers, 2, B, H)[-1]"),
         lambda h_n, L: (h_n[0], h_n[1])),
        (N_("forward and backward are swapped: within a layer, h_n holds [forward, backward]"),
         lambda h_n, L: (h_n[-1], h_n[-2])),
    ),
)

ITEMS = (BIGRU_FORWARD, TOP_LAYER_FINAL_STATES)
