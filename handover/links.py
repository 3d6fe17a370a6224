"""What staff send to each client: the page's address and, by access mode, its secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handover.building import Portal, validate
from handover.model import AccessMode


@dataclass(frozen=True)
class ClientLink:
    id: str
    name: str
    access: AccessMode
    #: The address to send; in the link modes it carries the key in its #fragment.
    url: str
    #: To send through a different channel (phone, SMS) than the link; None in link mode.
    passphrase: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "access": self.access,
            "url": self.url,
            "passphrase": self.passphrase,
        }


def client_links(portal: Portal) -> list[ClientLink]:
    """Each valid case's page address (and passphrase, unless the access is ``link``), for
    staff to send through two different channels."""
    cases = validate(portal)
    secret = portal.secret()
    base = portal.config.site_url or ""
    links = []
    for case in cases:
        keys = secret.client_keys(case.id, case.case.key_version)
        url = f"{base}{keys.slug}/"
        if case.access != "passphrase":
            url += f"#{keys.link_fragment}"
        passphrase = keys.passphrase if case.access != "link" else None
        links.append(ClientLink(case.id, case.case.client.name, case.access, url, passphrase))
    return links
