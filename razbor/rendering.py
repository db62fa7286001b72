"""Authored Markdown to HTML that is safe to put on a page, whatever the card file contains.

Formulas written in LaTeX ($...$ inline, $$...$$ on their own lines) become MathML on the
server, which browsers render natively: no script and no font is fetched.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

import latex2mathml.converter
import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a",
    "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr", "sub", "sup", "del", "span",
    "div",
}
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "semantics", "annotation",
}
MATHML_ATTRIBUTES = {"xmlns", "display", "mathvariant", "stretchy", "fence", "separator",
                     "accent", "accentunder", "lspace", "rspace", "width", "height", "depth",
                     "columnalign", "rowspacing", "columnspacing", "linethickness",
                     "displaystyle", "scriptlevel", "notation", "encoding", "movablelimits",
                     "minsize", "maxsize", "symmetric", "largeop"}


def latex_to_mathml(source: str, display: bool = False) -> str:
    """MathML for a LaTeX formula; a formula it cannot read stays visible as code."""
    try:
        return latex2mathml.converter.convert(source, display="block" if display else "inline")
    except Exception:  # a typo in a formula must not break the page
        return f"<code>{escape(source)}</code>"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML is turned off at the parser and anything that slips through is cleaned by nh3.
    return (MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
            .use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True,
                 renderer=lambda source, options: latex_to_mathml(
                     source, bool(options.get("display_mode")))))


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown fragment: no scripts, handlers or unknown tags survive."""
    html = _parser().render(source)
    attributes = {tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}
    attributes.update({"span": {"class"}, "div": {"class"}})
    return nh3.clean(html, tags=ALLOWED_TAGS | MATHML_TAGS, attributes=attributes,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
