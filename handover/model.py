"""Stage 2: the case model. Every field of ``case.yaml`` is declared here, once.

The JSON Schema (``handover schema``), the validation messages, docs/cases.md's field
reference (kept honest by ``tests/test_docs.py``) and the templates all follow from
these classes. Field descriptions are written for the staff who edit cases.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

CLIENT_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def _iso_date(value: Any) -> dt.date:
    """Accept a YAML date or an ISO ``YYYY-MM-DD`` string; nothing looser (no timestamps)."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("iso_date", "must be a date written YYYY-MM-DD, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("iso_date", "must be a real date written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Markdown = Annotated[str, StringConstraints(min_length=1)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
]
WebUrl = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://[^\s<>\"]+$")]

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
    name: Text = Field(description="The client's name as it appears on the page.")
    contact: Text | None = Field(None, description="The person the page addresses.")
    email: Email | None = Field(None, description="The contact's e-mail address.")
    salutation: Text | None = Field(
        None,
        description="The greeting, printed as written (e.g. Vážená paní Nováková, or Sehr "
        "geehrte Frau Hoffmann); default: the language's formal greeting without a name.",
    )


class Service(CaseModel):
    name: Text = Field(description="What the service was, in a few words.")
    period: Text | None = Field(None, description="When it ran, free text (2019-01 – 2026-12).")
    summary: Text | None = Field(None, description="One sentence on what it covered.")
    outcome: Text | None = Field(None, description="What it achieved for the client.")
    status: ServiceStatus = Field(
        description="ended, transferred (to a successor) or continues (until `until`)."
    )
    until: IsoDate | None = Field(
        None, description="Date a transferred or continuing service stops."
    )


class Document(CaseModel):
    title: Text = Field(description="What the client sees in the documents list.")
    file: Text | None = Field(
        None, description="Path of the file, relative to the case folder. Give `file` or `url`."
    )
    url: WebUrl | None = Field(
        None, description="Link to a file kept elsewhere, instead of `file`."
    )
    category: Text | None = Field(None, description="Heading the document is grouped under.")
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
    system: Text = Field(description="The system, portal or login concerned.")
    action: AccountAction = Field(
        description="revoke-our-access, transfer-to-you, closed or stays-with-you."
    )
    by: IsoDate | None = Field(None, description="Deadline for the steps.")
    done: bool = Field(
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
    name: Text = Field(description="Who to ask until the end of service.")
    role: Text | None = Field(None, description="Their role at the firm.")
    email: Email | None = Field(None, description="Their e-mail address.")
    phone: Text | None = Field(None, description="Their phone number.")


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
    number: Text = Field(description="Invoice number as printed on it.")
    amount: Annotated[float, Field(ge=0)] = Field(description="Amount, e.g. 1250.50.")
    currency: Currency = Field(description="ISO 4217 code, e.g. EUR, CZK.")
    due: IsoDate = Field(description="Due date.")
    status: Literal["open", "paid"] = Field(description="open or paid; open ones are highlighted.")
    url: WebUrl | None = Field(None, description="Where to view or pay it.")
    payment: Payment | None = Field(
        None, description="Payment details shown next to an open invoice, with a QR code."
    )


class Support(CaseModel):
    what: Markdown = Field(description="The paid support offered after the end, Markdown.")
    price: Text = Field(description="Its price, as it should read, e.g. 90 EUR per hour.")
    until: IsoDate | None = Field(None, description="Last day the offer stands.")
    email: Email | None = Field(None, description="Where to ask for it; default: the firm.")


class Successor(CaseModel):
    name: Text = Field(description="The new provider.")
    contact: Text | None = Field(None, description="The person there.")
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
    name: Text = Field(description="Who confirmed it.")


class Internal(BaseModel):
    """Staff-only notes. Never rendered and never copied into the site; free-form beyond these."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    reason: Text | None = Field(None, description="Why the client left (for staff reports).")
    segment: Text | None = Field(None, description="Client segment (for staff reports).")
    revenue: float | None = Field(None, description="Yearly revenue lost (for staff reports).")
    notes: str | None = Field(None, description="Anything else staff want to remember.")


class Case(CaseModel):
    """One departing client: ``cases/<client-id>/case.yaml``."""

    client: Client = Field(description="Who is leaving.")
    language: Text | None = Field(
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
    legal_hold: bool = Field(
        False, description="true stops every deletion (litigation, audit); the page says so."
    )
    message: Markdown | None = Field(None, description="Personal thank-you note, Markdown.")
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
