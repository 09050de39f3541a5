"""Notebook 08's library: the Tang poem data set (coursekit.tang300), the character-level language model
(coursekit.poetry) and the measurements on verse (coursekit.verse), including the shipped checkpoints."""

import copy
import csv
import functools
import importlib.resources

import numpy as np
import pytest

from coursekit import poetry, tang300, verse

torch = pytest.importorskip("torch")

FORTUNES = ("\x1b[32m《静夜思》\x1b[m\n\x1b[33m作者：李白\x1b[m\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n%\n"
            "\x1b[32m《某诗・并序》\x1b[m\n\x1b[33m作者：某人\x1b[m\n序文一句，序文二句。\n  \n"
            "白日依山尽，黄河入海流。\n%\n"
            "\x1b[32m《杂言》\x1b[m\n\x1b[33m作者：某人\x1b[m\n君不见，黄河之水天上来。\n%\n")


# ----------------------------------------------------------------------------------------------------------------
# The data set
# ----------------------------------------------------------------------------------------------------------------

def test_parse_fortunes_strips_colours_and_splits_prefaces():
    poems = tang300.parse_fortunes(FORTUNES)
    assert [(p.title, p.author) for p in poems] == [("静夜思", "李白"), ("某诗・并序", "某人"), ("杂言", "某人")]
    assert poems[0].lines == ("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。")
    assert poems[0].text == "床前明月光，疑是地上霜。举头望明月，低头思故乡。" and poems[0].width == 5
    assert poems[1].preface == ("序文一句，序文二句。",) and poems[1].lines == ("白日依山尽，黄河入海流。",)
    assert poems[2].width is None  # lines of 3 and 7 characters
    assert all("\x1b" not in p.title + p.author + p.text for p in poems)


def test_parse_fortunes_refuses_a_record_without_author():
    with pytest.raises(ValueError, match="not a poem record"):
        tang300.parse_fortunes("《题》\n床前明月光，疑是地上霜。\n%\n")


@pytest.mark.parametrize("text, width", [("床前明月光，疑是地上霜。", 5), ("一二三四五六七，一二三四五六七。", 7),
                                         ("一二三四五六，一二三四五六。", None), ("床前明月光，疑是地上霜", None),
                                         ("一二三，一二三四五六七。", None), ("", None)])
def test_verse_width(text, width):
    assert tang300.verse_width(text) == width


def test_shipped_data_set():
    poems = tang300.load()
    assert len(poems) == 313
    regular = [p for p in poems if p.width]
    assert (len(regular), sum(p.width == 5 for p in regular), sum(p.width == 7 for p in regular)) == (295, 157, 138)
    assert sum(bool(p.preface) for p in poems) == 6
    assert poems[0].title == "感遇・其一" and poems[0].author == "张九龄"
    shipped = (importlib.resources.files("coursekit.data") / tang300.DATA_FILE).read_text(encoding="utf-8")
    assert tang300.to_json(poems) == shipped  # what benchmarks/make_tang300.py would write


def test_split_is_fixed_disjoint_and_regular():
    first, again = tang300.split(), tang300.split()
    assert first == again
    assert (len(first.train), len(first.valid), len(first.test)) == (250, 15, 30)
    keys = [(p.title, p.author, p.text) for part in (first.train, first.valid, first.test) for p in part]
    assert len(set(keys)) == len(keys) == 295
    assert all(p.width in (5, 7) for p in first.test)


# ----------------------------------------------------------------------------------------------------------------
# Vocabulary and batches
# ----------------------------------------------------------------------------------------------------------------

def test_vocabulary_encodes_unknown_and_rare_characters_as_unk():
    vocab = poetry.build_vocabulary(["明月明月光，", "月光。"], min_count=2)
    assert vocab.tokens[:2] == (poetry.EOS, poetry.UNK)
    assert set(vocab.tokens[2:]) == {"明", "月", "光", "，", "。"}  # 。 is kept though seen once: a mark
    assert vocab.tokens[2] == "月"  # the most frequent first
    ids = vocab.encode("明月照光，")
    assert ids[2] == poetry.UNK_ID and vocab.decode(ids) == "明月□光，"
    assert vocab.decode([poetry.EOS_ID]) == "|"
    assert list(vocab.punctuation_ids) == sorted([vocab.index["，"], vocab.index["。"]])
    assert set(vocab.banned_in_lines) == {0, 1, vocab.index["，"], vocab.index["。"]}


def test_encode_poems_puts_eos_around_every_poem():
    vocab = poetry.build_vocabulary(["ab，", "cd。"], min_count=1)
    stream = poetry.encode_poems(["ab，", "cd。"], vocab)
    assert vocab.decode(stream) == "|ab，|cd。|"


def test_stream_batches_continue_each_row_from_chunk_to_chunk():
    stream = np.arange(103)
    chunks = list(poetry.stream_batches(stream, batch_size=4, seq_len=5, offset=2))
    n = (len(stream) - 2 - 1) // 4  # 25 steps per row
    assert len(chunks) == n // 5
    inputs = np.concatenate([x for x, _ in chunks])  # (25, 4)
    targets = np.concatenate([y for _, y in chunks])
    for b in range(4):
        assert np.array_equal(inputs[:, b], stream[2 + b * n: 2 + b * n + 25])  # contiguous through the chunks
    assert np.array_equal(targets, inputs + 1)


# ----------------------------------------------------------------------------------------------------------------
# The model, training, perplexity, sampling
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", poetry.CELLS)
def test_parameter_count_matches_the_module(cell):
    model = poetry.CharLM(cell, 50, 8, 12)
    assert sum(p.numel() for p in model.parameters()) == poetry.parameter_count(cell, 50, 8, 12)


def test_hidden_sizes_for_equal_parameter_counts():
    target = poetry.parameter_count("gru", 1340, 64, 128)
    sizes = {cell: poetry.hidden_size_for(cell, target, 1340, 64) for cell in poetry.CELLS}
    assert sizes["gru"] == 128 and sizes["rnn"] > 128 > sizes["lstm"]
    for cell, H in sizes.items():
        assert abs(poetry.parameter_count(cell, 1340, 64, H) / target - 1) < 0.01


def test_perplexity_is_exp_cross_entropy():
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal((20, 9)), rng.integers(0, 9, 20)
    expected = torch.exp(torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(targets)))
    assert poetry.perplexity(logits, targets) == pytest.approx(expected.item(), rel=1e-12)
    assert poetry.perplexity(np.zeros((3, 9)), [1, 2, 3]) == pytest.approx(9.0)


def tiny_setup():
    texts = ["床前明月光，疑是地上霜。举头望明月，低头思故乡。", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"]
    vocab = poetry.build_vocabulary(texts, min_count=1)
    return vocab, poetry.encode_poems(texts * 8, vocab)


@pytest.mark.parametrize("cell", poetry.CELLS)
def test_training_with_truncated_bptt_learns_a_tiny_stream(cell):
    vocab, stream = tiny_setup()
    torch.manual_seed(0)
    model = poetry.CharLM(cell, len(vocab), 16, 32)
    before = poetry.stream_perplexity(model, stream)
    run = poetry.train_language_model(model, stream, steps=60, valid_stream=stream, batch_size=4, seq_len=16,
                                      lr=1e-2, eval_every=20)
    assert run.steps == list(range(1, 61)) and run.eval_steps == [20, 40, 60]
    after = poetry.stream_perplexity(model, stream)
    assert after < before / 3
    assert after == pytest.approx(run.best_valid_perplexity, rel=1e-6)  # the best weights were restored
    assert not model.training


def test_detach_cuts_the_graph_of_both_lstm_states():
    h, c = torch.ones(1, 2, 3, requires_grad=True) * 2, torch.ones(1, 2, 3, requires_grad=True) * 3
    for tensor in poetry.detach((h, c)):
        assert not tensor.requires_grad
    assert not poetry.detach(h).requires_grad


def test_sample_next_is_seeded_and_tempered():
    logits = torch.tensor([[0.0, 1.0, 2.0]]).repeat(20000, 1)
    a, b = poetry.sample_next(logits, 0.5, 7), poetry.sample_next(logits, 0.5, 7)
    assert torch.equal(a, b) and not torch.equal(a, poetry.sample_next(logits, 0.5, 8))
    p = torch.softmax(logits[0] / 0.5, dim=-1).numpy()
    assert np.abs(np.bincount(a.numpy(), minlength=3) / 20000 - p).max() < 0.015
    with pytest.raises(ValueError):
        poetry.step_seed(0, poetry.MAX_STEPS)


@functools.cache
def _trained_tiny_gru():
    vocab, stream = tiny_setup()
    torch.manual_seed(0)
    model = poetry.CharLM("gru", len(vocab), 16, 32)
    poetry.train_language_model(model, stream, steps=80, batch_size=4, seq_len=16, lr=1e-2)
    return model, vocab


def trained_tiny_gru():
    """A GRU trained once on two poems (a copy each time, so that tests may change it)."""
    model, vocab = _trained_tiny_gru()
    return copy.deepcopy(model), vocab


def test_generate_is_reproducible_and_never_writes_unk():
    model, vocab = trained_tiny_gru()
    text = poetry.generate(model, vocab, "床前", max_chars=30, seed=3, stop_at_eos=False)
    assert len(text) == 30 and "□" not in text and "|" not in text
    assert text == poetry.generate(model, vocab, "床前", max_chars=30, seed=3, stop_at_eos=False)


def test_acrostic_feeds_every_token_and_follows_the_form():
    model, vocab = trained_tiny_gru()
    comma, period = vocab.index["，"], vocab.index["。"]
    heads = vocab.encode("明月上楼")
    ids = poetry.acrostic_ids(model, heads, 5, comma, period, vocab.banned_in_lines)
    assert ids.shape == (24,) and list(ids[::6]) == list(heads)
    assert list(ids[5::6]) == [comma, period, comma, period]
    assert not np.isin(np.delete(ids, np.r_[0:24:6, 5:24:6]), vocab.banned_in_lines).any()
    # written independently: one forward over the whole poem; each chosen character must be the argmax
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(np.concatenate([[poetry.EOS_ID], ids[:-1]]))[:, None])
    logits = logits[:, 0].clone()
    logits[:, vocab.banned_in_lines] = -np.inf
    free = [t for t in range(24) if t % 6 not in (0, 5)]
    assert np.array_equal(ids[free], logits.argmax(dim=-1).numpy()[free])
    assert poetry.acrostic(model, vocab, "明月", 5).startswith("明")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        poetry.acrostic(model, vocab, "龘", 5)


def test_checkpoint_round_trip(tmp_path):
    model, vocab = trained_tiny_gru()
    poetry.save_checkpoint(tmp_path / "m.npz", model, vocab, best_step=7)
    loaded, vocab2, meta = poetry.load_checkpoint(tmp_path / "m.npz")
    assert vocab2 == vocab and meta["best_step"] == 7 and meta["cell"] == "gru"
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-3), name  # float16 storage


# ----------------------------------------------------------------------------------------------------------------
# Measurements on verse
# ----------------------------------------------------------------------------------------------------------------

def test_line_positions():
    vocab = poetry.build_vocabulary(["ab，cd。"], min_count=1)
    stream = poetry.encode_poems(["ab，cd。", "ef，"], vocab)
    pos = verse.line_positions(stream, vocab.punctuation_ids)
    assert list(pos.line) == [-1, 0, 0, 0, 1, 1, 1, -1, 0, 0, 0, -1]
    assert list(pos.column) == [-1, 0, 1, 2, 0, 1, 2, -1, 0, 1, 2, -1]


def test_punctuation_prediction_of_a_perfect_and_of_a_blind_predictor():
    split = tang300.split()
    vocab = poetry.build_vocabulary([p.text for p in split.train])
    stream = poetry.encode_poems(split.test[:5], vocab)
    perfect = np.full((len(stream) - 1, len(vocab)), -20.0)
    perfect[np.arange(len(stream) - 1), stream[1:]] = 20.0
    result = verse.punctuation_prediction(perfect, stream, vocab.punctuation_ids)
    assert result["mark_recall"] == result["which_mark"] == result["accuracy"] == 1.0 and result["false_marks"] == 0
    blind = verse.punctuation_prediction(np.zeros_like(perfect), stream, vocab.punctuation_ids)
    assert blind["mark_recall"] == 0.0 and blind["false_marks"] == 0.0
    n_lines = sum(len(tang300.verse_lines(p.text)) for p in split.test[:5])
    assert result["n_marks"] == n_lines - 5  # every line but the first of each poem


def test_gru_gates_reproduce_the_modules_hidden_states():
    model, vocab = trained_tiny_gru()
    model = model.double()
    ids = vocab.encode("床前明月光，疑是地上霜。")
    gates = verse.gru_gates(model, ids)
    assert gates["r"].shape == gates["z"].shape == (len(ids), 32)
    # rebuild h from the gates with PyTorch's update rule and compare with nn.GRU
    from coursekit import gru
    params = gru.params_from_torch(model.rnn)
    with torch.no_grad():
        xs = model.embed(torch.as_tensor(ids))
        output, _ = model.rnn(xs[:, None])
    h = np.zeros(32)
    for t in range(len(ids)):
        x, r, z = xs[t].numpy(), gates["r"][t], gates["z"][t]
        n = np.tanh(params["W_in"] @ x + params["b_in"] + r * (params["W_hn"] @ h + params["b_hn"]))
        h = (1 - z) * n + z * h
        assert np.allclose(h, output[t, 0].numpy(), atol=1e-10)
    with pytest.raises(ValueError):
        verse.gru_gates(poetry.CharLM("lstm", len(vocab), 4, 4), ids)


def test_auc_and_gate_contrast():
    assert verse.auc([3, 4, 1, 2], [True, True, False, False]) == 1.0
    assert verse.auc([1, 2, 3, 4], [True, True, False, False]) == 0.0
    assert verse.auc([1, 1, 1, 1], [True, False, True, False]) == 0.5
    gate = np.array([[0.9, 0.1], [0.2, 0.5], [0.8, 0.5]])
    assert np.allclose(verse.gate_contrast(gate, [True, False, True]), [0.65, -0.2])


def test_sampled_line_widths_counts_pooled_lines():
    model, vocab = trained_tiny_gru()
    poems = tang300.parse_fortunes(FORTUNES)[:1]
    fraction, samples = verse.sampled_line_widths(model, vocab, poems, n_lines=3, seeds=(0, 1))
    assert len(samples) == 2 and all(prompt == "床前明月光，" and len(text) == 18 for prompt, text in samples)
    lines = [tang300.verse_lines(text) for _, text in samples]
    expected = sum(len(l) == 5 for ls in lines for l in ls) / sum(len(ls) for ls in lines)
    assert fraction == pytest.approx(expected)


# ----------------------------------------------------------------------------------------------------------------
# The shipped checkpoints and results (benchmarks/train_tang_models.py)
# ----------------------------------------------------------------------------------------------------------------

def shipped_results():
    text = (importlib.resources.files("coursekit.data") / "tang_results.csv").read_text(encoding="utf-8")
    return {row["cell"]: row for row in csv.DictReader(text.splitlines())}


def test_shipped_checkpoints_are_small_and_match_their_results():
    results = shipped_results()
    assert sorted(results) == sorted(poetry.CELLS)
    total = 0
    split = tang300.split()
    for cell in poetry.CELLS:
        path = tang300.shipped_file(f"tang_{cell}.npz")
        total += path.stat().st_size
        model, vocab, meta = poetry.load_checkpoint(path)
        assert meta["cell"] == cell and int(results[cell]["hidden_size"]) == meta["hidden_size"]
        assert vocab == poetry.build_vocabulary([p.text for p in split.train])
        test = poetry.encode_poems(split.test, vocab)
        assert poetry.stream_perplexity(model, test) == pytest.approx(float(results[cell]["test_perplexity"]),
                                                                      abs=0.01)
    assert total < 5e6
    sizes = [int(results[c]["parameters"]) for c in poetry.CELLS]
    assert max(sizes) / min(sizes) < 1.01  # about equal parameter counts


def test_gate_figures_draw_without_or_with_a_cjk_font():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coursekit import poetry_viz

    model, vocab = trained_tiny_gru()
    text = "床前明月光，疑是地上霜。"
    gates = verse.gru_gates(model, vocab.encode(text))
    fig = poetry_viz.plot_gates_over_poem(gates, text, marked={"line start": 3})
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels == (list(text) if poetry_viz.cjk_font_available() else [str(t) for t in range(len(text))])
    fig2 = poetry_viz.plot_unit_traces(gates, text, [("z", "z", 0), ("r", "r", 5)])
    plt.close(fig)
    plt.close(fig2)
    assert poetry_viz.character_legend("床前明", per_line=2) == "0:床 1:前\n2:明"
    with pytest.raises(ValueError, match="characters"):
        poetry_viz.plot_gates_over_poem(gates, text[:-1])


def test_copied_line_fraction():
    poems = tang300.parse_fortunes(FORTUNES)
    texts = ["床前明月光，疑是地上霜。", "床前明月光，月光，黄河"]  # 4 lines: 3 known (one twice), "月光" is not
    assert verse.copied_line_fraction(texts, poems) == pytest.approx(3 / 4)
    assert verse.copied_line_fraction(["无标点"], poems) == 0.0
