"""What staff send to each client: the page's address (and, with encryption, its secrets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from generator.building import Portal, validate


@dataclass(frozen=True)
class ClientLink:
    id: str
    name: str
    url: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def client_links(portal: Portal) -> list[ClientLink]:
    cases = validate(portal)
    secret = portal.plugin.secret(portal.config)
    base = portal.config.site_url or ""
    return [
        ClientLink(case.id, case.case.client.name, f"{base}{secret.page_slug(case.id)}/")
        for case in cases
    ]
