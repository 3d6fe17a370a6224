"""Who acts on an account step: warnings where a step's wording and its owner disagree.

A step is the client's (``who: you``, the default for a plain string), the firm's
(``we``) or a fact. A checkbox is offered only for the client's own steps, so a firm's
step left as a plain string would ask the client to tick what the firm does. The wording
tells only sometimes; these checks look at the few cues that are reliable in the
languages the package ships (a sentence starting with "we", a "please"), and say nothing
otherwise.
"""

from __future__ import annotations

import re

from handover.problems import Problem
from handover.rendering import base_language
from handover.validation import ClientCase, problems_in_case

#: A step starting like this is something the firm does: "We send …", "Wir senden …".
FIRM_ACTS = {
    "en": r"^(we|our team)\b",
    "de": r"^wir\b",
    "cs": r"^(my\s|\S+(íme|áme|eme)\b)",
    "pl": r"^(my\s|\S+(emy|imy|amy|ymy)\b)",
    "ru": r"^мы\b",
    "vi": r"^chúng tôi\b",
}
#: A step with one of these words asks the client to act: "Please remove …", "Bitte …".
CLIENT_ACTS = {
    "en": r"\bplease\b",
    "de": r"\bbitte\b",
    "cs": r"\bprosím\b",
    "pl": r"\bproszę\b",
    "ru": r"\bпожалуйста\b",
    "vi": r"\bvui lòng\b",
}


def step_warnings(case: ClientCase) -> list[Problem]:
    """A warning, with file and line, for each step whose wording says someone else acts."""
    language = base_language(case.language)
    firm, client = FIRM_ACTS.get(language), CLIENT_ACTS.get(language)
    found: list[tuple[tuple[str | int, ...], str]] = []
    for a, account in enumerate(case.case.accounts):
        for s, step in enumerate(account.step_items):
            text = step.text.strip().lower()
            path: tuple[str | int, ...] = ("accounts", a, "steps", s)
            if step.who == "you" and firm and re.search(firm, text):
                found.append(
                    (
                        path,
                        "reads as the firm's step, yet the client gets a checkbox for it; "
                        "write it as `{text: ..., who: we}`",
                    )
                )
            elif step.who != "you" and client and re.search(client, text):
                found.append(
                    (
                        path,
                        f"asks the client to act, yet `who: {step.who}` shows no checkbox; "
                        "use `who: you`",
                    )
                )
    return problems_in_case(case, found)
