"""Issue #12 without a browser: who acts, payment details and QR codes, regional locales,
the salutation, and wording that follows tense and the legal hold."""

from __future__ import annotations

import textwrap

import icalendar

from handover.model import Invoice
from handover.rendering import payment_code, spayd
from tests import sealed
from tests.conftest import Project

CASE = """
    client:
      name: Acme s.r.o.
      salutation: Vážená paní Malá,
    language: cs
    service_end: 2026-12-31
    contacts:
      - name: Petr Svoboda
        email: petr@firm.example
    documents:
      - title: Mzdy
        file: documents/mzdy.csv
        available_until: 2026-12-10
    accounts:
      - system: Banka
        action: revoke-our-access
        by: 2026-12-20
        steps:
          - Odeberte uživatele `firma`.
          - text: Pošleme Vám výpis.
            who: we
          - text: Od ledna chodí výpisy jen Vám.
            who: fact
    invoices:
      - number: "2026-9"
        amount: 1210.5
        currency: CZK
        due: 2026-12-15
        status: open
        payment:
          iban: CZ65 0800 0000 1920 0014 5399
          reference: "20269"
"""
FILES = {"documents/mzdy.csv": b"a\n1\n"}


def build(project: Project, case: str = CASE, today: str = "2026-12-01") -> str:
    project.write_case("acme", case, FILES)
    result = project.run("build", "--today", today)
    assert result.exit_code == 0, result.output
    return sealed.open_page(project.site, "acme")[0]


def test_next_steps_panel_comes_first_with_the_soonest_actions(project: Project) -> None:
    html = build(project)
    panel = html[html.index('<section class="handover-next"') : html.index("</section>")]
    assert html.index('<section class="handover-next"') < html.index(
        '<details class="handover-toc">'
    )
    items = panel.split('<li class="handover-next__item"')[1:]
    assert [item.split('data-next-kind="')[1].split('"')[0] for item in items] == [
        "download",
        "invoice",
        "account",
        "receipt",
    ]
    assert "Poslední den ke stažení: Mzdy" in items[0]
    assert '<span class="handover-days" data-day="2026-12-10"></span>' in items[0], (
        "how many days are left is worded by the browser, for the reader's day"
    )
    assert " hidden>" in items[3], "only the first three show without the script"


def test_only_the_clients_own_steps_have_a_checkbox(project: Project) -> None:
    html = build(project)
    assert html.count('<input type="checkbox"') == 1
    assert '<label for="handover-step-' in html
    assert 'Zajistíme my</span> <span class="handover-step__text">Pošleme Vám výpis.' in html
    assert "Pro informaci</span>" in html
    assert "Náš přístup končí" in html


def test_salutation_is_printed_as_written_and_the_default_has_no_name(project: Project) -> None:
    assert '<p class="handover-salutation">Vážená paní Malá,</p>' in build(project)
    html = build(project, CASE.replace("      salutation: Vážená paní Malá,\n", ""))
    assert '<p class="handover-salutation">Vážená paní, vážený pane,</p>' in html
    assert "S pozdravem<br>Petr Svoboda<br>" in html


def test_payment_details_and_a_qr_code_inline_without_style_or_script(project: Project) -> None:
    html = build(project)
    block = html[html.index('<div class="handover-payment">') :]
    block = block[: block.index("</figure>")]
    assert "<code>CZ65 0800 0000 1920 0014 5399</code>" in block
    assert "<code>20269</code>" in block
    assert "<svg " in block and "<path " in block
    assert "style=" not in block and "<script" not in block and "href=" not in block


def test_spayd_payload_follows_the_specification() -> None:
    invoice = Invoice.model_validate(
        {
            "number": "2026-9",
            "amount": 1210.5,
            "currency": "CZK",
            "due": "2026-12-15",
            "status": "open",
            "payment": {"iban": "CZ65 0800 0000 1920 0014 5399", "reference": "20269"},
        }
    )
    assert spayd(invoice, "CZ6508000000192000145399", "Firma*s.r.o.") == (
        "SPD*1.0*ACC:CZ6508000000192000145399*AM:1210.50*CC:CZK*DT:20261215*X-VS:20269"
        "*RN:Firma%2As.r.o.*MSG:2026-9"
    )
    assert payment_code(invoice, "Firma") is not None
    paid = invoice.model_copy(update={"status": "paid"})
    assert payment_code(paid, "Firma") is None, "no QR code for a paid invoice"
    pln = invoice.model_copy(update={"currency": "PLN"})
    assert payment_code(pln, "Firma") is None, "no standard QR payload for PLN"


def test_calendar_has_the_invoice_due_date_and_plain_text(project: Project) -> None:
    build(project)
    _, files = sealed.open_page(project.site, "acme")
    (href,) = [h for h in files if h.endswith(".ics")]
    calendar = icalendar.Calendar.from_ical(sealed.open_file(project.site, "acme", href))
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert "Splatnost: faktura 2026-9" in events
    assert str(events["Termín: Banka"]["description"]) == "Odeberte uživatele firma."


def test_a_regional_locale_formats_by_region_with_the_base_wording(project: Project) -> None:
    case = textwrap.dedent(CASE).replace("language: cs", "language: en-GB")
    html = build(project, case)
    assert "31 December 2026" in html and "December 31, 2026" not in html
    assert "Last day to download: Mzdy" in html


def test_an_unknown_region_is_refused_with_its_line(project: Project) -> None:
    project.write_case("acme", CASE.replace("language: cs", "language: xx-YY"), FILES)
    result = project.run("validate")
    assert result.exit_code == 1
    assert "cases/acme/case.yaml:4: language: no page templates in 'xx-YY'" in result.output


def test_a_step_worded_for_the_firm_but_left_to_the_client_is_warned_about(
    project: Project,
) -> None:
    case = CASE.replace(
        "          - Odeberte uživatele `firma`.", "          - Zrušíme náš přístup."
    )
    project.write_case("acme", case, FILES)
    warning = (
        "cases/acme/case.yaml:18: accounts[0].steps[0]: reads as the firm's step, yet the "
        "client gets a checkbox for it"
    )
    result = project.run("build", "--today", "2026-12-01")
    assert result.exit_code == 0
    assert warning in result.output
    with project.config.open("a", encoding="utf-8") as config:
        config.write("# every page is built again, the case comes from the cache\n")
    result = project.run("build", "--today", "2026-12-01")
    assert "Built 1 client page" in result.output
    assert warning in result.output, "the warning is kept with the validated case"


def test_service_and_account_badges_follow_the_tense(project: Project) -> None:
    case = CASE + textwrap.indent(
        textwrap.dedent("""
        services:
          - name: Mzdy
            status: ended
          - name: Účetnictví
            status: transferred
            until: 2026-11-15
        """),
        "    ",
    )
    html = build(project, case)
    assert "Končí 31.\xa0prosince 2026" in html, "a service still running is not 'ended'"
    assert "Předáno 15.\xa0listopadu 2026" in html
