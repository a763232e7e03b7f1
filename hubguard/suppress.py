"""Suppressions a user keeps beside their code: a ``.hubguardignore`` file and a detect-secrets
baseline (``.secrets.baseline``). Inline ``pragma: allowlist secret`` comments are handled by the
detector, since only it sees the lines.

``.hubguardignore`` holds one entry per line::

    rule:generic-secret-assignment                  # a rule id, everywhere
    path:/app/tests/**          expires=2026-12-31  # a glob (rules' glob syntax) on the finding's path
    fingerprint:3f2a1b0c9d8e                        # one finding, by its fingerprint or a unique prefix

``expires=YYYY-MM-DD`` is optional: from that day on the entry stops suppressing and the report
says so. Text after ``#`` is a comment; blank lines and ``#`` lines are ignored. Anything else
is an input error naming the file and line, because a typo that silently suppresses nothing
(or everything) is worse than a refusal. For the same reason an unknown rule id is refused
(naming the nearest real one), a fingerprint prefix must pick one finding, and an entry that
matched nothing in a scan is reported as a warning.

A baseline suppresses every finding whose ``hashed_secret`` it lists, whatever the path: a
baseline made by scanning a repository also covers the same secret once it is inside an image.
``hubguard baseline`` writes one in detect-secrets' own format (see :func:`baseline_document`),
recording the images it was made from, so applying it to another image warns.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hubguard.detect.rules import RuleSet, glob_match
from hubguard.errors import InputError
from hubguard.model import Finding, ScanReport

IGNORE_FILE = ".hubguardignore"
USER_IGNORE_FILE = "hubguardignore"  # beside the user's config.toml
BASELINE_FILE = ".secrets.baseline"
KINDS = ("rule", "path", "fingerprint")
GENERIC_SECRET_TYPE = "Secret Keyword"  # detect-secrets' KeywordDetector type
_ENTRY = re.compile(r"(?P<kind>[a-z]+):(?P<value>\S+)(?:\s+expires=(?P<expires>\S+))?")
# The table shows 12 characters of the 32; fewer than 8 would too easily pick a stranger.
_FINGERPRINT = re.compile(r"[0-9a-f]{8,32}")


@dataclass(frozen=True)
class IgnoreEntry:
    """One ``.hubguardignore`` line; ``origin`` (``file:line``) is how notes refer to it."""

    kind: str
    value: str
    origin: str
    expires: date | None = None
    comment: str = ""

    def expired(self, today: date) -> bool:
        return self.expires is not None and today >= self.expires

    @property
    def source(self) -> str:
        """The file the entry came from, as the summary line names it."""
        return display_path(self.origin.rsplit(":", 1)[0])

    def matches(self, finding: Finding) -> bool:
        if self.kind == "rule":
            return finding.rule_id == self.value
        if self.kind == "fingerprint":
            return finding.fingerprint.startswith(self.value)  # a unique prefix, see Suppressions
        # A glob on an archive also covers its members (``outer.jar!inner/file``).
        outer = finding.path.split("!", 1)[0]
        return glob_match(finding.path, self.value) or glob_match(outer, self.value)


@dataclass
class Suppressions:
    """Everything that may suppress a finding; :meth:`apply` is the only thing callers need."""

    entries: list[IgnoreEntry] = field(default_factory=list)
    baseline_hashes: frozenset[str] = frozenset()
    baseline_source: str = ""  # the baseline file, as the summary line names it
    baseline_targets: tuple[str, ...] = ()  # the images ``hubguard baseline`` wrote it for
    # Said once a scan was applied: entries that matched nothing, a baseline of another image.
    warnings: list[str] = field(default_factory=list)

    def check_rule_ids(self, known: Collection[str]) -> None:
        """Refuse ``rule:`` entries naming no rule in play, suggesting the nearest real id."""
        for entry in self.entries:
            if entry.kind != "rule" or entry.value in known:
                continue
            longer = sorted((rule_id for rule_id in known if rule_id.startswith(entry.value)), key=len)
            nearest = longer[:1] or difflib.get_close_matches(entry.value, sorted(known), n=1, cutoff=0.5)
            hint = f"did you mean rule:{nearest[0]}? " if nearest else ""
            raise InputError(f"{entry.origin}: rule:{entry.value} is no rule id ({hint}see: hubguard rules)")

    def apply(self, report: ScanReport) -> None:
        """Drop suppressed findings (counted in ``report.suppressed`` and, per file, in
        ``report.suppressed_by``), note expired entries and collect :attr:`warnings`."""
        today = date.today()
        active = [entry for entry in self.entries if not entry.expired(today)]
        for entry in self.entries:
            if entry.expired(today):
                why = f" ({entry.comment})" if entry.comment else ""
                report.notes.append(
                    f"{entry.origin}: {entry.kind}:{entry.value}{why} expired on "
                    f"{entry.expires.isoformat()}, no longer suppresses"
                )
        _check_prefixes_unique(active, report.findings)
        used: set[int] = set()
        kept = []
        by_source: dict[str, int] = {}
        for finding in report.findings:
            source = self._suppressor(active, finding, used)
            if source is None:
                kept.append(finding)
            else:
                by_source[source] = by_source.get(source, 0) + 1
                report.suppressed_by[source] = report.suppressed_by.get(source, 0) + 1
        for source, count in by_source.items():  # no suppression is silent: each file is named
            report.notes.append(f"{source}: suppressed {count} finding{'s' * (count != 1)}")
        report.suppressed += len(report.findings) - len(kept)
        report.findings = kept
        self.warnings += [
            f"{entry.origin}: {entry.kind}:{entry.value} matched nothing in this scan"
            for position, entry in enumerate(active)
            if position not in used
        ]
        names = {target.name for target in report.targets if target.kind == "image"}
        if self.baseline_targets and names and not names & set(self.baseline_targets):
            self.warnings.append(
                f"{self.baseline_source} was written for {', '.join(self.baseline_targets)}, "
                f"not for {', '.join(sorted(names))}; its secrets are suppressed here too"
            )

    def _suppressor(self, active: list[IgnoreEntry], finding: Finding, used: set[int]) -> str | None:
        """The file that suppresses ``finding`` (the baseline first), marking each entry that matched."""
        matched = [position for position, entry in enumerate(active) if entry.matches(finding)]
        used.update(matched)
        if finding.hashed_secret in self.baseline_hashes:
            return self.baseline_source or BASELINE_FILE
        return active[matched[0]].source if matched else None


def _check_prefixes_unique(entries: list[IgnoreEntry], findings: list[Finding]) -> None:
    """A shortened fingerprint must name one finding; two would make it suppress more than meant."""
    for entry in entries:
        if entry.kind != "fingerprint" or len(entry.value) == 32:
            continue
        hits = sorted({f.fingerprint for f in findings if f.fingerprint.startswith(entry.value)})
        if len(hits) > 1:
            raise InputError(
                f"{entry.origin}: fingerprint:{entry.value} matches {len(hits)} findings "
                f"({', '.join(h[:16] for h in hits[:3])}…): give more of it (--format json shows all 32)"
            )


def display_path(path: str | Path) -> str:
    """A suppression file as a person at this directory would name it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def load_suppressions(
    start: Path, baseline: Path | None = None, ignore_file: Path | None = None
) -> Suppressions:
    """The suppressions of the project a scan runs in, from ``start`` (the current directory).

    Only the project's own files count, never a stray file in some parent directory (a
    ``/tmp/.hubguardignore`` on a shared machine must not silence anyone's scan): the
    ``.hubguardignore`` and ``.secrets.baseline`` at the top of the git checkout ``start`` is
    in (else in ``start`` itself), the user's ``$XDG_CONFIG_HOME/hubguard/hubguardignore``, and
    ``ignore_file`` / ``baseline`` given explicitly (which must exist).
    """
    from hubguard.config import user_config_path

    project = project_root(start)
    suppressions = Suppressions()
    user_file = user_config_path().parent / USER_IGNORE_FILE
    candidates = [user_file, project / IGNORE_FILE]
    if ignore_file is not None:
        if not ignore_file.is_file():
            raise InputError(f"ignore file {ignore_file}: no such file")
        candidates.append(ignore_file)
    for path in candidates:
        if path.is_file():
            suppressions.entries += parse_ignore_file(path)
    if baseline is None:
        baseline = project / BASELINE_FILE if (project / BASELINE_FILE).is_file() else None
    elif not baseline.is_file():
        raise InputError(f"baseline {baseline}: no such file")
    if baseline is not None:
        data = read_baseline(baseline)
        suppressions.baseline_hashes = frozenset(baseline_hashes(data))
        suppressions.baseline_source = display_path(baseline)
        suppressions.baseline_targets = baseline_targets(data)
    return suppressions


def project_root(start: Path) -> Path:
    """The top of the git checkout holding ``start``, else ``start`` itself."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def parse_ignore_file(path: Path) -> list[IgnoreEntry]:
    """Every entry of a ``.hubguardignore``; a malformed line is an :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    return [
        entry
        for number, line in enumerate(text.splitlines(), start=1)
        if (entry := parse_ignore_line(line, f"{path}:{number}")) is not None
    ]


def parse_ignore_line(line: str, origin: str) -> IgnoreEntry | None:
    """One line: an entry, or None for a blank or comment line."""
    if line.lstrip().startswith("#"):
        return None
    body, comment = _split_comment(line)
    body = body.strip()
    if not body:
        return None
    match = _ENTRY.fullmatch(body)
    if match is None or match["kind"] not in KINDS:
        raise InputError(
            f"{origin}: cannot parse {body!r} (expected rule:ID, path:GLOB or fingerprint:FP, "
            "optionally followed by expires=YYYY-MM-DD)"
        )
    if match["kind"] == "fingerprint" and not _FINGERPRINT.fullmatch(match["value"]):
        raise InputError(
            f"{origin}: fingerprint:{match['value']} is not a fingerprint "
            "(8 to 32 hex characters, as the report shows it)"
        )
    expires = None
    if match["expires"] is not None:
        try:
            expires = date.fromisoformat(match["expires"])
        except ValueError:
            raise InputError(f"{origin}: expires={match['expires']} is not a YYYY-MM-DD date") from None
    return IgnoreEntry(match["kind"], match["value"], origin, expires, comment.strip())


def _split_comment(line: str) -> tuple[str, str]:
    """(entry, comment), split at a ``#`` after whitespace so ``path:a#b`` keeps its ``#``."""
    match = re.search(r"\s#", line)
    if match is None:
        return line, ""
    return line[: match.start()], line[match.end() :]


# -- detect-secrets baselines ------------------------------------------------------------------


def read_baseline(path: Path) -> dict:
    """A baseline's JSON, checked: anything that is not a detect-secrets baseline is an input
    error (a broken baseline must not silently suppress nothing, or everything)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"baseline {path}: not readable as JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise InputError(f'baseline {path}: no "results" object (not a detect-secrets baseline)')
    for filename, entries in data["results"].items():
        if not isinstance(entries, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("hashed_secret"), str) for entry in entries
        ):
            raise InputError(f"baseline {path}: results[{filename!r}] is not a list of hashed_secret entries")
    return data


def baseline_hashes(data: dict) -> set[str]:
    return {entry["hashed_secret"] for entries in data["results"].values() for entry in entries}


def baseline_targets(data: dict) -> tuple[str, ...]:
    """The images a ``hubguard baseline`` was written for (none for detect-secrets' own)."""
    recorded = data.get("hubguard")
    targets = recorded.get("targets") if isinstance(recorded, dict) else None
    if not isinstance(targets, list):
        return ()
    return tuple(target for target in targets if isinstance(target, str))


def baseline_document(
    findings: Iterable[Finding],
    rules: RuleSet,
    previous: dict | None = None,
    targets: Iterable[str] = (),
) -> dict:
    """A detect-secrets 1.5 baseline listing ``findings`` (plus ``previous``'s results, kept).

    ``hubguard.targets`` records the images scanned (plus ``previous``'s), so a scan of another
    image can warn; detect-secrets ignores the key.

    ``type`` is a detect-secrets secret type, because its tools (``audit``) look every type up
    among their plugins: a finding of one of its plugins keeps its own type, any other finding
    is filed as ``Secret Keyword``. ``plugins_used``/``filters_used`` name the plugins and
    filters hubguard runs, so ``detect_secrets.core.baseline.load`` configures itself from it.
    """
    from detect_secrets.__version__ import VERSION
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    from hubguard.detect.engine import detect_secrets_filters

    known_types = get_mapping_from_secret_type_to_class()
    results: dict[str, dict[tuple[str, str], dict]] = {}
    for filename, entries in ((previous or {}).get("results") or {}).items():
        for entry in entries:
            results.setdefault(filename, {})[(entry.get("type", ""), entry["hashed_secret"])] = entry
    for finding in findings:
        secret_type = finding.title if finding.title in known_types else GENERIC_SECRET_TYPE
        entry = {
            "type": secret_type,
            "filename": finding.path,
            "hashed_secret": finding.hashed_secret,
            "is_verified": False,
        }
        if finding.line:
            entry["line_number"] = finding.line
        results.setdefault(finding.path, {}).setdefault((secret_type, finding.hashed_secret), entry)
    filters = sorted(f"{check.__module__}.{check.__name__}" for check, _ in detect_secrets_filters())
    return {
        "version": VERSION,
        "plugins_used": [{"name": plugin.name} for plugin in sorted(rules.plugins, key=lambda p: p.name)],
        "filters_used": [{"path": path} for path in filters],
        "results": {
            filename: sorted(entries.values(), key=lambda e: (e.get("line_number", 0), e["hashed_secret"]))
            for filename, entries in sorted(results.items())
        },
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "hubguard": {"targets": sorted({*baseline_targets(previous or {}), *targets})},
    }


def write_baseline(path: Path, document: dict) -> None:
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
