"""Secrets never reach a case: credentials are refused at file:line, look-alikes pass.

Fake credentials are joined from parts, so that this file never holds one whole and
secret scanners reading the repository do not trip over it.
"""

from __future__ import annotations

import json

import pytest

from handover.rendering import DEFAULT_TEMPLATES
from tests.conftest import REPO, Project

ADVICE = (
    "never put credentials in a case: describe in `steps` how the client sets their own, "
    "or if this value is not secret add it to `not_secrets:`"
)
RANDOM_KEY = "Kx9mP2vQ7w" + "R4tY8uZ3aB6cD1eF5gH0jL"
PRIVATE_KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


def case_with_step(step: str, *, extra: str = "") -> str:
    """A valid case whose second account step, on line 9, is ``step``."""
    return f"""
client:
  name: ACME
service_end: 2026-12-31
accounts:
  - system: Bank portal
    action: revoke-our-access
    steps:
      - Log in as administrator
      - {json.dumps(step, ensure_ascii=False)}
{extra}"""


def problems(project: Project) -> list[str]:
    result = project.run("validate")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output.splitlines()


SECRETS = [
    pytest.param("Log in with password: hunter2", "a password (after 'password:'", "hunter2"),
    pytest.param("pwd=Tr0ub4dor&3", "a password (after 'pwd='", "Tr0ub4dor&3"),
    pytest.param("**Password:** letmein", "a password (after 'Password:'", "letmein"),
    pytest.param("Heslo: Jaro2024!", "a password (after 'Heslo:'", "Jaro2024"),
    pytest.param("hasło: Wiosna#2026", "a password (after 'hasło:'", "Wiosna#2026"),
    pytest.param("Passwort: Sommer2025", "a password (after 'Passwort:'", "Sommer2025"),
    pytest.param("пароль: qwerty123", "a password (after 'пароль:'", "qwerty123"),
    pytest.param("mật khẩu: matkhau99", "a password (after 'mật khẩu:'", "matkhau99"),
    pytest.param("PIN: 4831", "a password (after 'PIN:'", "4831"),
    pytest.param(
        "-----BEGIN RSA " + f"PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----",
        "a private key",
        PRIVATE_KEY_BODY,
        id="pem-private-key",
    ),
    pytest.param(
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "-----END OPENSSH PRIVATE KEY-----",
        "a private key",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        id="openssh-private-key",
    ),
    pytest.param("AK" + "IAZ7QK4N2M8P3R5T6V", "an AWS access key id", "IAZ7QK4N2M8P3R5T6V"),
    pytest.param(
        "gh" + "p_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", "a GitHub token", "aB3dE5fG7hJ9kL1mN3p"
    ),
    pytest.param(
        "github" + "_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789",
        "a GitHub token",
        "11ABCDEFG0aBcDeFgHiJkL",
    ),
    pytest.param("gl" + "pat-xY7zAbC9dEfGh1JkLmNo", "a GitLab token", "xY7zAbC9dEfGh1JkLmNo"),
    pytest.param(
        "xo" + "xb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "a Slack token", "AbCdEfGhIjKlMnOp"
    ),
    pytest.param(
        "Post to https://hooks.slack.com/"
        + "services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX",
        "a Slack webhook",
        "aBcDeFgHiJkLmNoPqRsTuVwX",
    ),
    pytest.param(
        "sk" + "_live_51HbC2dE3fG4hI5jK6lM7nO8", "a Stripe key", "51HbC2dE3fG4hI5jK6lM7nO8"
    ),
    pytest.param(
        "rk" + "_live_51HbC2dE3fG4hI5jK6lM7nO8", "a Stripe key", "51HbC2dE3fG4hI5jK6lM7nO8"
    ),
    pytest.param(
        "AI" + "zaSyD3bX9q2Lk7Vw1Tz8Rm4Np6Qs0Uj5Yh2Ec",
        "a Google API key",
        "SyD3bX9q2Lk7Vw1Tz8Rm4Np6Qs0Uj5Yh2Ec",
    ),
    pytest.param(
        "sk" + "-proj-Ab3De5Gh7Jk9Lm1Np3Qr5St7Vw9Xy1Za3Bc5De7Fg9",
        "an API key",
        "Ab3De5Gh7Jk9Lm1Np3Qr5St7Vw9Xy1Za3Bc5De7Fg9",
    ),
    pytest.param(
        "ey" + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "a JSON Web Token",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        id="jwt",
    ),
    pytest.param(
        "SK" + "0123456789abcdef0123456789abcdef",
        "a Twilio API key",
        "0123456789abcdef0123456789abcdef",
    ),
    pytest.param(
        "SG" + ".aBcDeFgHiJkLmNoPqRsTuV.wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ01234",
        "a SendGrid API key",
        "wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ01234",
    ),
    pytest.param(
        "DefaultEndpointsProtocol=https;AccountName=acme;Account"
        + "Key=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net",
        "an Azure connection string key",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==",
        id="azure-connection-string",
    ),
    pytest.param(
        "Backups: https://admin:" + "S3cretPass@ftp.acme.example/backup",
        "a password in a URL",
        "S3cretPass",
    ),
    pytest.param(f"API key {RANDOM_KEY} for the shop", "a key or token", RANDOM_KEY),
    pytest.param(
        "Secret access key wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ9k2X",
        "a key or token",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9k2X",
    ),
]


@pytest.mark.parametrize(("step", "looks_like", "secret"), SECRETS)
def test_credential_is_refused_at_its_line_without_repeating_it(
    project: Project, step: str, looks_like: str, secret: str
) -> None:
    project.write_case("acme", case_with_step(step))
    lines = problems(project)
    assert lines[-1] == "1 problem found.", lines
    assert lines[0].startswith(
        f"cases/acme/case.yaml:9: accounts[0].steps[1]: looks like {looks_like}"
    )
    assert lines[0].endswith(ADVICE)
    assert secret not in "\n".join(lines)


INNOCENT = [
    "Pay the last invoice to CZ6508000000192000145399",
    "IBAN DE89370400440532013000 or GB82WEST12345698765432",
    "IBAN: CZ65 0800 0000 1920 0014 5399",
    "SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "Git commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "Ticket 123e4567-e89b-12d3-a456-426614174000",
    "By 2026-12-31, call +420 555 010 011 or write to jana.novakova@novak-stavby.example",
    "Download https://archive.example.com/novak-stavby/ucetni-archiv-2019-2022.zip",
    "Shared at https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view",
    "Sign in at https://user@portal.example.com/login",
    "See documents/2025/general-ledger-final-v2.pdf and Analytics-Export-2025-2026",
    "Files: SharePoint/Clients/Novak/Accounting2025/GeneralLedgerFinalV2Export2025",
    "Invoice FV-2026-000123, IČO 27082440, DIČ: CZ27082440",
    "Rechtsschutzversicherungsgesellschaften und Haftpflichtversicherungsbedingungen",
    "Office network notes: sk-bratislava-office-network-documentation-2024",
    "Change the password after the handover",
    "We remove our access; set a new password.",
    "Reset the Heslo via the portal",
    "Password: the client sets their own.",
    "Password: none",
    "Password: 12-character minimum, changed every 90 days",
    "Password: https://vault.acme.example/items/42",
    "password: ********",
    "Heslo: nastavíte si vlastní při prvním přihlášení",
    "Hasło konta `admin` przekażemy osobiście albo jednorazowym linkiem.",
    "Ändern Sie bitte das Passwort des Zugangs `agentur-deploy`.",
    "Пароль будет отправлен отдельно.",
    "Mật khẩu sẽ được gửi riêng.",
    "PIN kód nastaví klient sám; PIN: 12 číslic není třeba",
]


@pytest.mark.parametrize("step", INNOCENT)
def test_look_alike_passes(project: Project, step: str) -> None:
    project.write_case("acme", case_with_step(step))
    result = project.run("validate")
    assert result.exit_code == 0, result.output


def test_secret_under_internal_notes_is_refused(project: Project) -> None:
    project.write_case(
        "acme",
        """
        client: {name: ACME}
        service_end: 2026-12-31
        internal:
          reason: price
          notes: "Old admin login, pwd=Tr0ub4dor&3, ask Petr"
        """,
    )
    lines = problems(project)
    assert lines[0].startswith(
        "cases/acme/case.yaml:5: internal.notes: looks like a password (after 'pwd=', "
        "starts 'Tr0…'); never put credentials"
    )


def test_secret_in_a_multi_line_message_is_refused(project: Project) -> None:
    project.write_case(
        "acme",
        """
        client: {name: ACME}
        service_end: 2026-12-31
        message: |
          Thank you for six years of working together.

          The shop's Wi-Fi stays as it is:
          heslo: Jaro2024!
        """,
    )
    lines = problems(project)
    assert lines[0].startswith(
        "cases/acme/case.yaml:3: message: looks like a password (after 'heslo:', starts 'Ja…')"
    )
    assert "Jaro2024" not in "\n".join(lines)


def test_password_keys_under_internal_are_refused(project: Project) -> None:
    project.write_case(
        "acme",
        """
        client: {name: ACME}
        service_end: 2026-12-31
        internal:
          segment: retail
          password: hunter2
          bank_PIN: 4831
          wifi_heslo: ""
          router_password: n/a
        """,
    )
    lines = problems(project)
    assert lines[-1] == "2 problems found.", lines
    assert lines[0].startswith(
        "cases/acme/case.yaml:5: internal.password: looks like a password "
        "(under the key 'password', starts 'hu…')"
    )
    assert lines[1].startswith(
        "cases/acme/case.yaml:6: internal.bank_PIN: looks like a password "
        "(under the key 'bank_PIN', starts '4…')"
    )


def test_a_number_under_a_password_key_is_judged_as_written(project: Project) -> None:
    """``PIN: 0042`` is the PIN 0042 (YAML 1.2 reads it as 42): shown masked as written,
    and listing it as written under ``not_secrets`` lets it pass."""
    case = "client: {name: ACME}\nservice_end: 2026-12-31\ninternal: {door_pin: 004217}\n"
    project.write_case("acme", case)
    assert problems(project) == [
        "cases/acme/case.yaml:3: internal.door_pin: looks like a password (under the key "
        "'door_pin', starts '00…'); " + ADVICE,
        "1 problem found.",
    ]
    project.write_case("acme", case + "not_secrets: [004217]\n")
    assert project.run("validate").exit_code == 0


def test_a_key_that_is_a_token_is_not_repeated_in_the_field_path(project: Project) -> None:
    token = "gh" + "p_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    project.write_case(
        "acme",
        f"""
        client: {{name: ACME}}
        service_end: 2026-12-31
        internal:
          {token}: deploy key of the shop
        """,
    )
    lines = problems(project)
    assert lines[0].startswith("cases/acme/case.yaml:4: internal.ghp_…: looks like a GitHub token")
    assert token not in "\n".join(lines)


def test_a_reviewed_value_passes_via_not_secrets(project: Project) -> None:
    step = f"Quote the order reference {RANDOM_KEY} when you call"
    project.write_case("acme", case_with_step(step))
    assert any("looks like a key or token" in line for line in problems(project))

    project.write_case("acme", case_with_step(step, extra=f"not_secrets:\n  - {RANDOM_KEY}\n"))
    result = project.run("validate")
    assert result.exit_code == 0, result.output


def test_not_secrets_lets_only_the_listed_value_pass(project: Project) -> None:
    project.write_case(
        "acme",
        case_with_step(
            f"Reference {RANDOM_KEY}; password: hunter2",
            extra=f"not_secrets:\n  - {RANDOM_KEY}\n  - hunter\n",
        ),
    )
    lines = problems(project)
    assert lines[-1] == "1 problem found.", lines
    assert "(after 'password:'" in lines[0]


def test_validate_lists_every_problem_at_once_and_build_refuses(project: Project) -> None:
    project.write_case(
        "acme",
        """
        client: {name: ACME}
        service_end: 2026-12-31
        services:
          - name: Bookkeeping
            status: finished
        accounts:
          - system: Bank portal
            action: transfer-to-you
            steps:
              - "Heslo: Jaro2024!"
              - "PIN: 4831"
        internal:
          password: hunter2
        """,
    )
    lines = problems(project)
    assert lines[-1] == "4 problems found.", lines
    assert [": ".join(line.split(": ")[:2]) for line in lines[:-1]] == [
        "cases/acme/case.yaml:5: services[0].status",
        "cases/acme/case.yaml:10: accounts[0].steps[0]",
        "cases/acme/case.yaml:11: accounts[0].steps[1]",
        "cases/acme/case.yaml:13: internal.password",
    ]
    build = project.run("build")
    assert build.exit_code == 1
    assert "Traceback" not in build.output
    assert not project.site.exists()


def test_example_cases_have_no_false_alarms(project: Project) -> None:
    result = project.run("validate", "--cases", str(REPO / "cases"))
    assert result.exit_code == 0, result.output


def test_not_secrets_is_never_rendered() -> None:
    for path in [*(REPO / "site_templates").rglob("*"), *DEFAULT_TEMPLATES.rglob("*")]:
        if path.is_file():
            assert "not_secrets" not in path.read_text(encoding="utf-8", errors="ignore"), path
