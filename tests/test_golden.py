"""Each example case's page, exactly as a client reads it once unlocked.

The expected pages are kept in ``tests/golden/<client-id>.html`` (the decrypted content,
one file per example case). After an intended change to templates, wording or the model,
regenerate them and read the diff before committing:

    .venv/bin/python -m pytest tests/test_golden.py --regenerate-golden
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import sealed
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted(p.name for p in (REPO / "cases").iterdir() if (p / "case.yaml").is_file())


@pytest.mark.parametrize("client_id", EXAMPLES)
def test_example_page_matches_its_golden_file(
    client_id: str, example_site: Path, request: pytest.FixtureRequest
) -> None:
    html, _ = sealed.open_page(example_site, client_id)
    golden = GOLDEN / f"{client_id}.html"
    if request.config.getoption("regenerate_golden"):
        golden.write_text(html, encoding="utf-8")
    assert golden.is_file(), f"no golden file: run {__doc__.split('    ')[-1].strip()}"
    assert html == golden.read_text(encoding="utf-8")


def test_every_golden_file_belongs_to_an_example() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.html")) == EXAMPLES
