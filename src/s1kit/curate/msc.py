"""The domains s1 samples over: top-level classes of the Mathematics Subject Classification 2020.

s1 (Section 2.2, "Diversity") has Claude 3.5 Sonnet put each question into a domain of the MSC,
which covers mathematics and also its overlap with physics, biology, economics and computer
science; the 1,000 picks of s1K span 50 such domains.

``MSC_CODES`` holds all 63 top-level classes of MSC2020 (msc2020.org), "00" to "97", with their
official short names. That is two more than the "61" sometimes quoted for s1: we could not find
that count in the paper, and 61 is what MSC2020 has without its two classes that hold no subject
(00 General and overarching topics, 01 History and biography). We keep all 63 so that no reply
naming a real class is recorded as ``unknown``; a caller who wants 61 drops those two itself.

Example: ``parse_domain("**11** Number theory")`` is ``"11"``; ``parse_domain("99")`` is None.
"""

from __future__ import annotations

import re

MSC_CODES: dict[str, str] = {
    "00": "General and overarching topics; collections",
    "01": "History and biography",
    "03": "Mathematical logic and foundations",
    "05": "Combinatorics",
    "06": "Order, lattices, ordered algebraic structures",
    "08": "General algebraic systems",
    "11": "Number theory",
    "12": "Field theory and polynomials",
    "13": "Commutative algebra",
    "14": "Algebraic geometry",
    "15": "Linear and multilinear algebra; matrix theory",
    "16": "Associative rings and algebras",
    "17": "Nonassociative rings and algebras",
    "18": "Category theory; homological algebra",
    "19": "K-theory",
    "20": "Group theory and generalizations",
    "22": "Topological groups, Lie groups",
    "26": "Real functions",
    "28": "Measure and integration",
    "30": "Functions of a complex variable",
    "31": "Potential theory",
    "32": "Several complex variables and analytic spaces",
    "33": "Special functions",
    "34": "Ordinary differential equations",
    "35": "Partial differential equations",
    "37": "Dynamical systems and ergodic theory",
    "39": "Difference and functional equations",
    "40": "Sequences, series, summability",
    "41": "Approximations and expansions",
    "42": "Harmonic analysis on Euclidean spaces",
    "43": "Abstract harmonic analysis",
    "44": "Integral transforms, operational calculus",
    "45": "Integral equations",
    "46": "Functional analysis",
    "47": "Operator theory",
    "49": "Calculus of variations and optimal control; optimization",
    "51": "Geometry",
    "52": "Convex and discrete geometry",
    "53": "Differential geometry",
    "54": "General topology",
    "55": "Algebraic topology",
    "57": "Manifolds and cell complexes",
    "58": "Global analysis, analysis on manifolds",
    "60": "Probability theory and stochastic processes",
    "62": "Statistics",
    "65": "Numerical analysis",
    "68": "Computer science",
    "70": "Mechanics of particles and systems",
    "74": "Mechanics of deformable solids",
    "76": "Fluid mechanics",
    "78": "Optics, electromagnetic theory",
    "80": "Classical thermodynamics, heat transfer",
    "81": "Quantum theory",
    "82": "Statistical mechanics, structure of matter",
    "83": "Relativity and gravitational theory",
    "85": "Astronomy and astrophysics",
    "86": "Geophysics",
    "90": "Operations research, mathematical programming",
    "91": "Game theory, economics, finance, and other social and behavioral sciences",
    "92": "Biology and other natural sciences",
    "93": "Systems theory; control",
    "94": "Information and communication theory, circuits",
    "97": "Mathematics education",
}

# A two-digit class standing alone, or opening a longer MSC code ("26A06", "05Cxx", "60-01"), so
# that a classifier answering at a finer level still lands in its top-level class. Digits glued to
# other digits, letters or a decimal point ("2024", "x11", "0.11", "11.5") are not a class.
_CODE = re.compile(r"(?<![\w.])(\d{2})(?:[A-Za-z](?:\d{2}|xx)?|-(?:\d{2}|XX|xx))?(?![\w]|\.\d)")

_BY_NAME = {name.casefold(): code for code, name in MSC_CODES.items()}


def parse_domain(reply: str) -> str | None:
    """The MSC2020 top-level code in a classifier's reply, or None if it names no known class.

    The first known two-digit code wins ("Domain: 05", "**26**", "11 Number theory", "26A06");
    a reply that is only a class's official name ("Number theory") also counts. None tells the
    caller to record the domain as ``unknown``.
    """
    for match in _CODE.finditer(reply):
        if match.group(1) in MSC_CODES:
            return match.group(1)
    bare = reply.strip().strip("*_`\"'.").strip().casefold()
    return _BY_NAME.get(bare)
