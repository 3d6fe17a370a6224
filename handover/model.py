"""Stage 2: the case model. Every field of ``case.yaml`` is declared here, once.

The JSON Schema (``handover schema``), the validation messages, docs/cases.md's field
reference (kept honest by ``tests/test_docs.py``) and the templates all follow from
these classes. Field descriptions are written for the staff who edit cases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

CLIENT_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

#: Dates a case can hold. Wider than any real handover, narrow enough that no date
#: arithmetic (deletion = service end + retention days, a year of reminders) overflows.
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)

#: Length limits of free text, in characters: tight for what reads as a title or a name,
#: generous for what reads as a letter. A pasted blob is refused with file and line
#: instead of stalling every build (Markdown rendering is not linear in the input).
NAME_CHARS = 200
LINE_CHARS = 500
SENTENCE_CHARS = 2_000
STEP_CHARS = 4_000
MESSAGE_CHARS = 10_000
NOTES_CHARS = 50_000

#: The largest amount an invoice can state; also what keeps formatting exact and cheap.
MAX_AMOUNT = Decimal("999999999999.99")


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> dt.date:
    """An ISO ``YYYY-MM-DD`` date between ``FIRST_DAY`` and ``LAST_DAY``; nothing looser
    (no timestamps, no 1. 2. 2026). YAML's own dates are accepted from Python callers."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("iso_date", "must be a date written YYYY-MM-DD, without a time")
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        with contextlib.suppress(ValueError):  # 2026-02-30: not a real day
            value = dt.date.fromisoformat(value)
    if not isinstance(value, dt.date):
        raise PydanticCustomError(
            "iso_date", "must be a real date written YYYY-MM-DD, e.g. 2026-12-31"
        )
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError(
            "date_range",
            "{day} is out of range: dates must lie between {first} and {last}",
            {
                "day": value.isoformat(),
                "first": FIRST_DAY.isoformat(),
                "last": LAST_DAY.isoformat(),
            },
        )
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

#: Invisible characters that reorder the text around them (Unicode's explicit direction
#: embeddings, overrides and isolates): a pasted one can make a name, an e-mail address or
#: a sentence read differently from what it is. None of the page languages needs them.
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
LINE_BREAKS = re.compile("[\r\n\u2028\u2029\x85]")


def _shown_as_written(value: str) -> str:
    found = DIRECTION_CONTROLS.search(value)
    if found:
        raise PydanticCustomError(
            "direction_control",
            "holds an invisible direction control (U+{code}) that would show the text around "
            "it in another order; delete it",
            {"code": f"{ord(found.group()):04X}"},
        )
    return value


def _one_line(value: str) -> str:
    if LINE_BREAKS.search(value):
        raise PydanticCustomError("one_line", "must be one line (it holds a line break)")
    return _shown_as_written(value)


#: A name or title: one line.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_CHARS),
    AfterValidator(_one_line),
]
#: A short line of text: a period, a price, a phone number, a file path.
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LINE_CHARS),
    AfterValidator(_one_line),
]
#: A sentence or two.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=SENTENCE_CHARS),
    AfterValidator(_shown_as_written),
]


class MarkdownText:
    """Marks a text type that staff write as Markdown: it is converted and sanitised
    (``handover.sanitising``); every other text is shown exactly as written."""

    def __repr__(self) -> str:
        return "MARKDOWN"


MARKDOWN = MarkdownText()
#: Markdown of one account step or offer.
Markdown = Annotated[
    str,
    StringConstraints(min_length=1, max_length=STEP_CHARS),
    AfterValidator(_shown_as_written),
    MARKDOWN,
]
#: Markdown of a letter: the personal message.
Letter = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MESSAGE_CHARS),
    AfterValidator(_shown_as_written),
    MARKDOWN,
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        # Letters, digits and . _ + ' - only: nothing that would add to a mailto: link
        # (?, &, %, #) or break out of it.
        pattern=r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$",
    ),
]
WebUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2_000, pattern=r"^https?://[^\s<>\"]+$"),
]
Amount = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False, decimal_places=4),
]

AccessMode = Literal["link", "passphrase", "link+passphrase"]
ServiceStatus = Literal["ended", "transferred", "continues"]
AccountAction = Literal["revoke-our-access", "transfer-to-you", "closed", "stays-with-you"]
StepOwner = Literal["you", "we", "fact"]
Iban = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{11,36}$")
]


class CaseModel(BaseModel):
    """Unknown keys are errors: a typo must never silently drop what staff wrote."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Client(CaseModel):
    name: Name = Field(description="The client's name as it appears on the page.")
    contact: Name | None = Field(
        None,
        description="The person who receives the handover: named on the printed receipt. "
        "The greeting is `salutation`.",
    )
    email: Email | None = Field(None, description="The contact's e-mail address.")
    salutation: Text | None = Field(
        None,
        description="The greeting, printed as written (e.g. Vážená paní Nováková, or Sehr "
        "geehrte Frau Hoffmann); default: the language's formal greeting without a name.",
    )


class Service(CaseModel):
    name: Name = Field(description="What the service was, in a few words.")
    period: Line | None = Field(None, description="When it ran, free text (2019-01 – 2026-12).")
    summary: Text | None = Field(None, description="One sentence on what it covered.")
    outcome: Text | None = Field(None, description="What it achieved for the client.")
    status: ServiceStatus = Field(
        description="ended, transferred (to a successor) or continues (until `until`)."
    )
    until: IsoDate | None = Field(
        None, description="Date a transferred or continuing service stops."
    )


class Document(CaseModel):
    title: Name = Field(description="What the client sees in the documents list.")
    file: Line | None = Field(
        None, description="Path of the file, relative to the case folder. Give `file` or `url`."
    )
    url: WebUrl | None = Field(
        None, description="Link to a file kept elsewhere, instead of `file`."
    )
    category: Name | None = Field(None, description="Heading the document is grouped under.")
    available_until: IsoDate | None = Field(
        None, description="Last day it can be downloaded; default: the deletion date."
    )
    retain_until: IsoDate | None = Field(
        None,
        description="The firm must keep its copy until this day (not before the deletion date).",
    )
    retention_basis: Text | None = Field(
        None, description="Why it is kept, e.g. the statutory 10-year bookkeeping duty."
    )
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        None,
        description="SHA-256 of the file (`handover add-document` writes it). Required for a "
        "file kept in the firm's document store instead of the case folder; the build "
        "fetches it by this hash and checks it.",
    )

    @model_validator(mode="after")
    def _file_or_url(self) -> Document:
        if (self.file is None) == (self.url is None):
            raise PydanticCustomError("file_or_url", "give exactly one of `file` or `url`")
        if (self.retain_until is None) != (self.retention_basis is None):
            raise PydanticCustomError(
                "retention_pair", "give `retain_until` and `retention_basis` together"
            )
        return self


class Step(CaseModel):
    """One step of an account handover, with who takes it."""

    text: Markdown = Field(description="The step, Markdown.")
    who: StepOwner = Field(
        "you",
        description="you (the client ticks it off), we (the firm does it) or fact "
        "(nothing to do, for information).",
    )
    id: Text | None = Field(
        None,
        description="Keeps the client's tick when the wording changes; default: derived from "
        "the account and the wording, so a reworded step loses its tick.",
    )


class Account(CaseModel):
    system: Name = Field(description="The system, portal or login concerned.")
    action: AccountAction = Field(
        description="revoke-our-access, transfer-to-you, closed or stays-with-you."
    )
    by: IsoDate | None = Field(None, description="Deadline for the steps.")
    done: StrictBool = Field(
        False,
        description="true once the handover of this account is complete: the page shows it "
        "done, and its deadline no longer counts as due or overdue.",
    )
    steps: list[Markdown | Step] = Field(
        default_factory=list,
        description="What to do, one per step: Markdown (a step for the client) or "
        "`{text, who, id}`.",
    )

    @property
    def step_items(self) -> list[Step]:
        """Every step as a ``Step``: a plain string is the client's own."""
        return [
            Step(text=step, who="you", id=None) if isinstance(step, str) else step
            for step in self.steps
        ]


class Contact(CaseModel):
    name: Name = Field(description="Who to ask until the end of service.")
    role: Name | None = Field(None, description="Their role at the firm.")
    email: Email | None = Field(None, description="Their e-mail address.")
    phone: Line | None = Field(None, description="Their phone number.")


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Payment(CaseModel):
    """How to pay an open invoice: a bank transfer, a payment page, or both."""

    iban: Iban | None = Field(None, description="Account to pay to (IBAN).")
    bic: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")] | None = Field(
        None, description="The bank's BIC (SWIFT), for payments from abroad."
    )
    recipient: Text | None = Field(None, description="Account holder; default: the firm.")
    reference: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")] | None = Field(
        None, description="Variable symbol (CZ, SK): up to 10 digits."
    )
    message: Text | None = Field(
        None, description="Payment reference or message for the recipient."
    )
    url: WebUrl | None = Field(None, description="A page where the invoice can be paid online.")

    @model_validator(mode="after")
    def _iban_or_url(self) -> Payment:
        if self.iban is None and self.url is None:
            raise PydanticCustomError("iban_or_url", "give `iban`, `url` or both")
        return self


class Invoice(CaseModel):
    number: Name = Field(description="Invoice number as printed on it.")
    amount: Amount = Field(
        description="Amount, e.g. 1250.50: at least 0, at most 999999999999.99, up to 4 decimals."
    )
    currency: Currency = Field(description="ISO 4217 code, e.g. EUR, CZK.")
    due: IsoDate = Field(description="Due date.")
    status: Literal["open", "paid"] = Field(description="open or paid; open ones are highlighted.")
    url: WebUrl | None = Field(None, description="Where to view or pay it.")
    payment: Payment | None = Field(
        None, description="Payment details shown next to an open invoice, with a QR code."
    )


class Support(CaseModel):
    what: Markdown = Field(description="The paid support offered after the end, Markdown.")
    price: Line = Field(description="Its price, as it should read, e.g. 90 EUR per hour.")
    until: IsoDate | None = Field(None, description="Last day the offer stands.")
    email: Email | None = Field(None, description="Where to ask for it; default: the firm.")


class Successor(CaseModel):
    name: Name = Field(description="The new provider.")
    contact: Name | None = Field(None, description="The person there.")
    email: Email | None = Field(None, description="Their e-mail address.")
    received: list[Text] = Field(
        default_factory=list, description="What was handed over to them, one item per line."
    )


class Feedback(CaseModel):
    url: WebUrl | None = Field(None, description="Address of an exit survey.")
    email: Email | None = Field(None, description="Or an address for a pre-filled e-mail.")

    @model_validator(mode="after")
    def _url_or_email(self) -> Feedback:
        if (self.url is None) == (self.email is None):
            raise PydanticCustomError("url_or_email", "give exactly one of `url` or `email`")
        return self


class Acknowledged(CaseModel):
    date: IsoDate = Field(description="When the client confirmed receipt.")
    name: Name = Field(description="Who confirmed it.")


class Internal(BaseModel):
    """Staff-only notes. Never rendered and never copied into the site; free-form beyond these."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    reason: Name | None = Field(None, description="Why the client left (for staff reports).")
    segment: Name | None = Field(None, description="Client segment (for staff reports).")
    revenue: Annotated[float, Field(ge=0, le=float(MAX_AMOUNT), allow_inf_nan=False)] | None = (
        Field(None, description="Yearly revenue lost (for staff reports).")
    )
    notes: Annotated[str, StringConstraints(max_length=NOTES_CHARS)] | None = Field(
        None, description="Anything else staff want to remember."
    )


class Case(CaseModel):
    """One departing client: ``cases/<client-id>/case.yaml``."""

    client: Client = Field(description="Who is leaving.")
    language: Name | None = Field(
        None, description="Language of the page (BCP-47, e.g. cs); default from mkdocs.yml."
    )
    service_end: IsoDate = Field(description="Last day of service.")
    retention_days: Annotated[int, Field(ge=0, le=3650)] | None = Field(
        None, description="Days after service_end until deletion; default from mkdocs.yml (30)."
    )
    deletion_date: IsoDate | None = Field(
        None, description="Day every copy of the data is deleted; overrides retention_days."
    )
    access: AccessMode | None = Field(
        None,
        description="How the client opens the page: link (key in the link), passphrase, "
        "or link+passphrase (both); default from mkdocs.yml (passphrase).",
    )
    key_version: Annotated[int, Field(ge=1)] = Field(
        1, description="Raise by one to replace this client's link, key and passphrase."
    )
    legal_hold: StrictBool = Field(
        False, description="true stops every deletion (litigation, audit); the page says so."
    )
    message: Letter | None = Field(None, description="Personal thank-you note, Markdown.")
    achievements: list[Text] = Field(
        default_factory=list, description="Short list of results achieved together."
    )
    services: list[Service] = Field(default_factory=list, description="What the firm did.")
    documents: list[Document] = Field(
        default_factory=list, description="What the client downloads."
    )
    accounts: list[Account] = Field(
        default_factory=list, description="Account and access handover."
    )
    contacts: list[Contact] = Field(default_factory=list, description="Who to ask until the end.")
    invoices: list[Invoice] = Field(default_factory=list, description="Final and open invoices.")
    support: Support | None = Field(None, description="A paid support offer after the end.")
    successor: Successor | None = Field(None, description="The provider the files went to.")
    feedback: Feedback | None = Field(None, description="How to give feedback on leaving.")
    receipt_url: WebUrl | None = Field(
        None,
        description="A form the firm uses for confirmations, offered besides the e-mail "
        "confirmation.",
    )
    acknowledged: Acknowledged | None = Field(
        None, description="Staff record here when the client confirmed receipt."
    )
    not_secrets: list[Text] = Field(
        default_factory=list,
        description="STAFF ONLY: values reviewed by staff and known not to be credentials; "
        "the secret scanner lets these exact values pass.",
    )
    internal: Internal | None = Field(None, description="STAFF ONLY; never published.")
