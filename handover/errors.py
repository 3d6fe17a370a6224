"""Every error a user can cause, in one place, rooted at ``click.ClickException``.

As in MkDocs' ``exceptions.py``: an error that is the user's to fix (a bad case, a missing
secret, a site folder that would overwrite the cases) carries its message and exit code and
is shown by Click as one line, from the command line and from ``handover serve`` alike.
Anything else is a bug and is *not* one of these: the CLI labels it as a bug instead of
turning it into a plausible-looking message (see ``cli.HandoverGroup``).
"""

from __future__ import annotations

from typing import IO, Any

import click


class HandoverError(click.ClickException):
    """Something the user can fix; the message says what and where."""

    exit_code = 1


class ConfigError(HandoverError):
    """``mkdocs.yml`` or a command's options cannot be used as given."""


class SecretError(HandoverError):
    """The master secret is missing, unusable, or not the one that made the links."""


class SiteDirError(HandoverError):
    """The site folder would overwrite or delete sources (cases, templates, repository)."""


class BuildLocked(HandoverError):
    """Another build, serve rebuild or purge holds this portal's lock."""


class ScaffoldError(HandoverError):
    """``handover new`` cannot write the case asked for."""


class CertificateError(HandoverError):
    """A deletion certificate is malformed, altered, or signed by another key."""


class StoreError(HandoverError):
    """The document store cannot give or take a document; the message says which and why."""


class TransferError(HandoverError):
    """A storage operation (publish, document store) failed; the message names the target
    and the key."""


class CacheError(HandoverError):
    """A cache under ``.handover/`` cannot be written (reading a damaged one is not an error:
    the entry is rebuilt)."""


class ProblemsError(HandoverError):
    """Many located problems, shown as the report they are (no ``Error:`` prefix)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True, file=file)
