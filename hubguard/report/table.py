"""The terminal report: one block per finding, grouped by target, then a summary line.

One layout that reads at 80 columns: the path comes first, on its own line and in full (a
path folded into pieces cannot be copied or read), then one labelled field per line (rule,
severity, layer, state, preview) and what to do next (the rule's remediation text), wrapped
under its label.

Every piece of image or repository data goes in as ``rich.text.Text`` through ``printable``,
never as markup: a path like ``history[2]`` or a ``created_by`` holding ``[bold]`` or an
escape sequence is shown as written, not interpreted.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import textwrap
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from hubguard.model import (
    Finding,
    ScanReport,
    Severity,
    Target,
    ordered,
    printable,
    short_digest,
    state_phrase,
)
from hubguard.report.common import layer_label, owner_phrase, plural, summary_text

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
# Not a terminal and no usable COLUMNS: wide enough for a CI log, narrow enough to read.
DEFAULT_WIDTH = 100
MIN_WIDTH = 40
LABEL_WIDTH = 12  # "  critical  "
HIDDEN_ADVICE = (
    "A later layer hides it, but layer {index} still ships it to anyone who pulls the image: "
    "rebuild without it (a multi-stage build, or a build secret mount), and rotate it."
)


def wants_color(color: bool | None, stream: Any = None) -> bool:
    """An explicit choice (``--color always|never``) wins; then FORCE_COLOR (non-empty: colour,
    force-color.org), then NO_COLOR (non-empty: none, no-color.org); otherwise colour only a
    terminal."""
    if color is not None:
        return color
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    return (stream or sys.stdout).isatty()


def output_width(stream: Any = None) -> int:
    """The terminal's width on a terminal; else ``COLUMNS`` when it is a usable number; else a
    width that keeps lines readable in a log or a pipe."""
    if (stream or sys.stdout).isatty():
        return max(shutil.get_terminal_size().columns, MIN_WIDTH)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    return DEFAULT_WIDTH


def to_table(
    report: ScanReport,
    *,
    color: bool | None = None,
    width: int | None = None,
    rules: Mapping[str, Any] | None = None,
) -> str:
    """Render for a person; without colour the text holds no escape codes at all.

    ``rules`` (id → rule) supplies each finding's remediation text; without it the built-in
    packs are read."""
    enabled = wants_color(color)
    width = width or output_width()
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=enabled,
        no_color=not enabled,
        color_system="standard" if enabled else None,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
        soft_wrap=True,  # we wrap; rich must not fold a long path into pieces
    )
    findings = ordered(report.findings)
    if findings:
        remediation = _remediation_texts(rules, findings)
        for lines in _blocks(report.targets, findings, remediation, width):
            for line in lines:
                console.print(line)
    elif report.complete:
        console.print(f"No secrets found in {plural(len(report.targets), 'target')}.")
    else:
        console.print("No secrets found in what could be read, but the scan is incomplete:")
    for note in report.notes:
        console.print(Text(f"not scanned: {printable(note)}", style="dim"))
    for problem in report.problems:
        console.print(Text(f"scan incomplete: {printable(problem)}", style="bold red"))
    console.print(summary_line(report), soft_wrap=False)
    if enabled:
        return buffer.getvalue()
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _remediation_texts(rules: Mapping[str, Any] | None, findings: list[Finding]) -> dict[str, str]:
    if rules is None:
        from hubguard.detect.rules import load_rules

        rules = load_rules([]).by_id()
    texts = {}
    for rule_id in {finding.rule_id for finding in findings}:
        rule = rules.get(rule_id)
        texts[rule_id] = " ".join(str(getattr(rule, "description", "") or "").split())
    return texts


def _blocks(
    targets: list[Target], findings: list[Finding], remediation: dict[str, str], width: int
) -> list[list[Text]]:
    """A heading per target (in scan order), then one block per finding."""
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_target[finding.target].append(finding)
    known = {target.name: target for target in targets}
    names = [t.name for t in targets if t.name in by_target]
    names += [name for name in by_target if name not in known]
    blocks = []
    for name in names:
        members = by_target[name]
        heading = f"{_target_label(known.get(name), name)}: {plural(len(members), 'finding')}"
        wrapped = textwrap.wrap(heading, width, break_long_words=False, break_on_hyphens=False)
        blocks.append([*(Text(line, style="bold") for line in wrapped), Text("")])
        blocks += [[*finding_block(f, remediation.get(f.rule_id, ""), width), Text("")] for f in members]
    return blocks


def finding_block(finding: Finding, remediation: str, width: int) -> list[Text]:
    """Path first, in full; then severity and rule, where (line, layer), state, what was found
    (preview and fingerprint) and what to do next, one labelled field per line."""
    lines = [Text(printable(finding.path), style="bold blue")]

    def field(label: str, value: str, style: str = "", label_style: str = "") -> None:
        wrapped = textwrap.wrap(value, max(width - LABEL_WIDTH, 20), break_on_hyphens=False) or [""]
        lines.append(Text.assemble("  ", (f"{label:<{LABEL_WIDTH - 2}}", label_style), (wrapped[0], style)))
        lines.extend(Text(" " * LABEL_WIDTH + rest, style=style) for rest in wrapped[1:])

    severity = finding.severity
    field(
        severity.label,
        f"{printable(finding.rule_id)} ({printable(finding.title)})",
        "",
        SEVERITY_STYLE[severity],
    )
    where = [f"line {finding.line}"] if finding.line is not None else []
    if finding.layer is not None:
        used = len(" · ".join([*where, ""])) + len(
            f"{finding.layer.index} {short_digest(finding.layer.digest)} "
        )
        where.append(layer_label(finding.layer, max(width - LABEL_WIDTH - used - len("layer "), 20)))
    if where:
        field("where", " · ".join(where))
    if finding.source != "dockerignore":  # a coverage finding is about the ignore file, not a state
        state = state_phrase(finding)
        if finding.third_party:
            state += ", third-party code (reported, does not fail the scan)"
        field("state", state, "bold" if finding.state != "present" else "")
    if finding.owner is not None and finding.owner.kind != "own":
        field("owner", owner_phrase(finding))
    shown = f"{printable(finding.redacted)} · " if finding.redacted else ""
    field("found", f"{shown}fingerprint {finding.fingerprint[:12]}")
    if finding.state != "present" and finding.layer is not None:
        remediation = f"{HIDDEN_ADVICE.format(index=finding.layer.index)} {remediation}".strip()
    if remediation:
        field("next", remediation)
    return lines


def _target_label(target: Target | None, name: str) -> str:
    if target is None:
        return printable(name) or "(unnamed target)"
    if target.kind == "context":
        return f"build context {printable(target.name)}"
    if target.kind in ("dockerfile", "ci"):  # hubguard lint
        return printable(target.name)
    label = f"image {printable(target.name)}"
    if target.image_id:
        label += f" ({short_digest(target.image_id)})"
    if target.platform:
        label += f" {printable(target.platform)}"
    return label


def summary_line(report: ScanReport) -> Text:
    """:func:`summary_text`, with the completeness at the end in colour."""
    text = summary_text(report)
    head, sep, status = text.rpartition(", ")
    return Text.assemble(head + sep, (status, "green" if report.complete else "bold red"))
