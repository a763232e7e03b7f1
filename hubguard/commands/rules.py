"""``hubguard rules``: the rules in play, one per line."""

from __future__ import annotations

import argparse
import textwrap

from hubguard.errors import EXIT_CLEAN


def run(args: argparse.Namespace) -> int:
    """One rule per line: the id in full (it is what users type), kind, severity, then the title
    and pack, wrapped under their own column when the line would be wider than the output."""
    from hubguard.detect.rules import load_rules
    from hubguard.report.table import output_width

    rules = load_rules(args.rules)
    rows = [
        (r.id, "token", r.severity.label, f"{r.title} [{r.pack}]")
        for r in sorted(rules.token_rules, key=lambda r: r.id)
    ]
    rows += [
        (r.id, "file", r.severity.label, f"{r.title} [{r.pack}]")
        for r in sorted(rules.file_rules, key=lambda r: r.id)
    ]
    rows += [(p.id, "plugin", p.severity.label, f"{p.name} [detect-secrets]") for p in rules.plugins]
    id_width = max(len("id"), *(len(row[0]) for row in rows))
    indent = id_width + 2 + 6 + 2 + 8 + 2
    room = max(output_width() - indent, 20)
    print(f"{'id':<{id_width}}  {'kind':<6}  {'severity':<8}  title [pack]")
    for rule_id, kind, severity, title in rows:
        wrapped = textwrap.wrap(title, room) or [""]
        print(f"{rule_id:<{id_width}}  {kind:<6}  {severity:<8}  {wrapped[0]}")
        for rest in wrapped[1:]:
            print(" " * indent + rest)
    return EXIT_CLEAN
