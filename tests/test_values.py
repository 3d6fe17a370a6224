"""What staff typed is what the client reads: every text field, tricky scalars, the page.

YAML 1.1 (PyYAML's loaders) reads ``0123`` as 83, ``12:30`` as 750, ``1_000`` as 1000,
``+4420`` as 4420 and ``NO``/``on`` as booleans. Case files are read the YAML 1.2 way and
text fields take the scalar's source text; these tests walk the model's text fields, type
each kind of value into every one of them unquoted, build, and read the decrypted page.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests import sealed
from tests.conftest import Project
from tests.model_walk import has, leaves, set_at, to_yaml

#: Text fields that never reach the client's page, and why.
NOT_ON_PAGE = {
    "language": "chooses the page's language; not shown",
    "documents[].file": "a path that must exist; the page shows the title",
    "not_secrets": "staff only",
    "internal.reason": "staff only",
    "internal.segment": "staff only",
    "internal.notes": "staff only",
    # Shown instead of the greeting made from client.contact, which this case types into;
    # tests/test_next_steps.py shows a salutation exactly as written.
    "client.salutation": "replaces the greeting with client.contact",
}

TEXT = "TEXT"
#: A case with every field the page shows; ``TEXT`` marks where each test types its value.
BASE: dict[str, Any] = {
    "client": {"name": TEXT, "contact": TEXT, "email": "client@example.com"},
    "language": "en",
    "service_end": "2026-12-31",
    "deletion_date": "2027-01-31",
    "message": TEXT,
    "achievements": [TEXT],
    "services": [
        {
            "name": TEXT,
            "period": TEXT,
            "summary": TEXT,
            "outcome": TEXT,
            "status": "continues",
            "until": "2027-01-15",
        }
    ],
    "documents": [
        {
            "title": TEXT,
            "url": "https://files.example.com/a",
            "category": TEXT,
            "available_until": "2027-01-15",
            "retain_until": "2030-12-31",
            "retention_basis": TEXT,
        }
    ],
    "accounts": [
        {"system": TEXT, "action": "transfer-to-you", "by": "2026-12-20", "steps": [TEXT]}
    ],
    "contacts": [{"name": TEXT, "role": TEXT, "email": "c@firm.example", "phone": TEXT}],
    "invoices": [
        {
            "number": TEXT,
            "amount": "1250.50",
            "currency": "EUR",
            "due": "2026-12-20",
            "status": "open",
            "payment": {"iban": "DE89370400440532013000", "recipient": TEXT, "message": TEXT},
        }
    ],
    "support": {"what": TEXT, "price": TEXT, "until": "2027-06-30"},
    "successor": {"name": TEXT, "contact": TEXT, "received": [TEXT]},
    "feedback": {"url": "https://survey.example.com/exit"},
    "acknowledged": {"date": "2026-12-02", "name": TEXT},
}

TEXT_FIELDS = [leaf.name for leaf in leaves() if leaf.kind == "text"]
ON_PAGE = [name for name in TEXT_FIELDS if name not in NOT_ON_PAGE]

#: Values that differ per field (so each can be found on the page): what YAML 1.1 made of
#: them in the comment.
FAMILIES: dict[str, Callable[[int], str]] = {
    "octal": lambda i: f"0{100 + i}",  # 0100 -> 64
    "base-60": lambda i: f"{10 + i}:30",  # 12:30 -> 750
    "underscore": lambda i: f"1_{i:03d}",  # 1_000 -> 1000
    "hex": lambda i: f"0x{16 + i:X}",  # 0x1F -> 31
    "plus": lambda i: f"+44{20 + i}",  # +4420 -> 4420
    "phone": lambda i: f"+44{20 + i} 7946 0{i:03d}",
    "trailing-zero": lambda i: f"{i}.50",  # 1.50 -> 1.5
    "exponent": lambda i: f"{i + 1}e3",  # YAML 1.2: a float, 1000.0
    "octal-yaml12": lambda i: f"0o{10 + i}",  # YAML 1.2: octal
    "leading-zeros": lambda i: f"00{i}",
    "date-like": lambda i: f"2026-01-{i + 1:02d}",  # 1.1: a date object
}
#: Words both YAML versions resolve to something other than text (booleans, infinities).
WORDS = [
    *("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"),
    *("y", "Y", "n", "N", "true", "True", "TRUE", "false", "False", "FALSE"),
    *(".inf", "-.Inf", ".NaN", "-0", "+0"),
]


def case_with(value_for: Callable[[int, str], str]) -> str:
    data = copy.deepcopy(BASE)
    for index, name in enumerate(ON_PAGE):
        value = value_for(index, name)
        set_at(data, name, [value] if name in LIST_FIELDS else value)
    return to_yaml(data) + "\n"


LIST_FIELDS = {leaf.name for leaf in leaves() if leaf.is_list}


def shown(value: str) -> re.Pattern[str]:
    """``value`` on the page as a whole token (not inside a longer number or word)."""
    return re.compile(rf"(?<![\w.+:-]){re.escape(html.escape(value, quote=False))}(?![\w.:-])")


def _by_index(make: Callable[[int], str], index: int, _name: str) -> str:
    return make(index)


def _word(offset: int, index: int, _name: str) -> str:
    return WORDS[(index + offset) % len(WORDS)]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One build: a case per family, two with the words spread over the fields, a control."""
    project = Project(tmp_path_factory.mktemp("values"))
    for family, make in FAMILIES.items():
        project.write_case(family, case_with(functools.partial(_by_index, make)))
    for shift, case_id in enumerate(("words-a", "words-b")):
        project.write_case(case_id, case_with(functools.partial(_word, shift * 11)))
    project.write_case("control", case_with(lambda index, _name: f"Plain text {index}"))
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    ids = [*FAMILIES, "words-a", "words-b", "control"]
    return {case_id: sealed.open_page(project.site, case_id)[0] for case_id in ids}


def test_the_base_case_covers_every_text_field_of_the_model() -> None:
    """A new text field must be typed into here (or listed as not on the page)."""
    assert set(NOT_ON_PAGE) <= set(TEXT_FIELDS)
    assert [name for name in ON_PAGE if not has(BASE, name)] == []
    assert len(ON_PAGE) == 25


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_text_field_shows_the_value_as_typed(pages: dict[str, str], family: str) -> None:
    page = pages[family]
    missing = [
        f"{name}: {FAMILIES[family](index)}"
        for index, name in enumerate(ON_PAGE)
        if not shown(FAMILIES[family](index)).search(page)
    ]
    assert missing == []


@pytest.mark.parametrize("case_id", ["words-a", "words-b"])
def test_yes_no_on_off_and_infinities_stay_words(pages: dict[str, str], case_id: str) -> None:
    """Each word appears on the page at least once per field it was typed into, beyond
    what the same page with plain text in those fields has of it (template wording)."""
    offset = 0 if case_id == "words-a" else 11
    typed: dict[str, int] = {}
    for index in range(len(ON_PAGE)):
        word = WORDS[(index + offset) % len(WORDS)]
        typed[word] = typed.get(word, 0) + 1
    short = {
        word: (len(shown(word).findall(pages[case_id])), len(shown(word).findall(pages["control"])))
        for word, count in typed.items()
        if len(shown(word).findall(pages[case_id])) - len(shown(word).findall(pages["control"]))
        < count
    }
    assert short == {}


def test_the_values_of_the_issue_reach_the_page_verbatim(project: Project) -> None:
    """The values named in the report, in the fields staff type them into."""
    project.write_case(
        "acme",
        """
        client: {name: NO, contact: on}
        service_end: 2026-12-31
        achievements: [0123, 1_000, 0x1F, 12:30]
        contacts:
          - {name: Petr Svoboda, phone: +4420 7946 0000}
        support: {what: Opening hours 12:30, price: 1_000}
        """,
    )
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0, result.output
    page = sealed.open_page(project.site, "acme")[0]
    for value in ["NO", "on", "0123", "1_000", "0x1F", "12:30", "+4420 7946 0000"]:
        assert shown(value).search(page), value
    for damaged in ["83", "750", "4420"]:
        assert not shown(damaged).search(page), damaged
