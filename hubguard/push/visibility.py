"""Is the push target public? Docker Hub's own answer, made only more public by configuration.

Every path that cannot prove a repository private ends in "public": a wrong "private"
would let secrets out, a wrong "public" only asks the user to add a config line. So for a
Docker Hub repository a ``[visibility]`` rule may only make the answer *more* public: the Hub
API is always asked, and when Hub says public (or has no such repository, which the first push
creates public) a rule saying private is overruled, out loud. Other registries have no API to
ask, so there the rule is the answer. The Hub API client itself is ``hub.py``.
"""

from __future__ import annotations

from pathlib import Path

from hubguard.config import Config
from hubguard.push.hub import TREATED_AS_PUBLIC, HubClient, Visibility, hub_client
from hubguard.push.reference import Reference


def decide_visibility(
    ref: Reference, config: Config, *, docker_config_dir: Path | None = None, hub: HubClient | None = None
) -> Visibility:
    """A public rule, else Docker Hub's answer (a private rule cannot overrule it), else a
    rule for other registries, else unknown → public."""
    rule = config.matching_rule(ref.name)
    if rule is not None and rule.visibility == "public":
        return Visibility(True, f'public (config: {rule.origin}, rule "{rule.pattern}")', "config")
    if not ref.is_docker_hub:
        if rule is not None:
            return Visibility(False, f'private (config: {rule.origin}, rule "{rule.pattern}")', "config")
        return Visibility(True, f"{TREATED_AS_PUBLIC} (no [visibility] rule matches {ref.name})", "unknown")
    client = hub or hub_client(config, docker_config_dir)
    answer = client.visibility(ref)
    if rule is None or not answer.public:
        return answer
    said = "Docker Hub says public" if answer.source == "hub" else "Docker Hub cannot confirm private"
    return Visibility(
        True,
        f'{answer.label}: config says private, {said} (rule "{rule.pattern}" in {rule.origin}); '
        "the more public answer wins",
        answer.source,
        answer.missing,
    )
