"""Caches are checked before use (#9.5, #10.4): whatever bytes a cache file holds, reading
it gives the data written or "absent", never an exception and never foreign data."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handover.caching import atomic_write, read_json, write_json
from handover.files import FactsCache, file_facts
from handover.incremental import BuildState, ValidatedCases

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
SETTINGS = settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=JSON)
def test_what_is_written_is_read_back(tmp_path: Path, data: object) -> None:
    path = write_json(tmp_path / "cache" / "entry.json", data)
    assert read_json(path) == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@SETTINGS
@given(garbage=st.binary(max_size=300))
def test_any_bytes_read_as_absent_or_as_checked_data(tmp_path: Path, garbage: bytes) -> None:
    path = atomic_write(tmp_path / "entry.json", garbage)
    assert read_json(path) is None  # random bytes never carry a matching checksum
    assert BuildState.load(path, b"key") == BuildState()
    document = tmp_path / "documents" / "payroll.csv"
    document.parent.mkdir(exist_ok=True)
    document.write_bytes(b"month,total\n")
    facts = FactsCache(tmp_path / "facts")
    facts.facts(document)
    facts.save()
    (shard,) = (tmp_path / "facts").iterdir()
    shard.write_bytes(garbage)  # a damaged shard is read as empty: the file is hashed again
    assert FactsCache(tmp_path / "facts").facts(document) == file_facts(document)
    cases = ValidatedCases(tmp_path, {}, "rules")
    assert cases.get(tmp_path / "folder") is None


@SETTINGS
@given(data=JSON, position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_a_flipped_byte_is_never_taken_for_data(
    tmp_path: Path, data: object, position: int, flip: int
) -> None:
    path = write_json(tmp_path / "entry.json", data)
    raw = bytearray(path.read_bytes())
    raw[position % len(raw)] ^= flip
    path.write_bytes(bytes(raw))
    found = read_json(path)
    assert found is None or found == data  # e.g. whitespace-only damage in the JSON syntax


def test_a_deeply_nested_file_is_absent_not_a_crash(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "entry.json", b"[" * 100_000 + b"]" * 100_000)
    assert read_json(path) is None


def test_an_entry_written_by_someone_else_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "entry.json"
    path.write_text(json.dumps({"sha256": "0" * 64, "data": {"shared": "x"}}))
    assert read_json(path) is None


def test_a_case_read_back_from_the_validated_cache_equals_the_case_validated(
    example_portal: Path, tmp_path: Path
) -> None:
    """Every field of a validated case survives the cache, the purge runs among them: a
    page rebuilt from the cache (a template edit, a new day) reads as one validated afresh,
    so a purged client's page keeps saying what was deleted where."""
    import dataclasses
    import datetime as dt

    from handover.building import open_portal, validate
    from handover.deletions import PurgeRun

    run = PurgeRun(on=dt.date(2027, 2, 1), by="Ada", places={"case-folder": dt.date(2027, 2, 1)})
    for case in validate(open_portal(example_portal / "mkdocs.yml")):
        case = dataclasses.replace(case, purges=(run,), name_line=3)
        cache = ValidatedCases(tmp_path / case.id, {case.folder: "fingerprint"}, "rules")
        cache.put(case.folder, case)
        assert cache.get(case.folder) == case
