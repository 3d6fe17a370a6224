"""handover: a private web page for every departing client of a service firm.

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

__version__ = "0.1.0"
