"""Stage 2c: refuse credentials anywhere in a case, ``internal:`` included.

A case lives in git: whatever is written into it reaches every clone, every member of
staff and, outside ``internal:``, the client's page. A password or token in it has leaked
the moment it is committed, so validation refuses it with file, line and field like any
other problem. The right place for access is a description in the account ``steps`` of
how the client sets or receives their own credential.

Three kinds of evidence, from the most specific to the least:

- a token of a known service, by its documented prefix or shape (``TOKEN_RULES``);
- a password-like label with a value after it (``heslo: Jaro2024``), or a password-like key;
- a long random-looking string (high entropy, mixed character classes, no words in it).

Look-alikes that cases legitimately hold (IBANs, hex digests, UUIDs, dates, ordinary URLs,
file paths, sentences about passwords) are kept out by the shape of each rule. Staff who
reviewed a flagged value and know it is not a credential list it under ``not_secrets:``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from handover.loading import SourceDocument
from handover.problems import FieldPath, Problem, format_field_path

#: The case field that lists reviewed values which only look like credentials.
WHITELIST_FIELD = "not_secrets"

ADVICE = (
    "never put credentials in a case: describe in `steps` how the client sets their own, "
    "or if this value is not secret add it to `not_secrets:`"
)

# Token characters stop at these edges, so that a prefix must start a token, not sit inside one.
_START = r"(?<![A-Za-z0-9_-])"
_END = r"(?![A-Za-z0-9_-])"
# A URL scheme such as https://, matched only from the start of a word.
_SCHEME = r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://"
# The first run of a token mixes upper case, lower case and digits, as generated keys do
# and slugs such as sk-bratislava-office-network-documentation do not.
_MIXED_RUN = r"(?=[A-Za-z0-9_]*[A-Z])(?=[A-Za-z0-9_]*[a-z])(?=[A-Za-z0-9_]*[0-9])"

#: Credentials recognised by a documented prefix or shape: what the message calls it, and
#: its pattern. Where only part of a match is secret, the group ``secret`` marks it.
TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # PEM and OpenSSH private keys (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... KEY BLOCK),
    # up to their END line, so that the key's body is not reported again. The longest
    # private keys in use (RSA 8192, PGP blocks) are well under 10,000 characters.
    (
        "a private key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,10000}?-----END [A-Z0-9 ]*-----)?"
        ),
    ),
    # AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 more.
    ("an AWS access key id", re.compile(rf"{_START}(?:AKIA|ASIA)[A-Z0-9]{{16}}{_END}")),
    # GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens.
    ("a GitHub token", re.compile(rf"{_START}gh[pousr]_[A-Za-z0-9]{{30,}}{_END}")),
    # GitHub fine-grained personal access tokens.
    ("a GitHub token", re.compile(rf"{_START}github_pat_[A-Za-z0-9_]{{22,}}{_END}")),
    # GitLab personal access tokens.
    ("a GitLab token", re.compile(rf"{_START}glpat-[A-Za-z0-9_-]{{20,}}")),
    # Slack bot, user, app and refresh tokens.
    ("a Slack token", re.compile(rf"{_START}xox[bpar]-[A-Za-z0-9-]{{10,}}")),
    # Slack incoming webhooks: whoever has the URL can post to the channel.
    ("a Slack webhook", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9_/-]{16,}")),
    # Stripe live secret and restricted keys.
    ("a Stripe key", re.compile(rf"{_START}[sr]k_live_[A-Za-z0-9]{{20,}}")),
    # Google API keys: AIza and 35 more.
    ("a Google API key", re.compile(rf"{_START}AIza[A-Za-z0-9_-]{{35}}{_END}")),
    # OpenAI-style keys: sk-, sk-proj-, sk-svcacct-, sk-admin- and a long random part.
    (
        "an API key",
        re.compile(rf"{_START}sk-(?:proj-|svcacct-|admin-)?{_MIXED_RUN}[A-Za-z0-9_-]{{32,}}"),
    ),
    # JSON Web Tokens: base64url header (always eyJ, '{"'), payload and signature.
    (
        "a JSON Web Token",
        re.compile(rf"{_START}eyJ[A-Za-z0-9_-]{{10,}}\.[A-Za-z0-9_-]{{10,}}\.[A-Za-z0-9_-]*"),
    ),
    # Twilio API key SIDs: SK and 32 lower-case hex digits.
    ("a Twilio API key", re.compile(rf"{_START}SK[0-9a-f]{{32}}{_END}")),
    # SendGrid API keys: SG.<id>.<secret>.
    ("a SendGrid API key", re.compile(rf"{_START}SG\.[A-Za-z0-9_-]{{16,}}\.[A-Za-z0-9_-]{{16,}}")),
    # Azure storage and service bus connection strings.
    (
        "an Azure connection string key",
        re.compile(r"(?:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})"),
    ),
    # URLs with a password in them: https://user:password@host.
    (
        "a password in a URL",
        re.compile(rf"{_SCHEME}[^\s:/?#@]+:(?P<secret>[^\s/?#@]+)@"),
    ),
)

#: Words that introduce a password or PIN, by language (matched ignoring case).
PASSWORD_LABELS: dict[str, tuple[str, ...]] = {
    "en": ("password", "passwords", "passwd", "pwd", "passphrase", "passcode", "pin"),
    "cs": ("heslo", "hesla"),
    "pl": ("hasło", "haslo", "hasła"),
    "de": ("passwort", "kennwort"),
    "ru": ("пароль", "пароли"),
    "vi": ("mật khẩu", "mat khau"),
}
_LABEL = "|".join(
    re.escape(label).replace(r"\ ", r"\s+")
    for labels in PASSWORD_LABELS.values()
    for label in labels
)

#: A label, ':' or '=', and the value after it on the same or the next line. The label
#: starts a word or a CamelCase part (adminPassword:); Markdown bold (**Heslo:**) and quotes
#: or backticks around the value are allowed.
LABELLED_VALUE = re.compile(
    rf"(?:(?<![^\W_])|(?-i:(?<=[a-z])(?=[A-Z])))(?P<label>{_LABEL})"
    r"\**[ \t]*(?P<separator>[:=])[ \t]*(?:\n[ \t]*)?(?:\*+[ \t]*)?[`'\"]?(?P<value>[^\s`'\"]+)",
    re.IGNORECASE,
)
#: A key such as ``password``, ``admin_password``, ``wifi-heslo`` or ``PIN``.
PASSWORD_KEY = re.compile(rf"(?:.*[\W_])?(?:{_LABEL})", re.IGNORECASE)
_CAMEL_CASE_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")

#: Values after a label that say there is no password to give.
PLACEHOLDERS = frozenset({"none", "n/a", "null", "nil", "empty", "unknown", "tbd", "redacted"})
_TRAILING_PUNCTUATION = ".,;:!?)]}>"
_LETTER_BESIDE_DIGIT = re.compile(r"[^\W\d_][0-9]|[0-9][^\W\d_]")
_SENTENCE_GOES_ON = re.compile(r"[ \t]+[^\W\d_]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: Candidates for the randomness rule: long runs of base64 and base64url characters.
RANDOM_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{24,}(?![A-Za-z0-9+/_=-])")
#: Hex digests and UUIDs are fingerprints and ids that cases show on purpose.
_HEX_OR_UUID = re.compile(r"[0-9A-Fa-f-]+")
#: Addresses: the randomness rule skips them, as shared-file links carry random ids (a
#: password in an address is caught by ``TOKEN_RULES``).
_URL = re.compile(rf"{_SCHEME}\S+")
#: Letters as words read them: Capitalised, lower or UPPER runs.
_LETTER_RUN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
#: Random base64 of 24 characters carries at least ~3.7 bits a character; words and dates less.
MIN_ENTROPY_BITS = 3.5
#: In random tokens letters come in runs of about two; in names, words and CamelCase, longer.
MAX_MEAN_LETTER_RUN = 3.0


@dataclass(frozen=True)
class Suspect:
    """Part of a text that looks like a credential: what it looks like, and where it is."""

    kind: str
    start: int
    end: int
    context: str = ""


@dataclass(frozen=True)
class Written:
    """A key or string value of a case, and where it was written."""

    at: FieldPath
    text: str
    is_key: bool = False
    #: The password-like key this value was written under (``password: hunter2``), if any.
    key_label: str | None = None


def find_secrets(source: SourceDocument) -> list[Problem]:
    """Every credential-like value in a parsed case, as problems at its field and line."""
    allowed = reviewed_values(source.data, source.texts)
    problems: list[Problem] = []
    for written in _written_texts(source.data, (), source.texts):
        text = unicodedata.normalize("NFC", written.text)
        for suspect in suspects_in(text, written.key_label):
            if _is_reviewed(text, suspect, allowed):
                continue
            shown = _masked(text[suspect.start : suspect.end])
            field = written.at
            if written.is_key:  # the field path would repeat the secret otherwise
                field = (*field[:-1], text[: suspect.start] + shown + text[suspect.end :])
            problems.append(
                Problem(
                    source.path,
                    source.line_of(written.at),
                    format_field_path(field),
                    _message(suspect, shown),
                )
            )
    return problems


def reviewed_values(data: Any, texts: Mapping[FieldPath, str] | None = None) -> list[str]:
    """The case's ``not_secrets:`` values, as written; a malformed list is the model's to
    report."""
    listed = data.get(WHITELIST_FIELD) if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return []
    texts = texts or {}
    values = (
        texts.get((WHITELIST_FIELD, index)) or _scalar_text(item)
        for index, item in enumerate(listed)
    )
    return [unicodedata.normalize("NFC", value).strip() for value in values if value]


def suspects_in(text: str, key_label: str | None = None) -> list[Suspect]:
    """What in ``text`` looks like a credential, the most specific evidence first.

    ``key_label`` is the password-like key ``text`` was written under, if any: then the
    whole value is a suspect. A part of the text is reported once, under the first rule
    that catches it.
    """
    found: list[Suspect] = []
    reported = bytearray(len(text))  # 1 where a kept suspect already covers the character
    candidates = [
        *_tokens_of_services(text),
        *_under_password_key(text, key_label),
        *_labelled_passwords(text),
        *_random_tokens(text),
    ]
    for candidate in candidates:
        if not any(reported[candidate.start : candidate.end]):
            found.append(candidate)
            reported[candidate.start : candidate.end] = b"\1" * (candidate.end - candidate.start)
    return found


def _written_texts(
    data: Any, at: FieldPath, texts: Mapping[FieldPath, str] | None = None
) -> Iterator[Written]:
    """Every key and string of the case with its field path.

    A value under a password-like key is yielded even when YAML read it as a number
    (``PIN: 4831``), as written (``PIN: 0042``, not 42; ``texts`` holds the source text of
    such scalars). The ``not_secrets`` list itself is skipped: it holds reviewed values.
    """
    texts = texts or {}
    if isinstance(data, dict):
        for key, value in data.items():
            child = (*at, key)
            if child == (WHITELIST_FIELD,):
                continue
            yield Written(child, str(key), is_key=True)
            key_label = _password_key_label(str(key))
            scalar = texts.get(child) or _scalar_text(value)
            if key_label is not None and scalar is not None:
                yield Written(child, scalar, key_label=key_label)
            else:
                yield from _written_texts(value, child, texts)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _written_texts(item, (*at, index), texts)
    elif isinstance(data, str):
        yield Written(at, data)


def _scalar_text(value: Any) -> str | None:
    """A string or number as text; None for anything else (true/false, lists, mappings)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def _password_key_label(key: str) -> str | None:
    """``key`` itself when it names a password (``password``, ``adminPassword``, ``PIN``)."""
    words = _CAMEL_CASE_BOUNDARY.sub("_", unicodedata.normalize("NFC", key))
    return key if PASSWORD_KEY.fullmatch(words) else None


def _tokens_of_services(text: str) -> Iterator[Suspect]:
    """Documented token shapes: near-certain evidence, so they are checked first."""
    for kind, pattern in TOKEN_RULES:
        for match in pattern.finditer(text):
            group = "secret" if "secret" in pattern.groupindex else 0
            yield Suspect(kind, match.start(group), match.end(group))


def _under_password_key(text: str, key_label: str | None) -> Iterator[Suspect]:
    """A value under a ``password:`` key is one, whatever it looks like (unless a placeholder)."""
    value = text.strip()
    if key_label is not None and value and value.casefold() not in PLACEHOLDERS:
        start = text.index(value)
        yield Suspect("a password", start, start + len(value), f"under the key '{key_label}'")


def _labelled_passwords(text: str) -> Iterator[Suspect]:
    """``password: hunter2`` in free text; only the value is the suspect, not the label."""
    for match in LABELLED_VALUE.finditer(text):
        raw = match.group("value")
        value = raw.rstrip(_TRAILING_PUNCTUATION)
        goes_on = value == raw and _SENTENCE_GOES_ON.match(text, match.end()) is not None
        if _looks_like_password(value, sentence_goes_on=goes_on):
            label = f"{match.group('label')}{match.group('separator')}"
            start = match.start("value")
            yield Suspect("a password", start, start + len(value), f"after '{label}'")


def _looks_like_password(value: str, *, sentence_goes_on: bool) -> bool:
    """Is the word after a label a credential, or the start of a sentence about one?

    ``PIN: 4831`` and ``password: hunter2`` give one; ``Password: the client sets their
    own`` and ``Heslo: nastavíte si vlastní`` go on as sentences. A word mixing letters and digits
    is a credential even mid-sentence; a plain word only when nothing follows it.
    """
    if len(value) < 4 or value.casefold() in PLACEHOLDERS:
        return False
    if value.isdigit():
        return True
    if not any(character.isalpha() for character in value):
        return False  # dates, phone numbers, masked ******
    if "://" in value or _EMAIL.fullmatch(value):
        return False  # where to find it, not what it is
    if _LETTER_BESIDE_DIGIT.search(value):
        return True
    return not sentence_goes_on


def _random_tokens(text: str) -> Iterator[Suspect]:
    """Keys of services no rule knows, recognised by looking generated; URLs are left out."""
    in_urls = [url.span() for url in _URL.finditer(text)]
    for match in RANDOM_TOKEN.finditer(text):
        inside_url = any(start <= match.start() < end for start, end in in_urls)
        if not inside_url and looks_random(match.group()):
            yield Suspect("a key or token", match.start(), match.end())


def looks_random(token: str) -> bool:
    """A generated key rather than a word, name, path, IBAN, digest or UUID?

    Generated keys mix upper case, lower case and digits, carry much information per
    character, and their letters come in short runs. IBANs lack lower case, digests and
    UUIDs are hex, and names, paths and CamelCase are made of words.
    """
    if _HEX_OR_UUID.fullmatch(token):
        return False
    has_classes = (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )
    if not has_classes or shannon_entropy(token) < MIN_ENTROPY_BITS:
        return False
    runs = _LETTER_RUN.findall(token)
    return sum(len(run) for run in runs) / len(runs) <= MAX_MEAN_LETTER_RUN


def shannon_entropy(text: str) -> float:
    """Bits of information per character, from the character frequencies of ``text``."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _is_reviewed(text: str, suspect: Suspect, allowed: list[str]) -> bool:
    """Does the suspect lie within a value staff listed under ``not_secrets:``?"""
    for value in allowed:
        start = text.find(value)
        while start != -1:
            if start <= suspect.start and suspect.end <= start + len(value):
                return True
            start = text.find(value, start + 1)
    return False


def _masked(secret: str) -> str:
    """Too little of a suspected secret to be of use to whoever reads the output."""
    return f"{secret[: min(4, len(secret) // 3)]}…"


def _message(suspect: Suspect, shown: str) -> str:
    where = f"{suspect.context}, " if suspect.context else ""
    return f"looks like {suspect.kind} ({where}starts '{shown}'); {ADVICE}"
