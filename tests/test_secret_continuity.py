"""One secret everywhere (#10.5, #16.4, #9.5): a portal that was built never silently gets
a new secret, a foreign secret is stopped naming both identifiers, whitespace around a
secret does not matter, and only build/serve/new-secret may create one."""

from __future__ import annotations

from pathlib import Path

import pytest

from handover.keys import MasterSecret
from tests.conftest import TEST_SECRET, Project

OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def identifier(secret: str) -> str:
    return MasterSecret(secret.encode(), "test").identifier


@pytest.fixture
def local_secret(project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A portal whose secret lives in .handover/secret, as on a staff laptop."""
    monkeypatch.delenv("HANDOVER_SECRET")
    monkeypatch.delenv("CI", raising=False)
    return project


def test_first_build_creates_the_secret_and_records_its_identifier(
    local_secret: Project,
) -> None:
    result = local_secret.run("build")
    assert result.exit_code == 0, result.output
    handover = local_secret.root / ".handover"
    secret = (handover / "secret").read_text().strip()
    assert (handover / "secret-id").read_text() == identifier(secret) + "\n"
    assert (handover / "secret").stat().st_mode & 0o777 == 0o600
    assert (handover / ".gitignore").read_text() == "*\n!.gitignore\n!secret-id\n"
    assert "Created a new master secret" in result.stderr
    assert identifier(secret) in result.stderr


def test_a_built_portal_without_its_secret_fails_and_keeps_its_pages(
    local_secret: Project,
) -> None:
    assert local_secret.run("build").exit_code == 0
    handover = local_secret.root / ".handover"
    recorded = (handover / "secret-id").read_text().strip()
    published = sorted(p for p in local_secret.site.rglob("*"))
    (handover / "secret").unlink()
    for command in (["build"], ["links"], ["public-key"], ["serve", "-a", "127.0.0.1:0"]):
        result = local_secret.run(*command)
        assert result.exit_code == 1, command
        assert result.output == (
            "Error: no master secret found, but this portal has been built with one "
            f"(identifier {recorded}, .handover/secret-id): every link sent to a client "
            "depends on it. Set HANDOVER_SECRET (in CI: from the repository's secrets, see "
            f"README 'Publishing') or put the secret in {handover / 'secret'}. Only if it is "
            "lost for good, create a new one with 'handover new-secret' (every client then "
            "needs a new link).\n"
        ), command
    assert not (handover / "secret").exists()
    assert sorted(p for p in local_secret.site.rglob("*")) == published


def test_last_build_alone_is_enough_to_refuse_a_new_secret(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.run("build").exit_code == 0  # with $HANDOVER_SECRET
    (project.root / ".handover" / "secret-id").unlink()  # as in a portal built before it existed
    monkeypatch.delenv("HANDOVER_SECRET")
    monkeypatch.delenv("CI", raising=False)
    result = project.run("build")
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: no master secret found, but this portal has been built with one: every link"
    )
    assert not (project.root / ".handover" / "secret").exists()


def test_the_first_build_with_a_given_secret_records_its_identifier(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handover.keys import MasterSecret
    from tests.conftest import TEST_SECRET

    assert project.run("build").exit_code == 0
    identifier = MasterSecret(TEST_SECRET.encode(), "test").identifier
    assert (project.root / ".handover" / "secret-id").read_text() == identifier + "\n"
    monkeypatch.setenv("HANDOVER_SECRET", "another-secret-of-enough-length-for-the-check")
    result = project.run("links")
    assert result.exit_code == 1
    assert f"(identifier {identifier}, recorded in .handover/secret-id)" in result.output


def test_commands_that_only_read_never_create_a_secret(local_secret: Project) -> None:
    for command in (["links"], ["public-key"]):
        result = local_secret.run(*command)
        assert result.exit_code == 1
        assert result.output.startswith("Error: no master secret found. Set HANDOVER_SECRET")
    assert not (local_secret.root / ".handover" / "secret").exists()


def test_new_secret_creates_one_and_refuses_to_replace_it(local_secret: Project) -> None:
    first = local_secret.run("new-secret")
    assert first.exit_code == 0, first.output
    secret = (local_secret.root / ".handover" / "secret").read_text().strip()
    assert first.output == (
        f"Created a new master secret in {local_secret.root / '.handover' / 'secret'} "
        f"(identifier {identifier(secret)}).\n"
        "Commit .handover/secret-id; keep the secret itself in your password manager and set "
        "it as HANDOVER_SECRET in CI. Every client link depends on it.\n"
    )
    again = local_secret.run("new-secret")
    assert again.exit_code == 1
    assert "has a master secret already" in again.output
    assert (local_secret.root / ".handover" / "secret").read_text().strip() == secret


def test_a_foreign_secret_is_stopped_naming_both_identifiers(
    local_secret: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert local_secret.run("build").exit_code == 0
    recorded = (local_secret.root / ".handover" / "secret-id").read_text().strip()
    published = sorted(p for p in local_secret.site.rglob("*"))
    monkeypatch.setenv("HANDOVER_SECRET", OTHER_SECRET)
    for command in (["build"], ["links"]):
        result = local_secret.run(*command)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: the master secret from $HANDOVER_SECRET (identifier "
            f"{identifier(OTHER_SECRET)}) is not this portal's secret (identifier {recorded}, "
            "recorded in .handover/secret-id). Every client link would change; use the secret "
            "that made the links.\n"
        )
    assert sorted(p for p in local_secret.site.rglob("*")) == published


@pytest.mark.parametrize(
    "padded", [TEST_SECRET + "\n", f"  {TEST_SECRET}\r\n", f"\t{TEST_SECRET} "]
)
def test_whitespace_around_the_secret_changes_no_link(
    project: Project, minimal_case: Path, monkeypatch: pytest.MonkeyPatch, padded: str
) -> None:
    plain = project.run("links", "--json").output
    monkeypatch.setenv("HANDOVER_SECRET", padded)
    assert project.run("links", "--json").output == plain
    monkeypatch.delenv("HANDOVER_SECRET")
    secret_file = project.root / ".handover" / "secret"
    secret_file.parent.mkdir()
    secret_file.write_text(padded)
    assert project.run("links", "--json").output == plain


def test_the_secret_identifier_reveals_nothing_and_is_stable() -> None:
    first = identifier(TEST_SECRET)
    assert first == identifier(TEST_SECRET)
    assert first != identifier(OTHER_SECRET)
    assert first.startswith("hs1-") and TEST_SECRET not in first
