"""Graded items of notebook 01-gru-concept: sigmoid, the update step, the memory half-life."""

import numpy as np

from coursekit.activations import sigmoid
from coursekit.checking import Case, Item
from coursekit.i18n import N_
from coursekit.items.cases import F32, probe_label

ASSIGNMENT = "01-gru-concept"
NOT_ALLOWED = ("torch", "coursekit")  # learners write these few lines of NumPy themselves


def _sigmoid_cases(rng, hidden):
    """Public and hidden alike: scalars, 2-D arrays, float32 and float64 extremes; the hidden draw more values."""
    cases = [Case("x ~ N(0, 4)", (2 * rng.standard_normal(40 if hidden else 20),)),
             Case(N_("large |x| = 800 (must not overflow)"), (np.array([-800.0, -50.0, 0.0, 50.0, 800.0]),)),
             Case(N_("scalar"), (np.float64(rng.uniform(-3, 3)),)),
             Case(N_("2-D array"), (3 * rng.standard_normal((4, 5) if hidden else (2, 3)),)),
             Case(N_("float32, |x| up to 1e4"), (np.array([-1e4, -100, -1, 0, 1, 100, 1e4], np.float32),),
                  rtol=1e-6, atol=1e-7),
             Case(N_("float64 extremes"), (np.array([-1e300, -745.0, 745.0, 1e300]),))]
    return cases + [
        Case(probe_label("x = 0"), (np.zeros(3),), blame=N_("sigmoid(0) = 1 / (1 + e^0) = 0.5")),
        Case(probe_label(N_("x > 0 only")), (rng.uniform(0.1, 30, 6),),
             blame=N_("the branch for x >= 0: sigmoid(x) = 1 / (1 + exp(-x))")),
        Case(probe_label(N_("x < 0 only")), (-rng.uniform(0.1, 30, 6),),
             blame=N_("the branch for x < 0: sigmoid(x) = exp(x) / (1 + exp(x)), with exp(x) = exp(-|x|)")),
        Case(probe_label(N_("a plain Python float")), (float(rng.uniform(-3, 3)),), shape_probe=True,
             blame=N_("x may be a plain number: work on np.asarray(x) and return a result of the same shape")),
    ]


SIGMOID = Item(
    name="test_sigmoid", target="sigmoid", points=2, make_cases=_sigmoid_cases, reference=sigmoid,
    no_warnings=True,
    mistakes=((N_("sigmoid is 1 / (1 + exp(-x)); this looks like 1 / (1 + exp(x)), i.e. sigmoid(-x)"),
               lambda x: sigmoid(-np.asarray(x))),
              (N_("1 / (1 + exp(-|x|)) is sigmoid(|x|): for x < 0 use exp(x) / (1 + exp(x)) instead"),
               lambda x: sigmoid(np.abs(x))),
              (N_("this is tanh, not the sigmoid"), np.tanh)),
    # silencing an overflow is not avoiding it: a naive formula under np.errstate(over="ignore") returns the
    # right numbers, so the names that silence warnings are refused (a learner's own helper may be called expit)
    forbidden=NOT_ALLOWED + ("scipy", "errstate", "seterr", "catch_warnings", "filterwarnings", "simplefilter"),
)


def _update_cases(rng, hidden):
    shapes = [(3, 4), (2, 5), (1, 1), (1, 6)] + ([(8, 3), (4, 2)] if hidden else [])
    cases = [Case(f"B={B}, H={H}", (rng.standard_normal((B, H)), rng.uniform(-1, 1, (B, H)),
                                    rng.uniform(0, 1, (B, H)))) for B, H in shapes]
    cases.append(Case(N_("z exactly 0 and 1"), (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
                                                np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]]))))
    cases.append(Case(N_("float32 inputs"), (rng.standard_normal((2, 4)).astype(np.float32),
                                             rng.uniform(-1, 1, (2, 4)).astype(np.float32),
                                             rng.uniform(0, 1, (2, 4)).astype(np.float32)), **F32))
    h, n = rng.standard_normal((2, 3)), rng.uniform(-1, 1, (2, 3))
    return cases + [
        Case(probe_label(N_("z = 1 everywhere")), (h, n, np.ones((2, 3))),
             blame=N_("z = 1 must keep the old state: h' = (1 - z) * n + z * h_prev = h_prev "
                      "(PyTorch's convention)")),
        Case(probe_label(N_("z = 0 everywhere")), (h, n, np.zeros((2, 3))),
             blame=N_("z = 0 must take the candidate: h' = (1 - z) * n + z * h_prev = n")),
        Case(probe_label("z = 0.5"), (h, n, np.full((2, 3), 0.5)),
             blame=N_("in between, the weights (1 - z) and z sum to 1: z = 0.5 gives the mean of n and h_prev")),
        Case(probe_label(N_("a different z for every unit")),
             (h, n, np.array([[0.1, 0.5, 0.9], [0.3, 0.7, 0.2]])),
             blame=N_("each unit has its own z: mix element by element, (1 - z) * n + z * h_prev")),
    ]


def gru_update_reference(h_prev, n, z):
    """h' = (1 - z) * n + z * h_prev (PyTorch's convention: z near 1 keeps the old state)."""
    return (1.0 - z) * n + z * h_prev


GRU_UPDATE = Item(
    name="test_gru_update", target="gru_update", points=2, make_cases=_update_cases,
    reference=gru_update_reference,
    mistakes=((N_("z and 1 - z are swapped (that is the seed's / Chung et al.'s convention, h' = z*n + (1-z)*h; "
                  "this course follows PyTorch: h' = (1 - z) * n + z * h_prev)"),
               lambda h, n, z: z * n + (1.0 - z) * h),
              (N_("the candidate n was returned without mixing in h_prev"), lambda h, n, z: n),
              (N_("h_prev was returned unchanged: the update never happens"), lambda h, n, z: h),
              (N_("the weights do not sum to 1: use (1 - z) and z"), lambda h, n, z: z * n + z * h)),
    forbidden=NOT_ALLOWED,
)


def _half_life_cases(rng, hidden):
    cases = [Case("z = 0.5, 0.9, 0.99", (np.array([0.5, 0.9, 0.99]),)),
             Case(N_("random z in (0.05, 0.999)"), (rng.uniform(0.05, 0.999, 20 if hidden else 10),)),
             Case(N_("scalar z = 0.9"), (0.9,)), Case(N_("z close to 1"), (np.array([0.999, 0.9999]),)),
             Case(N_("2-D array"), (rng.uniform(0.1, 0.99, (3, 4) if hidden else (2, 2)),)),
             Case(N_("float32 z"), (np.array([0.5, 0.9, 0.99], np.float32),), **F32)]
    return cases + [
        Case(probe_label("z = 0.5"), (np.array([0.5]),),
             blame=N_("z = 0.5 halves the memory in one step: the answer is 1 (z**k = 0.5 for k = 1)")),
        Case(probe_label("z = 0.25"), (np.array([0.25]),),
             blame=N_("z = 0.25 halves it in half a step: k = ln 0.5 / ln z = 0.5")),
    ]


def memory_half_life_reference(z):
    """Steps k after which z**k = 0.5, i.e. k = ln 0.5 / ln z."""
    return np.log(0.5) / np.log(z)


MEMORY_HALF_LIFE = Item(
    name="test_memory_half_life", target="memory_half_life", points=2, make_cases=_half_life_cases,
    keep_dtype=False,  # the text asks for no dtype here (ln 0.5 is a float64 constant)
    reference=memory_half_life_reference,
    mistakes=((N_("the ratio is upside down: solve z**k = 0.5 for k, k = ln 0.5 / ln z"),
               lambda z: np.log(z) / np.log(0.5)),
              (N_("1 - z is the forgetting rate in the seed's convention; here the old state is kept by z itself"),
               lambda z: np.log(0.5) / np.log(1.0 - np.asarray(z))),
              (N_("1 / (1 - z) is the mean lifetime (time constant), not the half-life"),
               lambda z: 1.0 / (1.0 - np.asarray(z))),
              (N_("the sign is wrong: ln z < 0 and ln 0.5 < 0, so k is positive"),
               lambda z: -np.log(0.5) / np.log(z))),
    forbidden=NOT_ALLOWED,
)


# ----------------------------------------------------------------------------------------------------------------
# update_bias_for_memory(k, fraction): the two inversions of section 6, z**k = fraction and sigmoid(b) = z
# ----------------------------------------------------------------------------------------------------------------

def _bias_cases(rng, hidden):
    """Every kind of case in public and hidden alike (numbers, integers, 2-D, long memories, float32); the hidden
    cases draw more random ones."""
    cases = [Case(N_("k = 1, 10, 100, 1000; half of the memory"), (np.array([1.0, 10.0, 100.0, 1000.0]), 0.5)),
             Case(N_("random k in [1, 500], random fraction"), (rng.integers(1, 501, 8).astype(np.float64),
                                                                rng.uniform(0.05, 0.95, 8))),
             Case(N_("scalar k = 100, fraction 0.1"), (100.0, 0.1)),
             Case(N_("integer k"), (np.array([2, 50, 300]), 0.9)),
             Case(N_("k up to 1e5"), (np.array([1e4, 1e5]), 0.5)),
             Case(N_("2-D array of k"), (rng.integers(1, 200, (2, 3)).astype(np.float64), 0.25)),
             # float32 keeps ~7 digits of z, so 1 - z loses ~4 of them at k = 1000: compared at float32 tolerance
             Case(N_("float32 k and fraction"),
                  (np.array([1.0, 10.0, 100.0, 1000.0], np.float32), np.float32(0.5)), **F32)]
    if hidden:
        cases.append(Case(N_("random k in [1, 5000], random fraction"),
                          (rng.integers(1, 5001, 20).astype(np.float64), rng.uniform(0.01, 0.99, 20))))
    return cases


def update_bias_for_memory_reference(k, fraction=0.5):
    """The constant update-gate pre-activation b = b_iz + b_hz (zero weights) that keeps ``fraction`` of a memory
    after ``k`` steps: z = fraction**(1/k), b = logit(z) = ln(z / (1 - z)).

    Computed in float64 from ln z = ln(fraction) / k with expm1, so that 1 - z keeps its digits when z is close
    to 1; the result has the inputs' floating-point type (float32 stays float32, integers give float64).
    """
    k, fraction = np.asarray(k), np.asarray(fraction)
    dtype = np.result_type(k.dtype if k.dtype.kind == "f" else np.float64, fraction.dtype)
    log_z = np.log(fraction.astype(np.float64)) / k.astype(np.float64)
    return (log_z - np.log(-np.expm1(log_z))).astype(dtype)[()]


def _logit(z):
    with np.errstate(divide="ignore"):  # a wrong z (e.g. fraction**k) may underflow to 0: -inf is fine here
        return np.log(z / (1.0 - z))


UPDATE_BIAS_FOR_MEMORY = Item(
    name="test_update_bias_for_memory", target="update_bias_for_memory", points=2, make_cases=_bias_cases,
    reference=update_bias_for_memory_reference,
    mistakes=(
        (N_("this is the gate value z = fraction**(1/k); the bias is the sigmoid's inverse of it, "
            "b = ln(z / (1 - z))"), lambda k, f: np.asarray(f, dtype=np.float64) ** (1.0 / np.asarray(k))),
        (N_("the sign is flipped: ln((1 - z) / z) is the bias of the seed's convention, where 1 - z keeps the "
            "memory; here z keeps it, so b = ln(z / (1 - z))"), lambda k, f: -update_bias_for_memory_reference(k, f)),
        (N_("this is ln z = ln(fraction) / k, the log of the gate value; the bias is b = ln(z / (1 - z))"),
         lambda k, f: np.log(f) / np.asarray(k, dtype=np.float64)),
        (N_("z**k = fraction gives z = fraction**(1/k), not fraction**k"),
         lambda k, f: _logit(np.asarray(f, dtype=np.float64) ** np.asarray(k, dtype=np.float64))),
        (N_("fraction is what is kept after k steps, not what is lost: solve z**k = fraction"),
         lambda k, f: update_bias_for_memory_reference(k, 1.0 - np.asarray(f))),
        (N_("this is half the bias: return the whole pre-activation b = b_iz + b_hz (with zero weights "
            "z = sigmoid(b))"),
         lambda k, f: update_bias_for_memory_reference(k, f) / 2),
    ),
    forbidden=NOT_ALLOWED + ("scipy",),  # a helper of the learner may well be called logit
)

ITEMS = (SIGMOID, GRU_UPDATE, MEMORY_HALF_LIFE, UPDATE_BIAS_FOR_MEMORY)
