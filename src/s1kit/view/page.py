"""One self-contained HTML file: the page template (assets/page.html) with its CSS, its script and
the data inlined. Nothing is fetched when it opens."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from s1kit.files import write_text

ASSETS = Path(__file__).with_name("assets")
SCRIPTS = ("plot.js", "trace.js", "questions.js", "view.js")
"""In this order: view.js defines the page's state and starts it, after every function is defined."""

# Inside <script>, the HTML parser ends the element at the first "</script" and treats "<!--" specially,
# whatever the JSON means; a model's output can hold either. Escaping every <, > and & as \u003c etc.
# keeps the JSON equal and leaves the parser nothing to see. U+2028/2029 are escaped for old JS parsers.
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def embed_json(data) -> str:
    """``data`` as JSON that can sit inside a ``<script>`` element whatever its strings hold."""
    text = json.dumps(finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _ESCAPES.items():
        text = text.replace(char, escaped)
    # A lone surrogate (JSON may hold one as an escape) cannot be written as UTF-8; escaped, the
    # page's JSON.parse gives it back.
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def finite(value):
    """NaN and infinities (which JSON cannot hold) as None, everywhere in ``value``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def render(data: dict) -> str:
    """The page for ``data`` (``{"title": ..., "runs": [...]}``, see data.run_data)."""
    template = (ASSETS / "page.html").read_text(encoding="utf-8")
    css = (ASSETS / "view.css").read_text(encoding="utf-8")
    script = "\n".join((ASSETS / name).read_text(encoding="utf-8") for name in SCRIPTS)
    before, marker, after = template.partition("{{data}}")
    if not marker:
        raise RuntimeError(f"{ASSETS / 'page.html'} has no {{{{data}}}} marker")
    def fill(part: str) -> str:
        return part.replace("{{css}}", css).replace("{{js}}", '"use strict";\n' + script)

    # The data goes in last and is never searched for markers: a trace may contain "{{js}}".
    return fill(before) + embed_json(data) + fill(after)


def write_page(data: dict, path: Path) -> Path:
    """Write the page to ``path`` whole or not at all (a reader never sees half a page)."""
    path = Path(path)
    write_text(path, render(data))
    return path
