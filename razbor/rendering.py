"""Authored Markdown to HTML that is safe to put on a page, whatever the card file contains.

Formulas written in LaTeX ($...$ inline, $$...$$ on their own lines) become MathML on the
server, which browsers render natively: no script and no font is fetched.

Images show only from the deck's own media folder (a card file points at it as ../media/NAME,
as imports write): they are served by razbor's /media/ route (razbor.web.media). Any other image,
a remote one above all, shows as its alt text: opening a card fetches nothing from the network
and tells no other server that it was opened.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from urllib.parse import quote, unquote

import latex2mathml.converter
import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a",
    "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr", "sub", "sup", "del", "span",
    "div", "img",
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


CARD_MEDIA_PREFIX = "../media/"  # how a card file in a topic folder points at the media folder
MEDIA_ROUTE = "/media/"
MAX_MEDIA_NAME_CHARS = 255
UNSAFE_MEDIA_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.")


def is_media_name(name: str) -> bool:
    """A plain file name of the media folder: no path, no hidden or staged (dot) file."""
    return 0 < len(name) <= MAX_MEDIA_NAME_CHARS and not UNSAFE_MEDIA_NAME.search(name)


def media_url(reference: str) -> str | None:
    """The web address of an image a card file points at in its deck's media folder, or None
    for any other reference (a remote URL, a path elsewhere)."""
    if not reference.startswith(CARD_MEDIA_PREFIX):
        return None
    name = unquote(reference.removeprefix(CARD_MEDIA_PREFIX))
    return MEDIA_ROUTE + quote(name) if is_media_name(name) else None


def _image(renderer, tokens, index, options, env) -> str:
    """An image of the deck's media as <img>; any other as its alt text."""
    token = tokens[index]
    alt = escape(renderer.renderInlineAsText(token.children or [], options, env))
    url = media_url(str(token.attrGet("src") or ""))
    return alt if url is None else f'<img src="{escape(url)}" alt="{alt}">'


def _only_media_images(tag: str, attribute: str, value: str) -> str | None:
    """The sanitiser's last word on <img>: a source that is not the media route goes."""
    if tag == "img" and attribute == "src":
        name = unquote(value.removeprefix(MEDIA_ROUTE))
        return value if value.startswith(MEDIA_ROUTE) and is_media_name(name) else None
    return value


def latex_to_mathml(source: str, display: bool = False) -> str:
    """MathML for a LaTeX formula; a formula it cannot read stays visible as code."""
    try:
        return latex2mathml.converter.convert(source, display="block" if display else "inline")
    except Exception:  # a typo in a formula must not break the page
        return f"<code>{escape(source)}</code>"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML is turned off at the parser and anything that slips through is cleaned by nh3.
    parser = (MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
              .use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True,
                   renderer=lambda source, options: latex_to_mathml(
                       source, bool(options.get("display_mode")))))
    parser.add_render_rule("image", _image)
    return parser


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown fragment: no scripts, handlers or unknown tags survive."""
    html = _parser().render(source)
    attributes = {tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}
    attributes.update({"span": {"class"}, "div": {"class"}, "img": {"src", "alt"}})
    return nh3.clean(html, tags=ALLOWED_TAGS | MATHML_TAGS, attributes=attributes,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer",
                     attribute_filter=_only_media_images)
