"""coursekit: the reference library of the GRU course (门控循环单元课程).

Small modules, one job each; notebooks import what they need:

- ``coursekit.gru``        NumPy GRU (PyTorch names, gate order r, z, n), forward/backward, torch bridges
- ``coursekit.rnn``        Elman RNN (tanh), same API shape
- ``coursekit.lstm``       LSTM (PyTorch gate order i, f, g, o), same API shape
- ``coursekit.gradcheck``  numerical gradients and relative errors
- ``coursekit.tasks``      seeded synthetic sequence tasks (adding, copy memory, delayed recall)
- ``coursekit.gradflow``   gradient norms through time, memory-gate bias (notebook 06)
- ``coursekit.experiments`` the adding-problem training run of notebook 06 and its sweep
- ``coursekit.scan``       linear recurrences: loop, parallel scan, Python line counter (notebook 07)
- ``coursekit.mingru``     minGRU in NumPy and torch (notebook 07)
- ``coursekit.tang300``    the 300 Tang poems, their verse forms and the fixed split (notebook 08)
- ``coursekit.poetry``     a character-level language model: training, perplexity, sampling, acrostics (notebook 08)
- ``coursekit.verse``      memory on real verse: line widths, punctuation predictions, GRU gates (notebook 08)
- ``coursekit.poetry_viz`` gate heat maps under a poem, with a fallback without CJK fonts (notebook 08)
- ``coursekit.timing``     median wall-clock time of a call
- ``coursekit.data``       shipped result files the notebooks plot
- ``coursekit.viz``        the figures the notebooks draw
- ``coursekit.fonts``      the figures' language and CJK font (Chinese labels in a Chinese notebook with a font)
- ``coursekit.i18n``       the language of learner-visible messages (from the notebook) and ``Text`` messages
- ``coursekit.feedback``   what a failed check shows: a few lines, in the notebook's language
- ``coursekit.checking``   the machinery behind graded items (cases, learner calls, verdicts)
- ``coursekit.items``      every graded item of every notebook, defined once
- ``coursekit.checks``     the checks learners call in notebooks, e.g. ``check_cell_forward(fn)``

Only NumPy (and threadpoolctl, to keep BLAS on one thread) is imported here; torch is imported lazily by
the functions that need it.
"""

__version__ = "0.1.0"


def _limit_blas_threads():
    """Run NumPy's BLAS on one thread.

    The recurrences in this course multiply small matrices (e.g. 32x128 by 128x384) once per time step. On a
    2-core machine OpenBLAS's own threads made a per-step NumPy GRU several times slower than one thread (measured:
    about 5x, and far worse while other processes compete for the cores), and one thread costs little on the
    course's large products. threadpoolctl changes the limit for this process only.
    """
    import numpy  # noqa: F401  (BLAS must be loaded before its thread pool can be limited)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_limit_blas_threads()
