"""Benchmark of ``handover build`` against what MkDocs itself costs for the same pages.

It generates N synthetic but realistic cases (deterministic from ``--seed``), then
measures, in one run and side by side:

(a) ``handover build`` of the N cases, each run a fresh process of the real CLI;
    the first run is cold (no ``.handover/cache``), the reported value is the
    median of the warm runs that follow, each forced to build every page again
    (builds are incremental; see ``force_full_builds``);
(b) the reference: one plain ``mkdocs build`` of the same N pages, rendered to
    Markdown beforehand by the project's own renderer, with the same theme and
    Markdown extensions but no plugin (no validation, no sealing, no artifacts);
(c) ``handover build`` again after one case changed (a different edit each time);
(d) the peak resident memory of the ``handover build`` processes;
(e) ``handover publish`` to a target (default: a local folder, ``--publish-target`` for
    an object store) right after a full publish and one case edited: the objects it
    uploads (only that client's should go) and the time it takes.

Usage (see bench/README.md)::

    .venv/bin/python bench/run.py --n 1000 --json bench/out/n1000.json

The JSON has at least ``n``, ``mode``, ``full_s``, ``reference_s``, ``rebuild_s`` and
``peak_mb`` (outside tooling relies on these keys); other keys are extras.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

import handover
from handover.store import LocalFolderStore

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PHRASES = BENCH / "phrases.yaml"
#: Raise when the generated data changes, so projects made by an older script are redone.
GENERATOR_VERSION = 2
MARKER = "bench-params.json"
#: A fixed master secret (>= 32 characters), as CI would pass in ``HANDOVER_SECRET``.
SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
MODES = ("link", "passphrase", "link+passphrase")

LANGUAGES = {"en": 30, "cs": 20, "pl": 15, "de": 15, "ru": 10, "vi": 10}  # share of cases
SERVICES_PER_CASE = 10
DOCUMENTS_PER_CASE = 20
ACCOUNTS_PER_CASE = 8
FIRM_DOMAIN = "example-partners.example"
CHUNK = 1 << 20

#: Letters Unicode cannot decompose to ASCII, for e-mail addresses and file names.
TRANSLITERATION = {
    **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
    **{"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"},
    **{"ъ": "", "ь": "", "ю": "yu", "я": "ya", "ł": "l", "đ": "d", "ß": "ss"},
}


# -- parameters and results -----------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """Everything the generated project depends on; stored in its marker file."""

    n: int
    mode: str
    seed: int
    today: str
    big_file_mb: int
    generator_version: int = GENERATOR_VERSION
    #: Documents in a local document store (pinned by SHA-256), not in the case folders.
    store: bool = False

    @property
    def folder_name(self) -> str:
        return f"{self.n}-{self.mode}-{self.seed}{'-store' if self.store else ''}"

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.today)

    def case_id(self, index: int) -> str:
        return f"client-{index:0{max(4, len(str(self.n)))}d}"


@dataclass(frozen=True)
class Run:
    """One child process: wall clock, CPU time, peak resident memory, and for
    ``handover build`` the pages it built (from its "Built N client pages" line)."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    pages_built: int | None = None
    objects_uploaded: int | None = None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark `handover build` of N synthetic cases against plain MkDocs."
    )
    parser.add_argument("--n", type=int, required=True, help="number of cases")
    parser.add_argument("--mode", choices=MODES, default="link", help="access mode of every case")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cases")
    parser.add_argument(
        "--today", default="2026-12-01", help="build day; every page is active on it"
    )
    parser.add_argument(
        "--big-file-mb", type=int, default=200, help="size of the one big file (0: none)"
    )
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="where projects go")
    parser.add_argument(
        "--keep", action="store_true", help="keep built sites, caches and reference pages"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile one warm full build (cProfile)"
    )
    parser.add_argument(
        "--store",
        action="store_true",
        help="keep the documents in a local document store (store/), pinned by SHA-256",
    )
    parser.add_argument(
        "--publish-target",
        help="where (e) publishes, e.g. s3://bucket/bench (default: file://<project>/published)",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1 or args.big_file_mb < 0:
        parser.error("--n and --repeat must be at least 1, --big-file-mb at least 0")
    try:
        dt.date.fromisoformat(args.today)
    except ValueError:
        parser.error(f"--today {args.today!r} is not a date written YYYY-MM-DD")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    params = Params(args.n, args.mode, args.seed, args.today, args.big_file_mb, store=args.store)
    project = ensure_project(args.out.resolve() / params.folder_name, params)
    env = build_env()
    load_before = os.getloadavg()
    try:
        result = measure(project, params, args.repeat, env)
        target = args.publish_target or (project / "published").as_uri()
        result |= measure_publish(project, params, env, target)
        profile = profile_build(project, params, env) if args.profile else None
    finally:
        if not args.keep:
            clean_outputs(project)
    result["machine"] = machine(load_before)
    print_table(result)
    if profile:
        print_profile(profile)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        note(f"wrote {args.json}")
    return 0


def note(message: str) -> None:
    """Progress on stderr, so a long run shows it is alive and stdout stays the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the generated project ------------------------------------------------------------


def ensure_project(root: Path, params: Params) -> Path:
    """Reuse a project generated with the same parameters: writing N x 20 files is slow."""
    marker = root / MARKER
    if marker.is_file() and json.loads(marker.read_text()) == asdict(params):
        note(f"reusing {root}")
        return root
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    note(f"generating {params.n} cases into {root}")
    generate_project(root, params)
    marker.write_text(json.dumps(asdict(params), indent=2) + "\n")  # last: only when complete
    note(f"generated in {time.perf_counter() - started:.1f} s")
    return root


#: The document store of a ``--store`` project, relative to it.
STORE = "store"


def generate_project(root: Path, params: Params) -> None:
    """A project laid out like tests/conftest.py's: mkdocs.yml, site_templates, cases/."""
    (root / "cases").mkdir(parents=True)
    (root / "site_templates").symlink_to(REPO / "site_templates")
    config = repo_config()
    config["plugins"][0]["handover"]["default_access"] = params.mode
    if params.store:
        config["plugins"][0]["handover"]["document_store"] = STORE
    write_yaml(root / "mkdocs.yml", config)
    bank = yaml.safe_load(PHRASES.read_text(encoding="utf-8"))
    for index in range(1, params.n + 1):
        write_case(root / "cases", index, params, bank)


def repo_config() -> dict[str, Any]:
    """The repo's own mkdocs.yml: the project and the reference share its theme settings."""
    config: dict[str, Any] = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    return config


def write_case(cases: Path, index: int, params: Params, bank: dict[str, Any]) -> None:
    """One case folder; its own random generator, so each case depends only on the seed."""
    rng = random.Random(f"{params.seed}/{index}")
    case_id = params.case_id(index)
    folder = cases / case_id
    language = rng.choices(list(LANGUAGES), weights=list(LANGUAGES.values()))[0]
    words = bank[language]
    case, files = make_case(case_id, language, words, params.day, rng)
    if index == 1 and params.big_file_mb:
        big = "documents/archive/scanned-archive-2015-2025.zip"
        title = f"{words['documents'][0]} 2015–2025 (ZIP)"
        case["documents"].append({"title": title, "file": big, "category": words["categories"][0]})
        write_random_file(folder / big, params.big_file_mb * 1_000_000, f"{params.seed}/big")
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    if params.store:
        move_to_store(folder, case, LocalFolderStore(cases.parent / STORE))
    write_yaml(folder / "case.yaml", case)


def move_to_store(folder: Path, case: dict[str, Any], store: LocalFolderStore) -> None:
    """Each document into the document store and pinned in the case, as
    ``handover add-document`` would leave it; the case folder keeps no document."""
    for document in case["documents"]:
        if "file" in document:
            path = folder / document["file"]
            document["sha256"] = store.put(path).sha256
            path.unlink()


def make_case(
    case_id: str, language: str, words: dict[str, Any], today: dt.date, rng: random.Random
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The case.yaml data and its files; every date keeps the page active on ``today``."""
    first, last = rng.choice(words["first_names"]), rng.choice(words["last_names"])
    client = words["company_pattern"].format(
        stem=rng.choice(words["company_stems"]),
        trade=rng.choice(words["company_trades"]),
        form=rng.choice(words["company_forms"]),
        last=last,
    )
    service_end = today + dt.timedelta(days=rng.randint(10, 90))
    retention_days = rng.choice([30, 60, 90])
    deletion = service_end + dt.timedelta(days=retention_days)
    years = rng.randint(2, 12)
    documents, files = make_documents(words, today, deletion, rng)
    case: dict[str, Any] = {
        "client": {
            "name": client,
            "contact": words["name_pattern"].format(first=first, last=last),
            "email": f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}@{case_id}.example",
        },
        "language": language,
        "service_end": service_end,
        "retention_days": retention_days,
        "message": make_message(words, client, years, rng),
    }
    if rng.random() < 0.6:
        case["achievements"] = rng.sample(words["achievements"], rng.randint(2, 3))
    case["services"] = make_services(words, today, service_end, years, rng)
    case["documents"] = documents
    case["accounts"] = make_accounts(words, today, service_end, rng)
    case["contacts"] = make_contacts(words, rng)
    case["invoices"] = make_invoices(case_id, words, today, rng)
    if rng.random() < 0.5:
        case["support"] = {
            "what": words["support_what"],
            "price": words["support_price"].format(
                price=rng.choice([60, 75, 90, 120]), currency=words["currency"][0]
            ),
            "until": service_end + dt.timedelta(days=180),
        }
    if rng.random() < 0.5:
        contact = f"{rng.choice(words['first_names'])} {rng.choice(words['last_names'])}"
        case["successor"] = {
            "name": f"{rng.choice(words['company_stems'])} {rng.choice(words['successor_forms'])}",
            "contact": contact,
            "email": f"{ascii_slug(contact, '.')}@successor-{case_id}.example",
            "received": rng.sample(words["received"], rng.randint(2, len(words["received"]))),
        }
    if rng.random() < 0.7:
        case["feedback"] = (
            {"url": f"https://survey.{FIRM_DOMAIN}/exit?client={case_id}"}
            if rng.random() < 0.5
            else {"email": f"feedback@{FIRM_DOMAIN}"}
        )
    case["internal"] = {
        "reason": rng.choice(["price", "moved-in-house", "acquired", "closed-business", "service"]),
        "segment": f"{rng.choice(['smb', 'midmarket', 'retail', 'construction'])}-{language}",
        "revenue": round(rng.uniform(1_500, 90_000), 2),
        "notes": rng.choice(["Parted on good terms.", "Pitch again next year.", "No follow-up."]),
    }
    return case, files


def make_message(words: dict[str, Any], client: str, years: int, rng: random.Random) -> str:
    greeting = rng.choice(words["greeting"]).format(years=years, client=client)
    paragraphs = rng.sample(words["paragraphs"], rng.randint(2, 4))
    return "\n\n".join([greeting, *paragraphs]) + "\n"


def make_services(
    words: dict[str, Any], today: dt.date, service_end: dt.date, years: int, rng: random.Random
) -> list[dict[str, Any]]:
    services = []
    for name in rng.sample(words["services"], SERVICES_PER_CASE):
        start = service_end.year - rng.randint(1, years)
        status = rng.choices(["ended", "transferred", "continues"], weights=[70, 15, 15])[0]
        service: dict[str, Any] = {
            "name": name,
            "period": f"{start}-{rng.randint(1, 12):02d} – {service_end:%Y-%m}",
            "summary": rng.choice(words["summaries"]),
            "status": status,
        }
        if rng.random() < 0.6:
            service["outcome"] = rng.choice(words["outcomes"])
        if status != "ended":
            service["until"] = max(today, service_end + dt.timedelta(days=rng.randint(-20, 30)))
        services.append(service)
    return services


def make_documents(
    words: dict[str, Any], today: dt.date, deletion: dt.date, rng: random.Random
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """20 small files of a few KB; some leave earlier, some are kept longer by law."""
    documents, files = [], {}
    pairs = list(itertools.product(words["documents"], range(2019, 2027)))
    for stem, year in rng.sample(pairs, DOCUMENTS_PER_CASE):
        category = rng.choice(words["categories"])
        extension = rng.choices(["pdf", "csv", "xlsx", "docx", "txt"], weights=[4, 3, 2, 1, 1])[0]
        file = f"documents/{ascii_slug(category)}/{ascii_slug(stem)}-{year}.{extension}"
        document: dict[str, Any] = {"title": f"{stem} {year}", "file": file, "category": category}
        if rng.random() < 0.25:
            offered = rng.randint(7, (deletion - today).days)
            document["available_until"] = today + dt.timedelta(days=offered)
        elif rng.random() < 0.1:
            document["retain_until"] = deletion + dt.timedelta(days=365 * rng.randint(3, 10))
            document["retention_basis"] = words["retention_basis"]
        documents.append(document)
        files[file] = file_content(extension, rng.randint(1_500, 8_000), words, rng)
    return documents, files


def file_content(extension: str, size: int, words: dict[str, Any], rng: random.Random) -> bytes:
    """Text files compress in the ZIP; binary formats are random, as real PDFs nearly are."""
    if extension == "csv":
        lines = ["date,description,amount"]
        while sum(len(line) + 1 for line in lines) < size:
            day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
            lines.append(f"{day},{rng.choice(words['services'])},{rng.uniform(-9e3, 9e3):.2f}")
        return ("\n".join(lines) + "\n").encode()
    if extension == "txt":
        text = ""
        while len(text.encode()) < size:
            text += rng.choice(words["paragraphs"]) + "\n\n"
        return text.encode()
    magic = b"%PDF-1.7\n" if extension == "pdf" else b"PK\x03\x04"
    return magic + rng.randbytes(size - len(magic))


def make_accounts(
    words: dict[str, Any], today: dt.date, service_end: dt.date, rng: random.Random
) -> list[dict[str, Any]]:
    accounts = []
    actions = ["revoke-our-access", "transfer-to-you", "closed", "stays-with-you"]
    for system in rng.sample(words["systems"], ACCOUNTS_PER_CASE):
        action = rng.choice(actions)
        account: dict[str, Any] = {"system": system, "action": action}
        if action != "stays-with-you":
            account["by"] = today + dt.timedelta(days=rng.randint(5, (service_end - today).days))
        account["steps"] = rng.sample(words["steps"], rng.randint(2, 4))
        accounts.append(account)
    return accounts


def make_contacts(words: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    contacts = []
    for _ in range(rng.randint(2, 3)):
        first, last = rng.choice(words["first_names"]), rng.choice(words["last_names"])
        contact = {
            "name": words["name_pattern"].format(first=first, last=last),
            "role": rng.choice(words["roles"]),
            "email": f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}@{FIRM_DOMAIN}",
        }
        if rng.random() < 0.6:
            contact["phone"] = (
                f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"
            )
        contacts.append(contact)
    return contacts


def make_invoices(
    case_id: str, words: dict[str, Any], today: dt.date, rng: random.Random
) -> list[dict[str, Any]]:
    invoices = []
    for number in range(1, rng.randint(1, 3) + 1):
        currency = rng.choice(words["currency"])
        amount = round(rng.uniform(200, 9_000), 2) * (25_000 if currency == "VND" else 1)
        status = rng.choice(["open", "paid"])
        invoice: dict[str, Any] = {
            "number": f"{today.year}-{case_id.removeprefix('client-')}-{number}",
            "amount": round(amount, 2),
            "currency": currency,
            "due": today + dt.timedelta(days=rng.randint(-30, 30)),
            "status": status,
        }
        if rng.random() < 0.5:
            invoice["url"] = f"https://billing.{FIRM_DOMAIN}/invoices/{invoice['number']}"
        invoices.append(invoice)
    return invoices


def write_random_file(path: Path, size: int, seed: str) -> None:
    """Random bytes, written 1 MiB at a time: incompressible, like a real archive of scans."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        for start in range(0, size, CHUNK):
            stream.write(rng.randbytes(min(CHUNK, size - start)))


def ascii_slug(text: str, separator: str = "-") -> str:
    """Lowercase ASCII for addresses and file names, from any of the six languages."""
    lowered = "".join(TRANSLITERATION.get(char, char) for char in text.lower())
    plain = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", separator, plain).strip(separator) or "office"


class _CaseDumper(yaml.SafeDumper):
    """Writes case.yaml the way staff do: ``|`` blocks, no anchors (handover refuses them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_CaseDumper.add_representer(str, _represent_text)


def write_yaml(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(data, Dumper=_CaseDumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


# -- running builds -------------------------------------------------------------------


def build_env() -> dict[str, str]:
    """As CI runs it, but with CI unset: a fixed secret, no MkDocs 2 banner. The package is
    byte-compiled first, as pip does when it installs a wheel: an editable checkout under
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile handover's 30-odd modules from
    source in every run (about 0.25 s here), which no installed portal pays."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CI", "PYTHONDONTWRITEBYTECODE"}
    }
    env["HANDOVER_SECRET"] = SECRET
    env["NO_MKDOCS_2_WARNING"] = "1"
    compileall.compile_dir(Path(handover.__file__).parent, quiet=1)
    return env


def run_child(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Run:
    """Run one process and read its own rusage (os.wait4), not the cumulative children's."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"failed (exit {process.returncode}): {' '.join(command)}\n{tail}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)  # KiB


def handover_command() -> list[str]:
    """The installed console script next to this interpreter, as staff and CI call it."""
    script = Path(sys.executable).parent / "handover"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "handover"]


def handover_build(
    project: Path, params: Params, env: dict[str, str], label: str, today: str | None = None
) -> Run:
    command = [
        *handover_command(),
        "build",
        "-f",
        str(project / "mkdocs.yml"),
        "--site-dir",
        str(project / "site"),
        "--today",
        today or params.today,
    ]
    log = project / "logs" / f"{label}.log"
    run = run_child(command, project, env, log)
    found = re.search(r"Built (\d+) client page", log.read_text(errors="replace"))
    run = replace(run, pages_built=int(found.group(1)) if found else None)
    note(
        f"{label}: {run.seconds:.2f} s, cpu {run.cpu_seconds:.2f} s, peak {run.peak_mb:.0f} MB, "
        f"{run.pages_built if found else '?'} pages built"
    )
    return run


def full_build(project: Path, params: Params, env: dict[str, str], label: str) -> Run:
    """A build that must build every page; anything less would measure something else."""
    run = handover_build(project, params, env, label)
    if run.pages_built is None:
        note(f"{label}: no 'Built N client pages' line in its log; cannot check it was full")
    elif run.pages_built != params.n:
        raise SystemExit(
            f"{label} built {run.pages_built} of {params.n} pages, so it was not a full build: "
            "bench/run.py no longer forces one (see force_full_builds)"
        )
    return run


@contextmanager
def force_full_builds(project: Path) -> Iterator[Callable[[int], None]]:
    """Yields ``touch(i)``: an edit to mkdocs.yml, which every page depends on.

    Builds are incremental: with nothing changed, ``handover build`` keeps every page.
    A warm full build is what follows a change every page depends on (firm settings,
    templates, the build day) with the caches kept: the daily CI rebuild, for instance.
    A new comment in mkdocs.yml is such a change that leaves every page as it was, so
    the pages stay comparable with the reference. The file is restored afterwards.
    """
    config = project / "mkdocs.yml"
    original = config.read_bytes()

    def touch(i: int) -> None:
        config.write_bytes(original + f"# bench: warm full build {i}\n".encode())

    try:
        yield touch
    finally:
        config.write_bytes(original)


def measure(project: Path, params: Params, repeat: int, env: dict[str, str]) -> dict[str, Any]:
    """(a) cold + warm full builds, (b) the reference, (c) rebuilds; (d) from all of them."""
    shutil.rmtree(project / ".handover" / "cache", ignore_errors=True)
    shutil.rmtree(project / "site", ignore_errors=True)
    cold = full_build(project, params, env, "full-cold")
    warm = []
    with force_full_builds(project) as touch:
        for i in range(1, repeat + 1):
            touch(i)
            warm.append(full_build(project, params, env, f"full-warm-{i}"))
        reference = prepare_reference(project, params)
        references = [run_reference(reference, env, f"reference-{i}") for i in range(1, repeat + 1)]
        rebuilds = measure_rebuilds(project, params, repeat, env)
    next_days = measure_next_days(project, params, repeat, env)
    handover_runs = [cold, *warm, *rebuilds, *next_days]
    full_s = median_seconds(warm)
    reference_s = median_seconds(references)
    rebuild_s = median_seconds(rebuilds)
    return {
        "n": params.n,
        "mode": params.mode,
        "full_s": full_s,
        "reference_s": reference_s,
        "rebuild_s": rebuild_s,
        "peak_mb": round(max(run.peak_mb for run in handover_runs), 1),
        "full_cold_s": round(cold.seconds, 3),
        "full_over_reference": round(full_s / reference_s, 2),
        "rebuild_over_full": round(rebuild_s / full_s, 2),
        "repeat": repeat,
        "seed": params.seed,
        "today": params.today,
        "big_file_mb": params.big_file_mb,
        "rebuild_pages_built": [run.pages_built for run in rebuilds],
        "next_day_s": median_seconds(next_days),
        "next_day_pages_built": [run.pages_built for run in next_days],
        "runs": {
            "full_cold": asdict(cold),
            "full_warm": [asdict(run) for run in warm],
            "reference": [asdict(run) for run in references],
            "rebuild": [asdict(run) for run in rebuilds],
            "next_day": [asdict(run) for run in next_days],
        },
    }


def median_seconds(runs: list[Run]) -> float:
    return round(statistics.median(run.seconds for run in runs), 3)


def measure_rebuilds(project: Path, params: Params, repeat: int, env: dict[str, str]) -> list[Run]:
    """After a full build, edit one ordinary case (not the big one) and build again.

    This is what staff do most: fix one case, rebuild. Each repetition makes a different
    edit to the page's text, so no run can reuse the previous output; the case is
    restored afterwards, so the project stays as generated.
    """
    case_file = project / "cases" / params.case_id(params.n // 2 + 1) / "case.yaml"
    original = case_file.read_bytes()
    runs = []
    try:
        for i in range(1, repeat + 1):
            case = yaml.safe_load(original)
            case["message"] = case["message"].rstrip("\n") + f"\n\nP.S. Update {i} of this page.\n"
            write_yaml(case_file, case)
            runs.append(handover_build(project, params, env, f"rebuild-{i}"))
    finally:
        case_file.write_bytes(original)
    return runs


def measure_next_days(project: Path, params: Params, repeat: int, env: dict[str, str]) -> list[Run]:
    """(f) The daily build when nobody edited anything: one build on ``--today`` (the
    rebuilds restored their case), then one on each following day. Only pages one of whose
    dates the day passed are built again; how many is in ``next_day_pages_built``."""
    handover_build(project, params, env, "next-day-0")
    start = dt.date.fromisoformat(params.today)
    return [
        handover_build(
            project, params, env, f"next-day-{i}", (start + dt.timedelta(days=i)).isoformat()
        )
        for i in range(1, repeat + 1)
    ]


def measure_publish(
    project: Path, params: Params, env: dict[str, str], target: str
) -> dict[str, Any]:
    """(e) Publish the site, edit one case, build, publish again: count what is uploaded.

    A dry run first lists the keys the publish will send, so the bench can check that
    they all belong to the edited client's page folder."""
    case_file = project / "cases" / params.case_id(params.n // 3 + 1) / "case.yaml"
    original = case_file.read_bytes()
    handover_build(project, params, env, "publish-build")
    first = handover_publish(project, params, env, target, "publish-full")
    try:
        case = yaml.safe_load(original)
        case["message"] = case["message"].rstrip("\n") + "\n\nP.S. One edit to publish.\n"
        write_yaml(case_file, case)
        handover_build(project, params, env, "publish-edit-build")
        log = project / "logs" / "publish-dry-run.log"
        run_child([*handover_command(), "publish", target, "--dry-run"], project, env, log)
        keys = re.findall(r"^would upload: (.+)$", log.read_text(errors="replace"), re.M)
        edit = handover_publish(project, params, env, target, "publish-after-edit")
    finally:
        case_file.write_bytes(original)
    return {
        "publish_target": target,
        "publish_full_s": round(first.seconds, 3),
        "publish_full_uploaded": first.objects_uploaded,
        "publish_edit_s": round(edit.seconds, 3),
        "publish_edit_uploaded": edit.objects_uploaded,
        "publish_edit_folders": sorted({key.split("/")[0] for key in keys}),
    }


def handover_publish(
    project: Path, params: Params, env: dict[str, str], target: str, label: str
) -> Run:
    """One ``handover publish``, with the number of objects it uploaded."""
    command = [*handover_command(), "publish", target, "--today", params.today]
    log = project / "logs" / f"{label}.log"
    run = run_child(command, project, env, log)
    found = re.search(r"uploaded (\d+) of (\d+) objects", log.read_text(errors="replace"))
    run = replace(run, objects_uploaded=int(found.group(1)) if found else None)
    total = found.group(2) if found else "?"
    note(f"{label}: {run.seconds:.2f} s, {run.objects_uploaded} of {total} objects uploaded")
    return run


def prepare_reference(project: Path, params: Params) -> Path:
    """The same N pages as plain Markdown, and an mkdocs.yml with the theme but no plugin.

    Pages are rendered by the project's own renderer with the day fixed, including the
    artifacts (read from the cache the full builds filled), so they match what the
    plugin hands to MkDocs before sealing. They stay out of the nav, as client pages do.
    """
    from handover.artifacts import build_artifacts
    from handover.building import open_portal, validate
    from handover.caching import ARTIFACTS_CACHE
    from handover.plugin import renderer_for
    from handover.rendering import page_view
    from handover.store import FetchedDocuments, fetch_documents, open_store

    started = time.perf_counter()
    reference = project / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    docs = reference / "docs"
    shutil.copytree(project / "site_templates" / "docs", docs)
    portal = open_portal(project / "mkdocs.yml", today=params.day)
    renderer = renderer_for(portal.settings)  # the bench holds no secret: no template cache
    firm = portal.plugin.firm(portal.config)
    store = open_store(project, portal.plugin.config.document_store)
    copies = FetchedDocuments(project, store)  # no key: plaintext copies, checked
    for case in fetch_documents(validate(portal), copies):
        view = page_view(case, params.day, firm)
        cache = project / ARTIFACTS_CACHE / case.id
        view = view.with_artifacts(build_artifacts(view, renderer.calendar_events(view), cache))
        page = docs / case.id / "index.md"
        page.parent.mkdir()
        page.write_text(renderer.render_page(view), encoding="utf-8")
    config = repo_config()
    config.update(
        docs_dir="docs",
        nav=["index.md"],
        not_in_nav="/client-*/",
        plugins=[],  # explicit: MkDocs adds 'search' when 'plugins' is missing
    )
    from handover.rendering import DEFAULT_TEMPLATES

    config["theme"]["custom_dir"] = str(DEFAULT_TEMPLATES / "overrides")
    write_yaml(reference / "mkdocs.yml", config)
    note(f"reference pages rendered in {time.perf_counter() - started:.1f} s")
    return reference


def run_reference(reference: Path, env: dict[str, str], label: str) -> Run:
    command = [sys.executable, "-m", "mkdocs", "build", "-q"]
    command += ["-f", str(reference / "mkdocs.yml"), "-d", str(reference / "site")]
    run = run_child(command, reference, env, reference.parent / "logs" / f"{label}.log")
    note(f"{label}: {run.seconds:.2f} s, cpu {run.cpu_seconds:.2f} s, peak {run.peak_mb:.0f} MB")
    return run


def profile_build(project: Path, params: Params, env: dict[str, str]) -> Path:
    """One more warm build under cProfile, to show where the time goes (not measured)."""
    output = project / "logs" / "build.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(output), "-m", "handover", "build"]
    command += ["-f", str(project / "mkdocs.yml"), "--site-dir", str(project / "site")]
    command += ["--today", params.today]
    run_child(command, project, env, project / "logs" / "profile.log")
    return output


def print_profile(path: Path) -> None:
    """cProfile inflates call-heavy code: read the shares, not the seconds."""
    import pstats

    print(f"\nProfile of one warm build ({path}), top 30 by cumulative time:")
    stats = pstats.Stats(str(path), stream=sys.stdout).sort_stats("cumulative")
    stats.print_stats(r"handover/|mkdocs/commands/build\.py|markdown/core\.py", 30)


def clean_outputs(project: Path) -> None:
    """Built sites and caches go (the 200 MB file exists three times over); cases stay."""
    for path in (
        project / "site",
        project / "reference",
        project / ".handover",
        project / "published",
    ):
        shutil.rmtree(path, ignore_errors=True)
    for leftover in project.glob(".site.*"):
        shutil.rmtree(leftover, ignore_errors=True)


# -- report ---------------------------------------------------------------------------


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_before": [round(value, 2) for value in load_before],
        "load_avg_after": [round(value, 2) for value in os.getloadavg()],
    }


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    repeat = result["repeat"]
    built = sorted({str(count) for count in result["rebuild_pages_built"]})
    table = Table(title=f"handover build, n={result['n']}, mode={result['mode']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("how")
    rows = [
        ("(a) full build, cold", f"{result['full_cold_s']:.2f} s", "first run, no .handover/cache"),
        (
            "(a) full build, warm = full_s",
            f"{result['full_s']:.2f} s",
            f"median of {repeat}; caches kept, every page built (mkdocs.yml edited)",
        ),
        ("(b) reference mkdocs", f"{result['reference_s']:.2f} s", f"median of {repeat}"),
        (
            "(c) rebuild, 1 case edited",
            f"{result['rebuild_s']:.2f} s",
            f"median of {repeat}; pages built: {'/'.join(built)}",
        ),
        (
            "(f) next day, nothing edited",
            f"{result['next_day_s']:.2f} s",
            f"median of {repeat} days in a row; pages built: "
            f"{'/'.join(str(n) for n in result['next_day_pages_built'])}",
        ),
        ("(d) peak memory", f"{result['peak_mb']:.0f} MB", "max RSS of all handover builds"),
        (
            "(e) publish, 1 case edited",
            f"{result['publish_edit_uploaded']} objects, {result['publish_edit_s']:.2f} s",
            f"folders: {', '.join(result['publish_edit_folders'])}; "
            f"full publish {result['publish_full_uploaded']} objects, "
            f"{result['publish_full_s']:.2f} s",
        ),
        ("a/b", f"{result['full_over_reference']:.2f}", "full_s / reference_s"),
        ("c/a", f"{result['rebuild_over_full']:.2f}", "rebuild_s / full_s"),
    ]
    for row in rows:
        table.add_row(*row)
    info = result["machine"]
    console = Console()
    console.print(table)
    console.print(
        f"machine: {info['cpus']} CPUs, Python {info['python']}, {info['platform']}, "
        f"load {info['load_avg_before'][0]} -> {info['load_avg_after'][0]}; "
        f"big file {result['big_file_mb']} MB, seed {result['seed']}, today {result['today']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
