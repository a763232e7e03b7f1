"""``hubguard push``: scan exactly what ``docker push`` would send, decide, then push or refuse.

The flow, in order, so that a refusal or failure never lets anything out:

1. parse and normalise the reference, then the checks that take well under a second and catch
   the Docker Hub tutorial's failures before any scan: an official ``library/`` name, no
   ``docker login``, a namespace that is neither the user's nor one of their organizations, a
   tag that is not in the engine, an engine that does not answer;
2. resolve each tag to an image ID (``-a``: every local tag of the repository);
3. decide the repository's visibility and show where the answer came from; with
   ``--create-private`` a Docker Hub repository that does not exist yet is created private;
4. scan each image *by ID*, every platform that ``docker push`` sends (the containerd image
   store pushes each local platform of a tag unless ``--platform`` picks one), apply the
   user's suppressions, apply the policy;
5. refuse before ``docker push`` ever runs (saying what to do next), or stop after the
   decision (``--dry-run``), or resolve every tag again (a tag re-pointed since the scan is
   refused) and run the user's own docker CLI, tag by tag;
6. check the digest docker reports against the scanned image's RepoDigests in the engine.

The user's own ``docker push`` is run and checked by ``docker_cli``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from hubguard.config import load_config
from hubguard.detect.names import name_guard, scrub_report
from hubguard.engine import engine_client, local_tags, resolve_image_id
from hubguard.errors import InputError, PushFailed
from hubguard.model import ScanReport, short_digest
from hubguard.push.docker_cli import PushTarget, confirm_push, docker_binary, docker_command, run_docker
from hubguard.push.hub import HubClient, Visibility, hub_client
from hubguard.push.policy import Decision, decide, refusal_lines
from hubguard.push.reference import (
    DEFAULT_TAG,
    OFFICIAL_REPO_PREFIX,
    Reference,
    parse_reference,
    parse_repository,
)
from hubguard.push.visibility import decide_visibility
from hubguard.report.output import emit
from hubguard.report.progress import ByteProgress
from hubguard.scan import Scanner, ScanOptions
from hubguard.suppress import Suppressions, load_suppressions

DECISION_SCHEMA = "https://hubguard.dev/schemas/push-decision/v1"
DECISION_VERSION = 1


@dataclass
class PushRequest:
    """What the user asked for: the target and ``docker push``'s own flags, plus scan options
    and the guard's own (``--create-private``, ``--dry-run``, ``--decision-json``)."""

    target: str
    all_tags: bool = False
    quiet: bool = False
    platform: str | None = None
    disable_content_trust: bool = False
    scan_options: ScanOptions = field(default_factory=ScanOptions)
    baseline: Path | None = None
    report_format: str = "table"
    report_output: Path | None = None
    color: bool | None = None
    suppressions: Suppressions | None = None  # checked before the scan; else the project's own
    create_private: bool = False
    dry_run: bool = False
    decision_json: Path | None = None


@dataclass
class Outcome:
    """What the decision record says: filled in as the push goes."""

    targets: list[PushTarget] = field(default_factory=list)
    visibility: Visibility | None = None
    decision: Decision | None = None
    result: str = "refused"
    pushed: list[dict] = field(default_factory=list)


def guarded_push(request: PushRequest) -> int:
    """Check, scan, decide and push (or refuse): 0 pushed (or allowed, with --dry-run),
    1 refused by policy, 3 scan incomplete. Input errors raise InputError (2); a failed or
    unconfirmed push raises PushFailed (3)."""
    wanted = parse_target(request)
    config = load_config()
    suppressions = request.suppressions or load_suppressions(Path.cwd(), request.baseline)
    docker_cli = docker_binary()
    hub = hub_client(config) if wanted.is_docker_hub else None
    check_before_scan(wanted, request, hub)
    client = engine_client()
    outcome = Outcome(targets=resolve_targets(client, wanted, all_tags=request.all_tags))
    try:
        return _decide_and_push(request, wanted, config, suppressions, docker_cli, client, hub, outcome)
    except KeyboardInterrupt:
        pushed = ", ".join(entry["reference"] for entry in outcome.pushed) or "nothing"
        say(f"stopped before the push finished: pushed {pushed}")
        outcome.result = "stopped"
        raise
    except PushFailed:
        outcome.result = "failed"
        raise
    finally:
        if request.decision_json is not None and outcome.decision is not None:
            write_decision(request.decision_json, wanted, request, outcome)


def _decide_and_push(
    request: PushRequest,
    wanted: Reference,
    config,
    suppressions: Suppressions,
    docker_cli: str,
    client: docker.DockerClient,
    hub: HubClient | None,
    outcome: Outcome,
) -> int:
    targets = outcome.targets
    visibility = decide_visibility(wanted, config, hub=hub)
    if request.create_private:
        visibility = create_private(wanted, visibility, hub, dry_run=request.dry_run) or visibility
    outcome.visibility = visibility
    say(f"{wanted.familiar} is {visibility.label}")

    options = replace(request.scan_options, all_platforms=request.platform is None)
    with ByteProgress("scanning layers") as progress:
        scanner = Scanner(options, progress=progress.update)
        report = scan_targets(scanner, targets, suppressions)
    for warning in suppressions.warnings:
        say(f"warning: {warning}")
    scrub_report(report, name_guard(scanner.rules))  # nothing read from the image is echoed raw
    emit(
        report,
        request.report_format,
        request.report_output,
        rules=scanner.rules.by_id() if request.report_format == "sarif" else None,
        color=request.color,
        sink=sys.stderr if request.quiet else sys.stdout,  # with -q, stdout is docker push -q's
    )
    decision = decide(report, visibility, config)
    outcome.decision = decision
    for line in decision.reasons:
        say(line)
    if decision.blocking:
        for line in refusal_lines(decision, targets[0].reference, scanner.rules.by_id()):
            say(line)
    if not decision.allowed:
        say("nothing was pushed")
        return decision.exit_code
    warn_about_tags(targets)
    if request.dry_run:
        outcome.result = "dry-run"
        names = ", ".join(target.reference.familiar_string for target in targets)
        say(f"dry run: {names} would be pushed; nothing was pushed")
        return decision.exit_code

    for target in targets:
        ensure_unmoved(client, target)
    for target in targets:
        ensure_unmoved(client, target)
        output = run_docker(
            docker_command(
                docker_cli,
                target.reference,
                quiet=request.quiet,
                platform=request.platform,
                disable_content_trust=request.disable_content_trust,
            )
        )
        digest = confirm_push(client, target, output, quiet=request.quiet)
        outcome.pushed.append(
            {"reference": target.reference.familiar_string, "digest": digest, "image_id": target.image_id}
        )
        say(
            f"pushed {target.reference.familiar_string} as {digest} "
            f"(the scanned image {short_digest(target.image_id)})"
        )
    outcome.result = "pushed"
    for target in targets:
        say(f"anyone with access can now run: docker pull {target.reference.familiar_string}")
    return decision.exit_code


def parse_target(request: PushRequest) -> Reference:
    """The repository (``-a``) or tag to push, normalised; checked before anything else runs."""
    if request.all_tags:
        return parse_repository(request.target)
    reference = parse_reference(request.target)
    if reference.digest is not None:
        raise InputError(f"cannot push a digest reference ({request.target}): push a tag")
    return reference


def check_before_scan(wanted: Reference, request: PushRequest, hub: HubClient | None) -> None:
    """The Docker Hub tutorial's failures, caught in plain words before any scan: an official
    ``library/`` name, no ``docker login`` (read from docker's own credential store), and a
    namespace that is neither the logged-in user's nor one of their organizations (a warning)."""
    if hub is None:
        return
    login, username = hub.login, hub.username
    if wanted.path.startswith(OFFICIAL_REPO_PREFIX):
        short = wanted.path.removeprefix(OFFICIAL_REPO_PREFIX)
        user = username or "USERNAME"
        tag = f":{wanted.tag}" if wanted.tag else ""
        login_hint = "" if login else "; you are not logged in either: run docker login first"
        raise InputError(
            f"{request.target} means docker.io/library/{short}, the namespace reserved for Docker "
            f"official images, so Docker Hub will refuse it; push to your own namespace: "
            f"docker tag {request.target} {user}/{short}{tag} && hubguard push {user}/{short}{tag}"
            f"{login_hint}; nothing was scanned or pushed"
        )
    if login is None:
        raise InputError(
            f"you are not logged in to Docker Hub ({hub.login_note}), so docker push would be denied: "
            f"run docker login, then hubguard push {request.target} again; nothing was scanned or pushed"
        )
    namespace = wanted.path.split("/", 1)[0]
    if username is None or namespace == username.lower():
        return
    organizations = hub.organizations()
    if organizations is not None and namespace not in {name.lower() for name in organizations}:
        listed = ", ".join(sorted(organizations)) or "none"
        say(
            f"warning: {wanted.familiar} is in namespace {namespace!r}, but you are logged in to Docker "
            f"Hub as {username!r} and your organizations are: {listed}; docker push will be denied "
            f"unless {username!r} may push to {namespace!r} (to push as yourself: docker tag "
            f"{request.target} {username}/{wanted.path.split('/', 1)[1]}{_tag_suffix(wanted)})"
        )


def _tag_suffix(reference: Reference) -> str:
    return f":{reference.tag}" if reference.tag else ""


def create_private(
    wanted: Reference, visibility: Visibility, hub: HubClient | None, *, dry_run: bool
) -> Visibility | None:
    """``--create-private``: create a Docker Hub repository that does not exist yet as private,
    then ask Hub again (only Hub's answer counts). None when there is nothing to create."""
    if hub is None:
        raise InputError(f"--create-private works for Docker Hub repositories only, not {wanted.domain}")
    if not visibility.missing:
        if visibility.source == "unknown":
            raise InputError(
                f"--create-private: cannot tell whether {wanted.path} exists on Docker Hub "
                f"({visibility.label}); nothing was scanned or pushed"
            )
        say(f"--create-private: {wanted.path} exists on Docker Hub already, so nothing was created")
        return None
    if dry_run:
        say(f"dry run: would create {wanted.path} on Docker Hub as a private repository")
        return Visibility(
            False, f"private once created (dry run: {wanted.path} was not created)", "hub", missing=True
        )
    hub.create_private(wanted)
    say(f"created {wanted.path} on Docker Hub as a private repository")
    return hub.visibility(wanted)


def resolve_targets(client: docker.DockerClient, wanted: Reference, *, all_tags: bool) -> list[PushTarget]:
    """Each tag to push with its current image ID; ``-a`` takes every local tag, sorted."""
    references = [wanted]
    if all_tags:
        tags = local_tags(client, wanted)
        if not tags:
            raise InputError(
                f"no local tags of {wanted.familiar} in the Docker engine: see docker images, then "
                f"docker tag IMAGE {wanted.familiar}:VERSION"
            )
        references = [wanted.with_tag(tag) for tag in tags]
    return [PushTarget(ref, local_image_id(client, ref)) for ref in references]


def local_image_id(client: docker.DockerClient, reference: Reference) -> str:
    """The image ID of a tag in the engine; a missing tag is named with the way to make it."""
    shown = reference.familiar_string
    try:
        return client.api.inspect_image(shown)["Id"]
    except docker.errors.ImageNotFound:
        raise InputError(
            f"no local image tagged {shown} in the Docker engine: list what you have with "
            f"docker images {reference.familiar}, then tag one: docker tag IMAGE {shown}"
        ) from None
    except (docker.errors.APIError, requests.exceptions.RequestException):
        return resolve_image_id(client, shown)


def scan_targets(scanner: Scanner, targets: list[PushTarget], suppressions: Suppressions) -> ScanReport:
    """One report over every distinct image ID (tags sharing an image are scanned once)."""
    report = ScanReport()
    scanned: set[str] = set()
    for target in targets:
        if target.image_id in scanned:
            continue
        scanned.add(target.image_id)
        report.merge(scanner.scan_engine_image(target.reference.familiar_string, target.image_id))
    suppressions.apply(report)
    return report


def ensure_unmoved(client: docker.DockerClient, target: PushTarget) -> None:
    """Refuse if the tag no longer points at the scanned image: that push was never scanned."""
    current = resolve_image_id(client, target.reference.familiar_string)
    if current != target.image_id:
        raise PushFailed(
            f"refused: {target.reference.familiar_string} now points at image {short_digest(current)}, "
            f"not the scanned {short_digest(target.image_id)} (re-tagged during the scan); "
            "it was not pushed, run hubguard push again"
        )


def warn_about_tags(targets: list[PushTarget]) -> None:
    """The tutorial's tag strategy: ``latest`` alone cannot be pinned or rolled back."""
    if {target.reference.tag for target in targets} == {DEFAULT_TAG}:
        name = targets[0].reference.familiar
        say(
            f"warning: latest is the only tag pushed; also push a version tag so users can pin a release: "
            f"docker tag {name}:latest {name}:1.0 && hubguard push {name}:1.0"
        )


def write_decision(path: Path, wanted: Reference, request: PushRequest, outcome: Outcome) -> None:
    """The decision record for CI (``--decision-json``), schema in docs/push-decision.schema.json."""
    decision, visibility = outcome.decision, outcome.visibility
    assert decision is not None and visibility is not None
    document = {
        "$schema": DECISION_SCHEMA,
        "version": DECISION_VERSION,
        "target": {
            "repository": wanted.name,
            "tags": [target.reference.tag for target in outcome.targets],
            "image_ids": sorted({target.image_id for target in outcome.targets}),
        },
        "visibility": {
            "public": visibility.public,
            "source": visibility.source,
            "label": visibility.label,
        },
        "decision": {
            "allowed": decision.allowed,
            "exit_code": decision.exit_code,
            "reasons": list(decision.reasons),
        },
        "blocking": [
            {
                "fingerprint": finding.fingerprint,
                "rule_id": finding.rule_id,
                "severity": finding.severity.label,
            }
            for finding in {finding.fingerprint: finding for finding in decision.blocking}.values()
        ],
        "dry_run": request.dry_run,
        "result": outcome.result,
        "pushed": outcome.pushed,
    }
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


def say(message: str) -> None:
    """hubguard's own messages go to stderr, prefixed, so stdout stays the report and docker's."""
    print(f"hubguard: {message}", file=sys.stderr, flush=True)
