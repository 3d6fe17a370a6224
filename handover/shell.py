"""Stage 5a: what every published page carries, whoever it is for: a strict security policy.

Each page (client shells, the portal's home, 404) gets a Content-Security-Policy as the
first element of ``<head>``, before any stylesheet, script or other request, followed by
the no-referrer policy. Only scripts from the site itself run, plus the theme's own inline
scripts, allowed by their SHA-256 computed here from the page as built: anything a case
field smuggled into a page could not run, even if it got past the sanitiser.
Settings that would make a page fetch from another origin are refused up front.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Any

#: Directives besides ``script-src``; nothing may come from another origin.
POLICY = (
    "default-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
)
REFERRER = '<meta name="referrer" content="no-referrer">'
_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.I)
_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_FOREIGN = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.I)
#: Data blocks the browser never runs, so the policy need not (and does not) allow them.
_DATA_TYPES = ('type="application/json"',)


def harden(html: str) -> str:
    """``html`` with the policy and the referrer policy first thing in its ``<head>``."""
    head = _HEAD.search(html)
    if head is None:
        return html
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy(html)}">{REFERRER}'
    return html[: head.end()] + meta + html[head.end() :]


def policy(html: str) -> str:
    """The page's policy, allowing exactly the inline scripts it has, by hash."""
    hashes = sorted(
        {
            _hash(found["body"])
            for found in _SCRIPT.finditer(html)
            if "src=" not in found["attributes"]
            and not any(kind in found["attributes"] for kind in _DATA_TYPES)
        }
    )
    scripts = " ".join(["script-src 'self'", *(f"'{digest}'" for digest in hashes)])
    return "; ".join([POLICY[0], scripts, *POLICY[1:]])


@functools.lru_cache(256)
def _hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def refused_settings(config: Any) -> list[str]:
    """Settings that make a page fetch from, or report to, another origin."""
    problems = []
    extra = config.get("extra") or {}
    if extra.get("analytics"):
        problems.append(
            "extra.analytics would report every visit of every client to the analytics "
            "provider; remove it"
        )
    for setting in ("extra_javascript", "extra_css"):
        for item in config.get(setting) or []:
            url = str(getattr(item, "path", item))
            if _FOREIGN.match(url):
                problems.append(
                    f"{setting} entry {url!r} loads from another origin; copy the file into "
                    "the site's docs folder and name it by a relative path"
                )
    if config.get("repo_url"):
        problems.append(
            "repo_url makes the theme fetch the repository's facts from its host on every "
            "page view; remove it"
        )
    theme = config.get("theme")
    for name in ("logo", "favicon"):
        value = theme.get(name) if theme is not None else None
        if isinstance(value, str) and _FOREIGN.match(value):
            problems.append(f"theme.{name} {value!r} loads from another origin; use a local file")
    return problems
