"""The run viewer: one self-contained HTML page per run (report.html), per comparison
(compare.html) or per ``s1kit view``: the scaling curves, the paper's metrics, and every question's
traces with the forced spans highlighted.

data.py reads a run directory into the page's data; compact.py stores the texts of a sweep once;
spans.py places the forced spans in the texts; page.py fills the template (assets/) and writes the
file; command.py makes the three pages.
"""
