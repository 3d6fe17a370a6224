"""handover: a private web page for every departing client of a service firm.

The pipeline, one module per stage:

    loading   YAML file -> plain data + the line of every node
    model     plain data -> typed ``Case`` (pydantic; the one place fields are declared)
    checks    rules that span fields or touch the disk (dates, files)
    cases     the three above for a whole ``cases/`` folder -> ``ClientCase`` list or problems
    rendering ``ClientCase`` -> Markdown through the Jinja templates in ``site_templates/``
    plugin    MkDocs plugin: generated pages and files go into the MkDocs build
    building  one safe build: validate, build elsewhere, swap into place
"""

__version__ = "0.1.0"
