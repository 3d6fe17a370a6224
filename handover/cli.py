"""The ``handover`` command. It parses arguments and calls the pipeline; nothing more.

Every expected failure (bad cases, a missing secret, a broken mkdocs.yml) is a
``handover.errors.HandoverError`` (a ``click.ClickException``, as MkDocs' own errors are)
and reaches the user as a message and exit code 1. Anything else is a bug: it is reported
as one, in one line with exit code 70 (``HANDOVER_DEBUG=1`` shows the traceback), never
disguised as a user error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from handover import __version__

F = TypeVar("F", bound=Callable[..., Any])
#: sysexits' EX_SOFTWARE: an internal error, not the user's.
EXIT_BUG = 70
DEBUG_ENV = "HANDOVER_DEBUG"


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date written YYYY-MM-DD") from None


config_option = click.option(
    "-f",
    "--config-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("mkdocs.yml"),
    show_default=True,
    help="The portal's mkdocs.yml (firm settings live in its 'handover' plugin section).",
)
cases_option = click.option(
    "--cases",
    "cases_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of cases (repeatable); default: cases_dir from mkdocs.yml.",
)
today_option = click.option(
    "--today",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Build as if it were this day (default: the real date).",
)


def reports_problems(command: F) -> F:
    """Kept so existing commands read as before: errors are ``click.ClickException``s now,
    shown by Click itself, and ``HandoverGroup`` reports anything else as a bug."""
    return command


class HandoverGroup(click.Group):
    """Click shows every ``ClickException`` (ours and MkDocs') as a message; an exception of
    any other kind is a bug in handover, and is reported as exactly that."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(
                f"handover: internal error, a bug in handover ({type(error).__name__}: "
                f"{error}). Please report it with the command you ran; {DEBUG_ENV}=1 shows "
                "the traceback.",
                err=True,
            )
            ctx.exit(EXIT_BUG)


def _dev_addr(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    """``IP:PORT`` (``localhost`` is 127.0.0.1), checked before anything starts."""
    host, colon, port = value.rpartition(":")
    if not colon or not host:
        raise click.BadParameter(f"'{value}' is not IP:PORT, e.g. 127.0.0.1:8000")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"'{port}' in '{value}' is not a port number (0–65535)")
    host = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise click.BadParameter(
            f"'{host}' in '{value}' is not an IP address (e.g. 127.0.0.1:8000)"
        ) from None
    return host, int(port)


@click.group(cls=HandoverGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handover")
@click.option("-v", "--verbose", is_flag=True, help="Show MkDocs' progress messages too.")
def cli(verbose: bool) -> None:
    """Private handover pages for departing clients, built from cases/<client-id>/case.yaml."""
    _setup_logging(verbose)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--firm", help="The firm's name as clients see it (default: from DIRECTORY).")
@click.option(
    "--site-url",
    default="https://handover.example.com/",
    show_default=True,
    help="Where the portal will be published; client links start with it.",
)
@click.option(
    "--email", default="hello@example.com", show_default=True, help="The address clients write to."
)
@click.option("--phone", help="The number clients call (optional).")
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab"]),
    help="Add the CI workflow that validates, builds and publishes on this host.",
)
@reports_problems
def init(
    directory: Path,
    firm: str | None,
    site_url: str,
    email: str,
    phone: str | None,
    ci: str | None,
) -> None:
    """Create a new portal in DIRECTORY: mkdocs.yml, cases/ with an example, .gitignore."""
    from handover.scaffold import PortalSettings, init_portal

    name = firm or directory.resolve().name.replace("-", " ").title()
    settings = PortalSettings(name, site_url, email, phone, ci)  # type: ignore[arg-type]
    written = init_portal(directory, settings, today=dt.date.today())
    click.echo(f"Created a portal for {name} in {directory}:")
    for path in written:
        click.echo(f"  {path.as_posix()}")
    click.echo(f"Next: cd {directory} && handover build && handover links")


@cli.command()
@click.argument("client_id")
@click.option("--name", help="The client's name (default: from the id).")
@config_option
@cases_option
@reports_problems
def new(client_id: str, name: str | None, config_file: Path, cases_dirs: tuple[Path, ...]) -> None:
    """Write a commented case for CLIENT_ID to fill in (in the first cases folder)."""
    from handover import building
    from handover.scaffold import new_case

    if cases_dirs:
        folder = cases_dirs[0]
    elif config_file.is_file():
        folder = building.open_portal(config_file).settings.cases_dirs[0]
    else:
        folder = Path("cases")
    path = new_case(folder, client_id, name=name, today=dt.date.today())
    click.echo(f"Created {path}. Fill it in, then run: handover validate")


@cli.command()
@config_option
@cases_option
@reports_problems
def validate(config_file: Path, cases_dirs: tuple[Path, ...]) -> None:
    """Check every case; list every problem with file and line."""
    from handover import building

    portal = building.open_portal(config_file, cases_dirs=list(cases_dirs))
    cases = building.validate(portal)
    click.echo(f"{len(cases)} case{'s' if len(cases) != 1 else ''} valid.")
    _history_warnings(portal, cases)


def _history_warnings(portal: Any, cases: list[Any]) -> None:
    """Client documents that are or were in git: where, in which commits, how to remove."""
    from handover.history import history_warnings

    plugin, config = portal.plugin, portal.config
    for line in history_warnings(
        cases, plugin.project_dir(config), examples=plugin.config.example_documents
    ):
        click.echo(line, err=True)


@cli.command()
@config_option
@cases_option
@click.option(
    "-d",
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the site goes (default: site_dir from mkdocs.yml, i.e. site/).",
)
@today_option
@click.option(
    "--full",
    is_flag=True,
    help="Forget every cache and build every page again (after editing the tool or a cache).",
)
@reports_problems
def build(
    config_file: Path,
    cases_dirs: tuple[Path, ...],
    site_dir: Path | None,
    today: dt.date | None,
    full: bool,
) -> None:
    """Validate the cases and build the portal; the old site stays if anything fails."""
    from handover import building

    portal = building.open_portal(
        config_file,
        cases_dirs=list(cases_dirs),
        site_dir=site_dir,
        today=today,
        may_create_secret=True,
    )
    result = building.build(portal, full=full, on_wait=lambda line: click.echo(line, err=True))
    kept = f" ({result.kept} unchanged, kept)" if result.kept else ""
    click.echo(
        f"Built {len(result.built)} client page{'s' if len(result.built) != 1 else ''}"
        f"{kept} into {portal.site_dir}"
    )


@cli.command()
@config_option
@cases_option
@click.option(
    "-a",
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="IP:PORT",
    callback=_dev_addr,
    help="Where the preview listens: loopback only unless --expose (it shows every client's page).",
)
@click.option(
    "--expose",
    is_flag=True,
    help="Allow a non-loopback --dev-addr: anyone on that network sees the preview.",
)
@today_option
@reports_problems
def serve(
    config_file: Path,
    cases_dirs: tuple[Path, ...],
    dev_addr: tuple[str, int],
    expose: bool,
    today: dt.date | None,
) -> None:
    """Preview the real (sealed) portal locally, rebuilding each case as it changes."""
    from handover import building, serving
    from handover.errors import ConfigError
    from handover.links import client_links

    host, port = dev_addr
    if not ipaddress.ip_address(host).is_loopback:
        if not expose:
            raise click.BadParameter(
                f"{host} is not a loopback address; the preview holds every client's page. "
                "Add --expose to serve it on the network anyway.",
                param_hint="'-a' / '--dev-addr'",
            )
        click.echo(
            f"Warning: serving on {host}, not loopback: anyone who can reach it can fetch "
            "every client's (sealed) page.",
            err=True,
        )

    def open_preview() -> building.Portal:
        return building.open_portal(
            config_file,
            cases_dirs=list(cases_dirs),
            site_dir=config_file.resolve().parent / serving.PREVIEW_SITE,
            today=today,
            may_create_secret=True,
        )

    preview = serving.LivePreview(open_preview, report=click.echo)
    preview.portal.secret()  # a missing or foreign secret stops serve before it starts
    preview.rebuild_if_changed()
    try:
        server = serving.start_server(preview, host, port)
    except OSError as error:
        raise ConfigError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    portal = preview.portal
    local = f"http://{host}:{server.server_address[1]}/"
    for link in client_links(portal):
        url = local + link.url.removeprefix(portal.config.site_url or "")
        passphrase = f"  passphrase: {link.passphrase}" if link.passphrase else ""
        click.echo(f"{link.id}: {url}{passphrase}")
    click.echo("Watching cases/, templates and mkdocs.yml; pages reload on change. Ctrl+C stops.")
    try:
        preview.watch()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


@cli.command()
@config_option
@cases_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
@reports_problems
def links(config_file: Path, cases_dirs: tuple[Path, ...], as_json: bool) -> None:
    """Each client's page address and passphrase, for staff to send (separately)."""
    from handover import building
    from handover.links import client_links

    found = client_links(building.open_portal(config_file, cases_dirs=list(cases_dirs)))
    if as_json:
        click.echo(json.dumps([link.as_json() for link in found], ensure_ascii=False, indent=2))
        return
    for link in found:
        click.echo(f"{link.id}: {link.name} ({link.access})")
        click.echo(f"  link:       {link.url}")
        if link.passphrase:
            click.echo(f"  passphrase: {link.passphrase}   (send it separately from the link)")


@cli.command()
@config_option
@cases_option
@today_option
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@reports_problems
def purge(
    config_file: Path, cases_dirs: tuple[Path, ...], today: dt.date | None, dry_run: bool
) -> None:
    """On each case's deletion day, remove every copy of its client files the tool controls
    (case folder, document store, caches), record each, and check the git history."""
    from handover import building, purging
    from handover.progress import progress

    day = today or dt.date.today()
    portal = building.open_portal(config_file, cases_dirs=list(cases_dirs))
    cases = building.validate(portal)
    plans = purging.plan_purge(cases, day)
    for plan in plans:
        for item in plan.files:
            verb = "would delete" if dry_run else "deleting"
            click.echo(f"{verb}: {plan.case.id}/{item.relative}")
    if dry_run:
        count = sum(len(plan.files) for plan in plans)
        click.echo(f"{count} file(s) due for deletion on {day}; nothing deleted (dry run).")
        return
    with (
        building.build_lock(
            portal.settings.project, on_wait=lambda line: click.echo(line, err=True)
        ),
        progress("Deleting", len(plans)) as advance,
    ):
        results = purging.purge_portal(portal, cases, plans, day, advance)
    click.echo(purging.purge_report(results))
    if any(result.run and result.run.not_removed for result in results):
        raise SystemExit(1)


@cli.command("add-document")
@config_option
@cases_option
@click.argument("client_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", help="The title the page shows (default: the file's name).")
@reports_problems
def add_document(
    config_file: Path, cases_dirs: tuple[Path, ...], client_id: str, file: Path, title: str | None
) -> None:
    """Store FILE for CLIENT_ID (in the document store, or the case's documents/ folder)
    and add its entry, with its SHA-256, to the case."""
    from handover import building, store

    portal = building.open_portal(config_file, cases_dirs=list(cases_dirs))
    click.echo(store.add_to_case(portal, client_id, file, title))


@cli.command("public-key")
@config_option
@reports_problems
def public_key(config_file: Path) -> None:
    """The firm's public key for deletion certificates, to publish for clients to check."""
    click.echo(_firm_public_key(config_file))


def _firm_public_key(config_file: Path) -> str:
    from handover import building
    from handover.certificates import firm_public_key

    portal = building.open_portal(config_file)
    return firm_public_key(portal.secret())


@cli.command("new-secret")
@config_option
@reports_problems
def new_secret(config_file: Path) -> None:
    """Create the portal's master secret (.handover/secret) and its public identifier."""
    from handover import building
    from handover.caching import SECRET_ID_FILE
    from handover.keys import SECRET_ENV, new_secret

    portal = building.open_portal(config_file)
    secret = new_secret(portal.settings.project)
    click.echo(
        f"Created a new master secret in {secret.origin} (identifier {secret.identifier}).\n"
        f"Commit {SECRET_ID_FILE}; keep the secret itself in your password manager and set it "
        f"as {SECRET_ENV} in CI. Every client link depends on it."
    )


@cli.command("verify-certificate")
@config_option
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    metavar="BASE64",
    help="The firm's public key; default: derived from the master secret.",
)
@reports_problems
def verify_certificate(config_file: Path, certificate: Path, public_key: str | None) -> None:
    """Check that a deletion certificate is signed by the firm and unaltered."""
    from handover.certificates import verify_certificate
    from handover.errors import CertificateError

    if public_key is None:
        public_key = _firm_public_key(config_file)
    try:
        statement = verify_certificate(certificate.read_bytes(), public_key)
    except CertificateError as error:
        click.echo(f"{certificate}: NOT VALID: {error}", err=True)
        raise SystemExit(1) from None
    client = statement["client"]
    click.echo(
        f"{certificate}: valid. {statement['firm']} certifies {len(statement['deleted'])} "
        f"deletion(s) for {client['name']} ({client['id']}), the last on {statement['issued_on']}."
    )
    for place in statement.get("scope", []):
        when = place.get("removed_on") or place.get("note", "")
        click.echo(f"  {place.get('label', place.get('place'))}: {when}")
    outside = statement.get("outside_reach", [])
    if outside:
        click.echo(f"  Outside the tool's reach: {'; '.join(outside)}")


as_of_option = click.option(
    "--today",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Count from this day (default: the real date).",
)


def _period(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    from handover.deadlines import parse_period

    try:
        return parse_period(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _print_rich(renderable: Any) -> None:
    """Colour on a terminal; piped, plain text without escape codes (as click.echo does)."""
    import sys

    from rich.console import Console

    terminal = sys.stdout.isatty()
    console = Console(force_terminal=terminal, width=None if terminal else 200, highlight=False)
    console.print(renderable)


@cli.command()
@config_option
@cases_option
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@reports_problems
def status(
    config_file: Path, cases_dirs: tuple[Path, ...], today: dt.date | None, as_json: bool
) -> None:
    """Each client's next deadline, open invoices and overdue items, most urgent first."""
    from handover import building
    from handover.deadlines import client_statuses, status_table

    portal = building.open_portal(config_file, cases_dirs=list(cases_dirs))
    cases = building.validate(portal)
    statuses = client_statuses(cases, today or dt.date.today())
    if as_json:
        click.echo(json.dumps([s.as_json() for s in statuses], ensure_ascii=False, indent=2))
    else:
        _print_rich(status_table(statuses))
    _history_warnings(portal, cases)


@cli.command()
@config_option
@cases_option
@as_of_option
@click.option(
    "--within",
    "days",
    default="7d",
    show_default=True,
    callback=_period,
    metavar="PERIOD",
    help="How far ahead to look: days (7d or 7) or weeks (2w).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of lines.")
@reports_problems
def due(
    config_file: Path,
    cases_dirs: tuple[Path, ...],
    today: dt.date | None,
    days: int,
    as_json: bool,
) -> None:
    """What falls due soon, and everything overdue; exit 1 when anything is overdue."""
    from handover import building
    from handover.deadlines import due_within

    cases = building.validate(building.open_portal(config_file, cases_dirs=list(cases_dirs)))
    found = due_within(cases, today or dt.date.today(), days)
    if as_json:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        click.echo(found.summary(), err=True)
    else:
        for item, line in found.lines():
            click.secho(line, fg="red" if item.is_overdue(found.today) else None)
        click.echo(found.summary())
    if found.overdue:
        raise SystemExit(1)


@cli.command()
@config_option
@cases_option
@click.option(
    "--since",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Only clients whose service ends on or after this day.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="A table for reading, CSV for a spreadsheet, or JSON for scripts.",
)
@reports_problems
def report(
    config_file: Path, cases_dirs: tuple[Path, ...], since: dt.date | None, output_format: str
) -> None:
    """Departures per month by reason and segment, with revenue lost. Staff only; never built."""
    from handover import building
    from handover.reporting import departure_report, report_tables

    cases = building.validate(building.open_portal(config_file, cases_dirs=list(cases_dirs)))
    found = departure_report(cases, since)
    if output_format == "json":
        click.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
    elif output_format == "csv":
        click.echo(found.as_csv(), nl=False)
    else:
        _print_rich(report_tables(found))


@cli.command()
@click.option(
    "--markdown", is_flag=True, help="Print the field reference of docs/cases.md instead."
)
def schema(markdown: bool) -> None:
    """Print the JSON Schema of case.yaml (editors use it to complete and check fields)."""
    from handover.reference import case_format_markdown, case_json_schema

    click.echo(case_format_markdown() if markdown else case_json_schema())


# --- publish (handover/publishing.py owns the logic; this block only parses) -------------
@cli.command()
@click.argument("target", required=False, envvar="HANDOVER_PUBLISH_TARGET")
@config_option
@click.option(
    "-d",
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The built site to publish (default: site_dir from mkdocs.yml, i.e. site/).",
)
@click.option(
    "--dry-run", is_flag=True, help="List what would be uploaded and deleted; send nothing."
)
@click.option(
    "--verify", "verify_only", is_flag=True, help="Only check the target; exit 1 on any leftover."
)
@click.option(
    "--adopt", is_flag=True, help="Take over a target that holds objects not sent by handover."
)
@click.option(
    "--today", callback=_date, metavar="YYYY-MM-DD", help="The day to record (default: today)."
)
@reports_problems
def publish(
    target: str | None,
    config_file: Path,
    site_dir: Path | None,
    dry_run: bool,
    verify_only: bool,
    adopt: bool,
    today: dt.date | None,
) -> None:
    """Make TARGET (s3://bucket/prefix, file:///path, gs://, az://) hold exactly the site.

    TARGET defaults to $HANDOVER_PUBLISH_TARGET, then to extra.publish.target in
    mkdocs.yml. Credentials come from the store's standard variables (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION, ...)."""
    from handover import publishing

    day = today or dt.date.today()
    if not publishing.run(
        config_file,
        target,
        site_dir=site_dir,
        day=day,
        dry_run=dry_run,
        verify_only=verify_only,
        echo=click.echo,
        adopt=adopt,
    ):
        raise SystemExit(1)


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def main() -> None:
    cli(prog_name="handover")
