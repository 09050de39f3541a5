"""Random test cases shared by the GRU items: shapes that catch the usual bugs.

- a square case (I == H) so that transposed weights give a value instead of a shape error, and can be named;
- B=1, H=1 and T=1 edge cases, float32 inputs and saturated gates (large |x|) for the hidden tests.
"""

import numpy as np

from coursekit import gru
from coursekit.checking import Case

F32 = {"rtol": 1e-4, "atol": 1e-5}  # float32 results are compared at float32 precision


def gru_params(rng, input_size, hidden_size, dtype=np.float64, scale=1.0):
    params = gru.init_params(input_size, hidden_size, rng=rng)
    return {key: (scale * value).astype(dtype) for key, value in params.items()}


def cell_cases(rng, hidden):
    """Cases (x (B, I), h_prev (B, H), params) for a GRU cell."""
    shapes = [("B=3, I=5, H=4", 3, 5, 4), ("I=H=6 (square weights)", 2, 6, 6)]
    if hidden:
        shapes += [("B=1", 1, 3, 5), ("H=1", 4, 3, 1), ("I=1", 2, 1, 3), ("B=7, I=9, H=8", 7, 9, 8)]
    cases = [Case(label, (rng.standard_normal((B, I)), rng.standard_normal((B, H)), gru_params(rng, I, H)))
             for label, B, I, H in shapes]
    if hidden:
        B, I, H = 3, 4, 5
        cases.append(Case("float32 inputs", (rng.standard_normal((B, I)).astype(np.float32),
                                             rng.standard_normal((B, H)).astype(np.float32),
                                             gru_params(rng, I, H, np.float32)), **F32))
        cases.append(Case("saturated gates (|x| ~ 100)", (100 * rng.standard_normal((B, I)),
                                                          rng.uniform(-1, 1, (B, H)),
                                                          gru_params(rng, I, H, scale=3.0))))
    return cases


def sequence_cases(rng, hidden):
    """Cases (xs (T, B, I), h0 (B, H), params) for a GRU over a sequence."""
    shapes = [("T=6, B=3, I=5, H=4", 6, 3, 5, 4), ("T=4, I=H=3 (square weights)", 4, 2, 3, 3)]
    if hidden:
        shapes += [("T=1", 1, 2, 3, 4), ("B=1", 5, 1, 3, 2), ("H=1", 5, 2, 3, 1), ("T=40", 40, 2, 3, 4)]
    cases = [Case(label, (rng.standard_normal((T, B, I)), rng.standard_normal((B, H)), gru_params(rng, I, H)))
             for label, T, B, I, H in shapes]
    if hidden:
        T, B, I, H = 5, 2, 3, 4
        cases.append(Case("float32 inputs", (rng.standard_normal((T, B, I)).astype(np.float32),
                                             rng.standard_normal((B, H)).astype(np.float32),
                                             gru_params(rng, I, H, np.float32)), **F32))
    return cases
