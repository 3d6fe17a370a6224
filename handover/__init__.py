"""handover: a private web page for every departing client of a service firm.

Use it from Python as the CLI does::

    import handover

    portal = handover.open_portal(Path("mkdocs.yml"))
    result = handover.build(portal)          # validate, build, swap in; raises on problems
    for link in handover.client_links(portal):
        print(link.client_id, link.url)

The pipeline, one module per stage:

    loading      YAML file -> plain data + the line of every node (anchors refused)
    model        plain data -> typed ``Case`` (pydantic; the one place fields are declared)
    validation   rules that span fields or touch the disk (dates, files) -> ``ClientCase``
    scanning     credentials anywhere in a case -> problems
    deletions    the record ``handover purge`` keeps beside a case: files, places, days
    store        client documents outside git, by SHA-256; fetched and checked at build
    cases        the above for a whole ``cases/`` folder -> ``ClientCase`` list or problems
    rendering    ``ClientCase`` on a day -> ``PageView`` and Markdown via ``site_templates/``
    artifacts    manifests, ZIP and calendar of a page
    preparing    every page's view, artifacts and Markdown (HTML too), on every core
    plugin       MkDocs plugin: pages into the build, then sealed
    sealing      AES-256-GCM envelopes of pages and files; keys from ``keys``
    incremental  what changed since the last build
    building     one safe build: validate what changed, build beside the site, swap in

Around it: ``cli`` (arguments only), ``links``, ``deadlines``, ``reporting``,
``purging`` (every copy the tool controls), ``history`` (client documents in git),
``certificates``, ``serving``, ``scaffold``, ``reference`` (schema and docs).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The library API: what a script or a CI step needs, by name -> the module that has it.
#: Loaded on first use, so ``handover --help`` does not pay for MkDocs.
_API = {
    # A portal, its settings and its build.
    "open_portal": "building",
    "Portal": "building",
    "Settings": "settings",
    "validate": "building",
    "build": "building",
    "BuildResult": "building",
    "build_lock": "building",
    # What staff send and watch.
    "client_links": "links",
    "client_statuses": "deadlines",
    "due_within": "deadlines",
    "departure_report": "reporting",
    # Deletion and publishing.
    "plan_purge": "purging",
    "purge_portal": "purging",
    "publish": "publishing",
    "verify": "publishing",
    "last_verified_publish": "publishing",
    # New portals, cases and secrets.
    "init_portal": "scaffold",
    "PortalSettings": "scaffold",
    "new_case": "scaffold",
    "new_secret": "keys",
    "load_master_secret": "keys",
    # Every error a user can fix is a HandoverError (a click.ClickException).
    "HandoverError": "errors",
    "ProblemsFound": "problems",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'handover' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"handover.{_API[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
