"""The trusted grader of the GRU course (门控循环单元课程的自动评分器).

nbgrader stays the notebook format and the gradebook; this package decides the scores. The grader draws every
item's cases in its own process; the learner's code runs in sandboxed *clean rooms* that hold no reference code,
which get only the cases' inputs and send back plain outputs, judged here (``coursekit.checking.judge``). Nothing
the learner's code prints, asserts or returns can award a point by itself. See autograder/README.md.

Modules, one job each:

- ``assignment``  the instructor notebook (the authority) and the items its test cells name
- ``submission``  read a submitted notebook robustly; restore locked/test cells from the instructor version
- ``policy``      review the learner's code (shortcuts, attacks): ``policy:<rule>`` flags, never points
- ``grader``      ``Grader(assignment, config)``: one submission, end to end (class runner, Gradescope, self-check)
- ``config``, ``outcomes``  the settings; statuses, flags and result dataclasses
- ``cleanroom``, ``roomrun``, ``judging``  what a clean room holds; running the learner's code there; verdicts here
- ``executed``    the full notebook run for the executed copy
- ``sessions``    kernels handed out per worker, sessions that survive crashes and timeouts
- ``kernel``      one kernel: a declared launch protocol, rlimits, timeout + kill, output byte cap
- ``sandbox``     bubblewrap around each kernel: own uid, no network, private size-limited folders, clean env
- ``warm``, ``zygote``  warm kernels: forked from a per-worker zygote that keeps submissions apart
- ``launcher``    the tiny script that applies the rlimits before the kernel starts
- ``checkdata``   per-item seeds, a room's packed result decoded strictly
- ``safety``      every string from a submission made safe; inert executed notebooks
- ``runner``      grade many in parallel
- ``discover``    find submissions in a folder, nbgrader's submitted/ layout or a zip
- ``reports``     grades.csv, Gradescope results.json, feedback HTML, executed notebooks
- ``gradebook``   record scores in nbgrader's gradebook (formgrader, manual grading)
- ``selfcheck``   a learner's ``python -m autograder check my.ipynb``
- ``release``     regenerate course/ from solutions/ with nbgrader
- ``gradescope``  build a Gradescope autograder zip using the same Grader
- ``cli``         ``python -m autograder grade|check|release|gradescope``

Scores: ``score``/``max_score`` count autograded items only. Written answers (manually graded markdown cells) are
listed as "needs manual grading" (flag ``needs-manual-grading:<grade id>``) and recorded in the gradebook for
formgrader; an unanswered one (still the stub) scores 0 with the comment "No response.", as in nbgrader.
"""
