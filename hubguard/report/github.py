"""GitHub Actions workflow commands: one annotation per finding, an error per problem, a notice
per note.

Escaping follows the runner's parser (actions/toolkit ``command.ts``): ``escape_data`` for
the message, ``escape_property`` for ``file=``/``title=`` values, where ``:`` and ``,``
would otherwise end the value early.
"""

from __future__ import annotations

from hubguard.model import Finding, ScanReport, Severity, ordered, printable
from hubguard.report.common import describe

COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
}
# Only these sources name a file in the checked-out repository; an in-image path given as
# ``file=`` would point the annotation at an unrelated (or missing) repository file.
REPOSITORY_SOURCES = frozenset({"context", "dockerignore", "dockerfile", "ci"})


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, str], message: str) -> str:
    """``::name key=value,key=value::message``; empty values are left out, as the toolkit does."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding: Finding) -> str:
    properties: dict[str, str] = {}
    if finding.source in REPOSITORY_SOURCES:
        properties["file"] = printable(finding.path)
        if finding.line is not None and finding.line >= 1:
            properties["line"] = str(finding.line)
    properties["title"] = f"hubguard {finding.severity.label}: {printable(finding.title)}"
    return command(COMMAND[finding.severity], properties, describe(finding))


def to_github(report: ScanReport) -> str:
    lines = [annotation(finding) for finding in ordered(report.findings)]
    lines.extend(
        command("error", {"title": "hubguard: scan incomplete"}, printable(problem))
        for problem in report.problems
    )
    lines.extend(
        command("notice", {"title": "hubguard: not scanned"}, printable(note)) for note in report.notes
    )
    return "".join(line + "\n" for line in lines)
