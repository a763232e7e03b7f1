"""What a refused push tells the user to do next, in the order that actually fixes the leak.

1. where each secret is (path:line, layer, the build step that added it);
2. revoke or rotate it, in the words of the rule's own description: it has shipped before;
3. remove it and rebuild (``.dockerignore``, a multi-stage build, ``RUN --mount=type=secret``);
4. or make the repository private: the exact ``[visibility]`` line and the Docker Hub setting;
5. only then, how to suppress a false positive.

Never the secret itself: findings only carry a redacted preview and a hash.
"""

from __future__ import annotations

from hubguard.model import Finding
from hubguard.policy import Decision
from hubguard.reference import Reference
from hubguard.report.common import printable, state_phrase, truncate, where
from hubguard.suppress import BASELINE_FILE, IGNORE_FILE

REBUILD_ADVICE = (
    "remove it and rebuild: keep the file out of the build context (.dockerignore), copy only what "
    "runs into the final stage (multi-stage build), and pass build-time secrets with "
    "RUN --mount=type=secret instead of ARG or ENV (a deleted file still ships in its layer)"
)


def refusal_lines(decision: Decision, target: Reference, rules: dict[str, object]) -> list[str]:
    """The steps above, for ``target`` (the real name, as typed by docker users)."""
    name = target.familiar_string
    lines = [f"{len(decision.fingerprints)} secret(s) block the push of {name}:"]
    unique = list({finding.fingerprint: finding for finding in decision.blocking}.values())
    for number, finding in enumerate(unique, start=1):
        lines.append(f"  {number}. {_where(finding)}")
    lines.append("what to do, in order:")
    lines.append("  1. revoke or rotate each secret now, it may have been copied already:")
    for rule_id in dict.fromkeys(finding.rule_id for finding in unique):
        description = getattr(rules.get(rule_id), "description", "") or ""
        text = " ".join(description.split()) or "revoke it where it was issued and create a new one"
        lines.append(f"     {rule_id}: {printable(text)}")
    lines.append(f"  2. {REBUILD_ADVICE}; then tag and run hubguard push {name} again")
    lines.append(f"  3. or push to a private repository: make {target.familiar} private")
    if target.is_docker_hub:
        lines.append(
            f"     on Docker Hub: hub.docker.com/repository/docker/{target.path}/settings → "
            "Visibility settings → Make private (a new repository: hubguard push --create-private);"
        )
        lines.append("     hubguard reads that from the Hub API, and your .hubguard.toml may say so too:")
    else:
        lines.append(f"     in {target.domain}'s own settings, and tell hubguard so in .hubguard.toml:")
    lines.append("       [visibility]")
    lines.append(f'       "{target.name}" = "private"')
    lines.append("  4. only if a finding is a false positive, allow it deliberately: add its line")
    lines.append(f"     (with your reason) to {IGNORE_FILE}:")
    for finding in unique:
        lines.append(f"       fingerprint:{finding.fingerprint}  # {finding.rule_id} at {where(finding)}")
    lines.append(
        f"     or record every current finding in a baseline: hubguard baseline {name} "
        f"(writes {BASELINE_FILE})"
    )
    return lines


def _where(finding: Finding) -> str:
    text = f"{finding.rule_id} ({finding.severity.label}) at {where(finding)}"
    if finding.layer is not None and finding.layer.created_by:
        text += f", added by {truncate(printable(' '.join(finding.layer.created_by.split())), 100)}"
    if finding.state != "present":
        text += f", {state_phrase(finding)} (still shipped in the layer that added it)"
    return text
