"""Authored Markdown to HTML that is safe to put on a page, whatever the card file contains."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a",
    "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "hr", "sub", "sup", "del",
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML is turned off at the parser and anything that slips through is cleaned by nh3.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(source: str) -> str:
    """Sanitised HTML for a Markdown fragment: no scripts, handlers or unknown tags survive."""
    html = _parser().render(source)
    return nh3.clean(html, tags=ALLOWED_TAGS, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")
