"""The checks learners call in the notebooks' test cells (测试单元调用的检查函数).

Each one runs the learner's function on the public cases of one graded item (``coursekit.items``), or on the
hidden cases too with ``hidden=True``, prints one line when everything passes and raises an AssertionError that
names the most likely mistake otherwise. They return nothing, so a test cell shows only that line.

A flat list, one wrapper per graded function, grouped by notebook; :func:`check` reaches any item by its grade id.
"""

from coursekit import checking, items


def check(assignment, grade_id, fn, hidden=False):
    """Check ``fn`` against the item ``grade_id`` (the nbgrader test cell's id) of ``assignment``.

    Example: ``check("02-gru-numpy", "test_gru_cell_forward", gru_cell_forward)``.
    """
    checking.check(items.get(assignment, grade_id), fn, hidden=hidden)


# 01-gru-concept ---------------------------------------------------------------------------------------------------

def check_sigmoid(fn, hidden=False):
    """sigmoid(x): values, and no overflow warning for large |x|."""
    check("01-gru-concept", "test_sigmoid", fn, hidden)


def check_gru_update(fn, hidden=False):
    """gru_update(h_prev, n, z) -> (1 - z) * n + z * h_prev."""
    check("01-gru-concept", "test_gru_update", fn, hidden)


def check_memory_half_life(fn, hidden=False):
    """memory_half_life(z) -> ln 0.5 / ln z."""
    check("01-gru-concept", "test_memory_half_life", fn, hidden)


def check_update_bias_for_memory(fn, hidden=False):
    """update_bias_for_memory(k, fraction=0.5) -> b with sigmoid(b)**k = fraction (the logit of fraction**(1/k))."""
    check("01-gru-concept", "test_update_bias_for_memory", fn, hidden)


# 02-gru-numpy -----------------------------------------------------------------------------------------------------

def check_cell_forward(fn, hidden=False):
    """gru_cell_forward(x, h_prev, params) -> h_next, PyTorch's formula (reset gate after the matrix product)."""
    check("02-gru-numpy", "test_gru_cell_forward", fn, hidden)


def check_gru_forward(fn, hidden=False):
    """gru_forward(xs, h0, params) -> (hs, h_last)."""
    check("02-gru-numpy", "test_gru_forward", fn, hidden)


def check_cell_forward_cho(fn, hidden=False):
    """gru_cell_forward_cho(x, h_prev, params) -> h_next, Cho et al.'s formula (reset gate before the product)."""
    check("02-gru-numpy", "test_gru_cell_forward_cho", fn, hidden)


# 03-gru-backprop --------------------------------------------------------------------------------------------------

def check_candidate_backward(fn, hidden=False):
    """candidate_backward(dn, cache) -> {"da_n", "dr", "dgh_n", "da_r"}: the candidate's and reset gate's gradients."""
    check("03-gru-backprop", "test_candidate_backward", fn, hidden)


def check_cell_backward(fn, hidden=False):
    """gru_cell_backward(dh_next, cache) -> (dx, dh_prev, grads), cache as made by the notebook's gru_cell_forward."""
    check("03-gru-backprop", "test_gru_cell_backward", fn, hidden)


def check_gru_backward(fn, hidden=False):
    """gru_backward(dhs, cache) -> (dxs, dh0, grads), BPTT over the cache list of the notebook's gru_forward."""
    check("03-gru-backprop", "test_gru_backward", fn, hidden)


# 04-torch-gru -----------------------------------------------------------------------------------------------------

def check_gru_param_count(fn, hidden=False):
    """gru_param_count(input_size, hidden_size, num_layers=1, bidirectional=False) -> number of parameters."""
    check("04-torch-gru", "test_gru_param_count", fn, hidden)


def check_last_valid_output(fn, hidden=False):
    """last_valid_output(output, lengths, batch_first=False) -> (B, D*H), the output at each last real step."""
    check("04-torch-gru", "test_last_valid_output", fn, hidden)


def check_predicted_shapes(value, hidden=False):
    """predicted_shapes: {configuration: {"output": shape, "h_n": shape}} for SHAPE_QUESTIONS (a value, not a call)."""
    check("04-torch-gru", "test_predicted_shapes", value, hidden)


def check_gru_classifier(cls, hidden=False):
    """GRUClassifier(input_size, hidden_size, num_classes): nn.GRU (batch_first) + nn.Linear on the final state."""
    check("04-torch-gru", "test_gru_classifier", cls, hidden)


def check_gradient_reach(fn, hidden=False):
    """gradient_reach(T, K, loss_step, detach) -> (first, last) input step that a truncated-BPTT loss reaches."""
    check("04-torch-gru", "test_gradient_reach", fn, hidden)


# 05-bigru ---------------------------------------------------------------------------------------------------------

def check_bigru_forward(fn, hidden=False):
    """bigru_forward(xs, params_fwd, params_bwd) -> (outputs (T, B, 2H), h_n (2, B, H)), NumPy only."""
    check("05-bigru", "test_bigru_forward", fn, hidden)


def check_top_layer_final_states(fn, hidden=False):
    """top_layer_final_states(h_n, num_layers) -> (forward, backward) final states of the top layer, (B, H) each."""
    check("05-bigru", "test_top_layer_final_states", fn, hidden)


# 06-vanishing-gradients -------------------------------------------------------------------------------------------

def check_grad_norms_over_time(fn, hidden=False):
    """grad_norms_over_time(model, xs) -> (T,) ||dL/dh_t|| with L = h_{T-1}.sum(), for nn.RNN / nn.LSTM / nn.GRU."""
    check("06-vanishing-gradients", "test_grad_norms_over_time", fn, hidden)


def check_adding_problem(fn, hidden=False):
    """adding_problem(batch, T, rng) -> (xs (T, batch, 2), ys (batch, 1)); judged by its invariants."""
    check("06-vanishing-gradients", "test_adding_problem", fn, hidden)


# 07-parallel-gru --------------------------------------------------------------------------------------------------

def check_linear_recurrence_scan(fn, hidden=False):
    """linear_recurrence_scan(a, b, h0) -> all h_t = a_t h_{t-1} + b_t, by a scan (its Python lines are counted)."""
    check("07-parallel-gru", "test_linear_recurrence_scan", fn, hidden)


def check_mingru_forward(fn, hidden=False):
    """mingru_forward(xs, h0, params) -> hs (T, B, H), minGRU through the scan (its Python lines are counted)."""
    check("07-parallel-gru", "test_mingru_forward", fn, hidden)


# 08-tang-poems ----------------------------------------------------------------------------------------------------

def check_perplexity(fn, hidden=False):
    """perplexity(logits (N, V) tensor, targets (N,) tensor) -> exp of the mean cross-entropy, a number."""
    check("08-tang-poems", "test_perplexity", fn, hidden)


def check_sample_next(fn, hidden=False):
    """sample_next(logits (N, V) tensor, temperature, seed) -> (N,) ids, one torch.multinomial draw per row."""
    check("08-tang-poems", "test_sample_next", fn, hidden)


def check_line_width_fraction(fn, hidden=False):
    """line_width_fraction(ids, punctuation_ids, width) -> fraction of verse lines with `width` characters."""
    check("08-tang-poems", "test_line_width_fraction", fn, hidden)
