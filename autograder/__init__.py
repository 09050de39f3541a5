"""The trusted grader of the GRU course (门控循环单元课程的自动评分器).

nbgrader stays the notebook format and the gradebook; this package decides the scores. A submission's code runs
in a fresh, resource-limited kernel in its own scratch folder; for each autograded test cell the kernel only
reports plain data (``coursekit.checking.run_item`` with a secret seed), and this process judges it
(``coursekit.checking.judge``). Nothing the learner's code prints, asserts or returns can award a point by itself.

Modules, one job each:

- ``assignment``  the instructor notebook (the authority) and the items its test cells name
- ``submission``  read a submitted notebook robustly; restore locked/test cells from the instructor version
- ``policy``      review the learner's code before it runs (forbidden shortcuts, attacks): ``policy:<rule>`` flags
- ``kernel``      one kernel: single launch command (sandbox hook), rlimits, timeout + kill, output byte cap
- ``sandbox``     bubblewrap around each kernel: own uid, no network, private size-limited folders, clean env
- ``launcher``    the tiny script that applies the rlimits before the kernel starts
- ``checkdata``   per-item seeds out, the check's packed result back, decoded strictly
- ``engine``      grade one submission: run cells, check items in the kernel, judge here, survive crashes
- ``runner``      grade many in parallel with warm kernels
- ``discover``    find submissions in a folder, nbgrader's submitted/ layout or a zip
- ``reports``     grades.csv, Gradescope results.json, feedback HTML, executed notebooks
- ``gradebook``   record scores in nbgrader's gradebook (formgrader, manual grading)
- ``selfcheck``   a learner's ``python -m autograder check my.ipynb``
- ``release``     regenerate course/ from solutions/ with nbgrader
- ``gradescope``  build a Gradescope autograder zip using the same engine
- ``cli``         ``python -m autograder grade|check|release|gradescope``

Scores: ``score``/``max_score`` count autograded items only. Written answers (manually graded markdown cells) are
listed as "needs manual grading" (flag ``needs-manual-grading:<grade id>``) and recorded in the gradebook for
formgrader; an unanswered one (still the stub) scores 0 with the comment "No response.", as in nbgrader.
"""
