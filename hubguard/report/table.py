"""The terminal report: a findings table, a tree image → layer → file → finding, a summary.

Every piece of image or repository data goes in as ``rich.text.Text`` through ``printable``,
never as markup: a path like ``history[2]`` or a ``created_by`` holding ``[bold]`` or an
escape sequence is shown as written, not interpreted.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections import defaultdict

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hubguard.model import Finding, ScanReport, Severity, Target
from hubguard.report.common import layer_label, ordered, owner_phrase, printable, short_digest, state_phrase

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
# Wide enough that paths and created_by lines survive a CI log or a pipe without wrapping.
NON_TERMINAL_WIDTH = 200
GROUP_LABELS = {"config": "image config", "history": "image history"}


def wants_color(color: bool | None) -> bool:
    """An explicit choice wins (even over NO_COLOR, per no-color.org); otherwise colour only
    a terminal, and never when NO_COLOR is set to anything non-empty."""
    if color is not None:
        return color
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def output_width() -> int:
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else NON_TERMINAL_WIDTH


def to_table(report: ScanReport, *, color: bool | None = None, width: int | None = None) -> str:
    """Render for a person; without colour the text holds no escape codes at all."""
    enabled = wants_color(color)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=enabled,
        no_color=not enabled,
        color_system="standard" if enabled else None,
        width=width or output_width(),
        markup=False,
        emoji=False,
        highlight=False,
        force_jupyter=False,
        force_interactive=False,
        legacy_windows=False,
    )
    findings = ordered(report.findings)
    if findings:
        console.print(findings_table(findings))
        console.print(Group(*findings_trees(report.targets, findings)))
    else:
        console.print(f"No secrets found in {_plural(len(report.targets), 'target')}.")
    for note in report.notes:
        console.print(Text(f"not scanned: {printable(note)}", style="dim"))
    for problem in report.problems:
        console.print(Text(f"scan incomplete: {printable(problem)}", style="bold red"))
    console.print(summary_line(report))
    if enabled:
        return buffer.getvalue()
    # Rich pads lines to the console width; in a log or a file that is only noise.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def findings_table(findings: list[Finding]) -> Table:
    """One row per finding; a Target column only when the report covers several targets."""
    several_targets = len({finding.target for finding in findings}) > 1
    table = Table(title="hubguard findings", title_justify="left", expand=False)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", overflow="fold")
    if several_targets:
        table.add_column("Target", overflow="fold")
    table.add_column("Where", overflow="fold")
    table.add_column("State", overflow="fold")
    table.add_column("Line", justify="right", no_wrap=True)
    table.add_column("Preview", no_wrap=True)
    table.add_column("Fingerprint", no_wrap=True)
    for finding in findings:
        where = printable(finding.path)
        if finding.layer is not None:
            where += f" (layer {finding.layer.index})"
        if finding.owner is not None and finding.owner.kind != "own":
            where += f" {finding.owner.label}"
            where += " (inherited)" if finding.owner.kind == "base" else ""
        elif finding.third_party:
            where += " third-party"
        cells = [
            Text(finding.severity.label, style=SEVERITY_STYLE[finding.severity]),
            Text(printable(finding.rule_id)),
            *([Text(printable(finding.target))] if several_targets else []),
            Text(where),
            Text(state_phrase(finding)),
            Text("" if finding.line is None else str(finding.line)),
            Text(printable(finding.redacted)),
            Text(finding.fingerprint[:12]),
        ]
        table.add_row(*cells)
    return table


def findings_trees(targets: list[Target], findings: list[Finding]) -> list[Tree]:
    """One tree per target, in scan order; a finding naming no known target gets its own."""
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_target[finding.target].append(finding)
    known = {target.name: target for target in targets}
    names = [t.name for t in targets if t.name in by_target]
    names += [name for name in by_target if name not in known]
    return [_target_tree(known.get(name), name, by_target[name]) for name in names]


def _target_tree(target: Target | None, name: str, findings: list[Finding]) -> Tree:
    tree = Tree(Text(_target_label(target, name), style="bold"))
    groups: dict[tuple[int, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.layer is not None:
            key = (finding.layer.index, layer_label(finding.layer))
        elif finding.source in GROUP_LABELS:
            key = (-1, GROUP_LABELS[finding.source])
        else:
            key = (-2, "")  # build-context files hang straight off the target
        groups[key].append(finding)
    for (_, label), members in sorted(groups.items()):
        branch = tree.add(Text(label, style="magenta")) if label else tree
        _add_files(branch, members)
    return tree


def _add_files(branch: Tree, findings: list[Finding]) -> None:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_path[finding.path].append(finding)
    for path in sorted(by_path):
        node = branch.add(Text(printable(path), style="blue"))
        for finding in sorted(by_path[path], key=lambda f: (f.line or 0, f.rule_id)):
            node.add(_finding_label(finding))


def _finding_label(finding: Finding) -> Text:
    label = Text.assemble(
        (finding.severity.label, SEVERITY_STYLE[finding.severity]),
        " ",
        printable(finding.rule_id),
        " · ",
        printable(finding.title),
    )
    if finding.line is not None:
        label.append(f" · line {finding.line}")
    if finding.redacted:  # lint findings about a name or a path have no value to preview
        label.append(f" · {printable(finding.redacted)}")
    if finding.state != "present":
        label.append(f" · {state_phrase(finding)}", style="bold")
    if finding.owner is not None and finding.owner.kind != "own":
        label.append(f" · {printable(owner_phrase(finding))}")
    elif finding.third_party:
        label.append(" · third-party")
    return label


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
    """Counts by severity, what was suppressed or skipped, and whether the scan read everything."""
    counts = ", ".join(f"{count} {label}" for label, count in report.counts().items())
    text = Text(f"{_plural(len(report.findings), 'finding')} ({counts}), {report.suppressed} suppressed, ")
    if report.third_party_skipped:
        text.append(f"{_plural(report.third_party_skipped, 'third-party file')} skipped, ")
    not_own = {kind: count for kind, count in report.owner_counts().items() if kind != "own" and count}
    if not_own:
        text.append(
            ", ".join(f"{count} {kind}" for kind, count in not_own.items()) + " in files others own, "
        )
    if report.owner_quieted:
        text.append(f"{report.owner_quieted} in distro/package files quieted, ")
    if report.notes:
        text.append(f"{_plural(len(report.notes), 'note')}, ")
    if report.complete:
        text.append("scan complete", style="green")
    else:
        text.append(f"scan INCOMPLETE: {_plural(len(report.problems), 'problem')}", style="bold red")
    return text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
