"""The references that notebooks 04 and 05 fall back to (coursekit.fallback) pass the checks of the items they stand in
for, so a learner whose function is wrong sees right figures, not a second wrong answer; and a wrong function is
replaced."""

import functools

import numpy as np

from coursekit import items
from coursekit.fallback import learner_or_reference
from coursekit.items.bigru import bigru_forward_reference
from coursekit.items.torch_gru import gru_param_count_reference, last_valid_output_reference
from coursekit.train import SequenceRegressor

CLASSIFIER_REFERENCE = functools.partial(SequenceRegressor, "gru", batch_first=True)  # what notebook 04 uses


def test_the_fallbacks_are_the_items_own_references():
    # (they live in coursekit, so they could not pass as a learner's answer: the check forbids coursekit here)
    assert items.get("04-torch-gru", "test_gru_param_count").reference is gru_param_count_reference
    assert items.get("04-torch-gru", "test_last_valid_output").reference is last_valid_output_reference
    assert items.get("05-bigru", "test_bigru_forward").reference is bigru_forward_reference


def test_the_classifier_fallback_passes_the_classifier_check_silently(capsys):
    chosen = learner_or_reference("04-torch-gru", "test_gru_classifier", CLASSIFIER_REFERENCE, None)
    assert chosen is CLASSIFIER_REFERENCE
    assert capsys.readouterr().out == ""


def test_wrong_functions_fall_back_with_a_note(capsys):
    def count_without_biases(input_size, hidden_size, num_layers=1, bidirectional=False):
        return 3 * hidden_size * (input_size + hidden_size)

    def last_padded_step(output, lengths, batch_first=False):
        return np.asarray(output)[:, -1] if batch_first else np.asarray(output)[-1]

    def backward_not_flipped(xs, params_fwd, params_bwd):
        outputs, h_n = bigru_forward_reference(xs, params_fwd, params_bwd)
        H = h_n.shape[-1]
        return np.concatenate([outputs[..., :H], outputs[::-1, :, H:]], axis=2), h_n

    for assignment, grade_id, wrong, reference in [
            ("04-torch-gru", "test_gru_param_count", count_without_biases, gru_param_count_reference),
            ("04-torch-gru", "test_last_valid_output", last_padded_step, last_valid_output_reference),
            ("05-bigru", "test_bigru_forward", backward_not_flipped, bigru_forward_reference)]:
        assert learner_or_reference(assignment, grade_id, wrong, reference) is reference, grade_id
        assert "reference implementation" in capsys.readouterr().out
