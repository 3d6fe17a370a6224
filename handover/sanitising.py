"""Stage 3a: the few case fields staff write as Markdown become safe HTML; nothing else does.

Case text is data written by people who may paste anything. Fields typed ``Markdown`` in
the model (``message``, ``accounts[].steps``, ``support.what``) go through cmark-gfm, the
CommonMark reference implementation (linear time on any input, raw HTML and unsafe links
dropped), then through nh3, an allowlist sanitiser: only text formatting, lists, tables
and links to ``http``, ``https``, ``mailto``, ``tel`` or a ``#fragment`` survive. Every
other field is plain text that the templates escape. No attribute a sanitised field keeps
can carry script, style, an id or a class.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Annotated, Any, get_args, get_origin

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
from pydantic import BaseModel

from handover.model import MARKDOWN, Case
from handover.problems import Problem
from handover.validation import ClientCase, problems_in_case

#: What a Markdown field may become: formatting, lists, tables, quotes, code, links.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "del", "s", "code", "pre", "kbd",
        "blockquote", "ul", "ol", "li", "h3", "h4", "h5", "h6", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SAFE = Options.CMARK_OPT_DEFAULT
_UNSAFE = Options.CMARK_OPT_UNSAFE


def markdown_html(text: str) -> str:
    """A Markdown field as HTML that can only show text and links."""
    return _clean(cmarkgfm.github_flavored_markdown_to_html(text, options=_SAFE))


def markdown_inline(text: str) -> str:
    """As ``markdown_html``, without the paragraph around a one-paragraph text (list items)."""
    html = markdown_html(text).strip()
    inner = html.removeprefix("<p>").removesuffix("</p>")
    return inner if html != inner and "<p>" not in inner else html


def markup_dropped(text: str) -> bool:
    """Whether rendering ``text`` drops something staff wrote (raw HTML, an unsafe link).

    Dropping is right, but staff must hear about it rather than find a changed page."""
    if "<" not in text and "](" not in text and "]:" not in text:
        return False  # no raw HTML and no link target: nothing can be dropped
    safe = cmarkgfm.github_flavored_markdown_to_html(text, options=_SAFE)
    unsafe = cmarkgfm.github_flavored_markdown_to_html(text, options=_UNSAFE)
    return safe != unsafe or _clean(safe) != _clean(unsafe) or _rejected_links(safe)


def markup_warnings(case: ClientCase) -> list[Problem]:
    """A warning, with file and line, for each Markdown field whose markup was dropped."""
    message = (
        "raw HTML or a link that is not http, https, mailto, tel or #fragment was "
        "dropped; the page shows the rest"
    )
    dropped = [path for path, text in markdown_fields(case.case) if markup_dropped(text)]
    return problems_in_case(case, [(path, message) for path in dropped])


def markdown_fields(case: Case) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every Markdown-typed value in a case with its field path, found by walking the model."""
    yield from _walk(case, ())


def _walk(model: BaseModel, path: tuple[str | int, ...]) -> Iterator[tuple[Any, str]]:
    kind = type(model)
    for name in kind.model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _walk(value, (*path, name))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _walk(item, (*path, name, index))
                elif isinstance(item, str) and _markdown_field(kind, name):
                    yield (*path, name, index), item
        elif isinstance(value, str) and _markdown_field(kind, name):
            yield (*path, name), value


@functools.cache
def _markdown_field(model: type[BaseModel], name: str) -> bool:
    """Whether a model's field holds Markdown; remembered per field, as a build asks it of
    every field of every case."""
    field = model.model_fields[name]
    return MARKDOWN in field.metadata or _is_markdown(field.annotation)


def _is_markdown(annotation: Any) -> bool:
    """Whether a type is marked ``MARKDOWN`` anywhere inside (``Letter | None``,
    ``list[Markdown]``)."""
    if get_origin(annotation) is Annotated and MARKDOWN in get_args(annotation)[1:]:
        return True
    return get_origin(annotation) is not None and any(_is_markdown(a) for a in get_args(annotation))


def _link_allowed(href: str) -> bool:
    if href.startswith("#"):
        return True
    scheme, colon, _ = href.partition(":")
    return bool(colon) and scheme.lower() in LINK_SCHEMES


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href" and not _link_allowed(value.strip()):
        return None
    return value


@functools.lru_cache(1024)
def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        attribute_filter=_filter,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _rejected_links(html: str) -> bool:
    """A link the filter removes (relative links to the host, empty unsafe ones)."""
    return html.count("<a ") != _clean(html).count('<a href="')
