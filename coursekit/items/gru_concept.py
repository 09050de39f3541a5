"""Graded items of notebook 01-gru-concept: sigmoid, the update step, the memory half-life."""

import numpy as np

from coursekit.activations import sigmoid
from coursekit.checking import Case, Item
from coursekit.items.cases import F32

ASSIGNMENT = "01-gru-concept"
NOT_ALLOWED = ("torch", "coursekit")  # learners write these few lines of NumPy themselves


def _sigmoid_cases(rng, hidden):
    cases = [Case("x ~ N(0, 4)", (2 * rng.standard_normal(20),)),
             Case("large |x| = 800 (must not overflow)", (np.array([-800.0, -50.0, 0.0, 50.0, 800.0]),))]
    if hidden:
        cases += [Case("scalar", (np.float64(0.3),)),
                  Case("2-D array", (3 * rng.standard_normal((4, 5)),)),
                  Case("float32, |x| up to 1e4", (np.array([-1e4, -100, -1, 0, 1, 100, 1e4], np.float32),),
                       rtol=1e-6, atol=1e-7),
                  Case("float64 extremes", (np.array([-1e300, -745.0, 745.0, 1e300]),))]
    return cases


SIGMOID = Item(
    name="test_sigmoid", target="sigmoid", points=2, make_cases=_sigmoid_cases, reference=sigmoid,
    no_warnings=True,
    mistakes=(("sigmoid is 1 / (1 + exp(-x)); this looks like 1 / (1 + exp(x)), i.e. sigmoid(-x)",
               lambda x: sigmoid(-np.asarray(x))),
              ("1 / (1 + exp(-|x|)) is sigmoid(|x|): for x < 0 use exp(x) / (1 + exp(x)) instead",
               lambda x: sigmoid(np.abs(x))),
              ("this is tanh, not the sigmoid", np.tanh)),
    forbidden=NOT_ALLOWED + ("scipy", "expit"),
)


def _update_cases(rng, hidden):
    shapes = [(3, 4), (2, 5)] + ([(1, 1), (1, 6), (8, 3)] if hidden else [])
    cases = [Case(f"B={B}, H={H}", (rng.standard_normal((B, H)), rng.uniform(-1, 1, (B, H)),
                                    rng.uniform(0, 1, (B, H)))) for B, H in shapes]
    if hidden:
        cases.append(Case("z exactly 0 and 1", (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
                                                np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]]))))
        cases.append(Case("float32 inputs", (rng.standard_normal((2, 4)).astype(np.float32),
                                             rng.uniform(-1, 1, (2, 4)).astype(np.float32),
                                             rng.uniform(0, 1, (2, 4)).astype(np.float32)), **F32))
    return cases


def gru_update_reference(h_prev, n, z):
    """h' = (1 - z) * n + z * h_prev (PyTorch's convention: z near 1 keeps the old state)."""
    return (1.0 - z) * n + z * h_prev


GRU_UPDATE = Item(
    name="test_gru_update", target="gru_update", points=2, make_cases=_update_cases,
    reference=gru_update_reference,
    mistakes=(("z and 1 - z are swapped (that is the seed's / Chung et al.'s convention, h' = z*n + (1-z)*h; "
               "this course follows PyTorch: h' = (1 - z) * n + z * h_prev)",
               lambda h, n, z: z * n + (1.0 - z) * h),
              ("the candidate n was returned without mixing in h_prev", lambda h, n, z: n),
              ("h_prev was returned unchanged: the update never happens", lambda h, n, z: h),
              ("the weights do not sum to one: use (1 - z) and z", lambda h, n, z: z * n + z * h)),
    forbidden=NOT_ALLOWED,
)


def _half_life_cases(rng, hidden):
    cases = [Case("z = 0.5, 0.9, 0.99", (np.array([0.5, 0.9, 0.99]),)),
             Case("random z in (0.05, 0.999)", (rng.uniform(0.05, 0.999, 10),))]
    if hidden:
        cases += [Case("scalar z = 0.9", (0.9,)), Case("z close to 1", (np.array([0.999, 0.9999]),)),
                  Case("2-D array", (rng.uniform(0.1, 0.99, (3, 4)),)),
                  Case("float32 z", (np.array([0.5, 0.9, 0.99], np.float32),), **F32)]
    return cases


def memory_half_life_reference(z):
    """Steps k after which z**k = 0.5, i.e. k = ln 0.5 / ln z."""
    return np.log(0.5) / np.log(z)


MEMORY_HALF_LIFE = Item(
    name="test_memory_half_life", target="memory_half_life", points=2, make_cases=_half_life_cases,
    reference=memory_half_life_reference,
    mistakes=(("the ratio is upside down: solve z**k = 0.5 for k, k = ln 0.5 / ln z",
               lambda z: np.log(z) / np.log(0.5)),
              ("1 - z is the forgetting rate in the seed's convention; here the old state is kept by z itself",
               lambda z: np.log(0.5) / np.log(1.0 - np.asarray(z))),
              ("1 / (1 - z) is the mean lifetime (time constant), not the half-life",
               lambda z: 1.0 / (1.0 - np.asarray(z))),
              ("the sign is wrong: ln z < 0 and ln 0.5 < 0, so k is positive",
               lambda z: -np.log(0.5) / np.log(z))),
    forbidden=NOT_ALLOWED,
)

ITEMS = (SIGMOID, GRU_UPDATE, MEMORY_HALF_LIFE)
