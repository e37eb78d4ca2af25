"""The run viewer: one self-contained HTML page per run (report.html), per comparison
(compare.html) or per ``s1kit view``: the scaling curves, the paper's metrics, and every question's
traces with the forced spans highlighted.

data.py reads a run directory into the page's data; compact.py stores the texts of a sweep once;
spans.py places the forced spans in the texts; changes.py finds the steps (a larger budget, one
more Wait) that fixed or broke each question; parallel.py recomputes majority's votes and
best-of-n's picks; page.py fills the template (assets/: plot.js draws the curves, questions.js the
trace browser, trace.js a sample's output and two side by side, tree.js a search's tree, view.js the
rest) and writes report.html and compare.html; command.py is ``s1kit view``. The run's files are read by
s1kit.runs, so the viewer imports nothing of eval, which calls it.
"""
