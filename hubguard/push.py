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

The docker CLI does the push itself, so contexts, credential helpers and progress output are
exactly the user's. Its output is copied through as it arrives (through a pseudo-terminal
when ours is one, so progress bars still animate) and kept to find the pushed digest: a push
that exits 0 without a digest this image really has is a failure, whatever it printed. A
failed push is explained once, in words (docker's own line has already been shown).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import docker
import docker.errors
import requests.exceptions

from hubguard.config import load_config
from hubguard.detect.names import name_guard, scrub_report
from hubguard.errors import HubguardError, InputError
from hubguard.model import ScanReport
from hubguard.policy import Decision, decide
from hubguard.reference import DEFAULT_TAG, OFFICIAL_REPO_PREFIX, Reference, parse_reference, parse_repository
from hubguard.refusal import refusal_lines
from hubguard.report import render
from hubguard.report.common import short_digest
from hubguard.scan import Scanner, ScanOptions
from hubguard.sources.daemon import engine_client, resolve_image_id
from hubguard.suppress import Suppressions, load_suppressions
from hubguard.visibility import HubClient, Visibility, decide_visibility, hub_client

ORIGINAL_CLI_ENV = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
DECISION_SCHEMA = "https://hubguard.dev/schemas/push-decision/v1"
DECISION_VERSION = 1
# docker's global options given before `hubguard` in `docker [OPTIONS] hubguard push`, set by
# the CLI plugin so that the docker push it runs gets them too (e.g. --debug, --log-level).
DOCKER_GLOBAL_FLAGS: list[str] = []
# What `docker push` prints when a manifest is stored: "<tag>: digest: sha256:<hex> size: <n>".
DIGEST_LINE = re.compile(
    r"(?<![\w.-])(?P<tag>\w[\w.-]{0,127}): digest: (?P<digest>sha256:[0-9a-f]{64}) size: \d+"
)
# Cursor movement and colours docker draws on a terminal; removed before reading its output.
TERMINAL_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
READ_CHUNK = 65536
STOP_SECONDS = 10


class PushFailed(HubguardError):
    """The push could not be done or confirmed (exit 3): docker failed, or the tag moved."""

    exit_code = 3


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
    create_private: bool = False
    dry_run: bool = False
    decision_json: Path | None = None


@dataclass(frozen=True)
class PushTarget:
    """One tag to push and the image ID it pointed at when resolved (the one scanned)."""

    reference: Reference
    image_id: str


@dataclass(frozen=True)
class DockerOutput:
    """How a ``docker push`` ended and what it printed (already shown to the user)."""

    returncode: int
    stdout: str
    stderr: str


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
    suppressions = load_suppressions(Path.cwd(), request.baseline)
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
    scanner = Scanner(options)
    report = scan_targets(scanner, targets, suppressions)
    scrub_report(report, name_guard(scanner.rules))  # nothing read from the image is echoed raw
    show_report(report, request, scanner.rules.by_id() if request.report_format == "sarif" else None)
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
        output = run_docker(docker_command(docker_cli, request, target.reference))
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


def local_tags(client: docker.DockerClient, repository: Reference) -> list[str]:
    """Tags of ``repository`` in the engine, compared by normalised name as docker does."""
    tags: set[str] = set()
    for image in client.api.images():
        for repo_tag in image.get("RepoTags") or ():
            try:
                reference = parse_reference(repo_tag)
            except InputError:  # "<none>:<none>" and other untagged placeholders
                continue
            if reference.name == repository.name and reference.tag is not None:
                tags.add(reference.tag)
    return sorted(tags)


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


def show_report(report: ScanReport, request: PushRequest, rules: dict | None) -> None:
    """The findings in the chosen format, to ``--output`` or stdout (before docker's output)."""
    text = render(report, request.report_format, rules=rules, color=False if request.report_output else None)
    if request.report_output is None:
        # With -q, stdout holds only what docker push -q prints: the report goes to stderr.
        sink = sys.stderr if request.quiet else sys.stdout
        sink.write(text)
        sink.flush()
        return
    try:
        request.report_output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {request.report_output}: {exc.strerror}") from None


def ensure_unmoved(client: docker.DockerClient, target: PushTarget) -> None:
    """Refuse if the tag no longer points at the scanned image: that push was never scanned."""
    current = resolve_image_id(client, target.reference.familiar_string)
    if current != target.image_id:
        raise PushFailed(
            f"refused: {target.reference.familiar_string} now points at image {short_digest(current)}, "
            f"not the scanned {short_digest(target.image_id)} (re-tagged during the scan); "
            "it was not pushed, run hubguard push again"
        )


def docker_binary() -> str:
    """The docker CLI that invoked us as a plugin, else ``docker`` on PATH."""
    wanted = os.environ.get(ORIGINAL_CLI_ENV) or "docker"
    found = shutil.which(wanted)
    if found is None:
        raise InputError(f"cannot find the docker CLI ({wanted!r}) to push with")
    return found


def docker_command(docker_cli: str, request: PushRequest, reference: Reference) -> list[str]:
    """``docker push`` for one tag with the user's flags (``-a`` is expanded to the scanned
    tags by the caller, so a tag added after the scan is never pushed)."""
    command = [docker_cli, *DOCKER_GLOBAL_FLAGS, "push"]
    if request.quiet:
        command.append("--quiet")
    if request.platform:
        command += ["--platform", request.platform]
    if request.disable_content_trust:
        command.append("--disable-content-trust")
    command.append(reference.familiar_string)
    return command


def run_docker(command: list[str]) -> DockerOutput:
    """Run docker with its output shown live and kept: stdout through a pseudo-terminal when
    ours is a terminal (so docker draws its progress bars), a pipe otherwise."""
    terminal = sys.stdout.isatty()
    reader, writer = pty.openpty() if terminal else os.pipe()
    if terminal:
        with contextlib.suppress(OSError):
            termios.tcsetwinsize(writer, termios.tcgetwinsize(sys.stdout.fileno()))
    try:
        process = subprocess.Popen(command, stdout=writer, stderr=subprocess.PIPE)
    except OSError as exc:
        os.close(reader)
        raise PushFailed(f"cannot run {command[0]}: {exc.strerror}") from None
    finally:
        os.close(writer)  # docker holds the only write end now, so its exit ends the copy
    out_text: list[str] = []
    err_text: list[str] = []
    with process:
        copiers = [
            threading.Thread(target=_tee, args=(reader, sys.stdout, out_text), daemon=True),
            threading.Thread(target=_tee, args=(process.stderr.fileno(), sys.stderr, err_text), daemon=True),
        ]
        for copier in copiers:
            copier.start()
        try:
            returncode = process.wait()
        except BaseException:  # stopped (Ctrl-C, or docker closed the plugin socket): stop docker too
            _stop(process)
            raise
        for copier in copiers:
            copier.join()
    os.close(reader)
    return DockerOutput(returncode, "".join(out_text), "".join(err_text))


def _stop(process: subprocess.Popen) -> None:
    """Terminate a running docker push and wait for it, killing it if it lingers."""
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tee(fd: int, sink: TextIO, kept: list[str]) -> None:
    """Copy ``fd`` to ``sink`` until end of file, keeping the text; a pseudo-terminal whose
    other end closed reports EIO instead of end of file."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except OSError:
            chunk = b""
        text = decoder.decode(chunk, final=not chunk)
        if text:
            sink.write(text)
            sink.flush()
            kept.append(text)
        if not chunk:
            return


def confirm_push(
    client: docker.DockerClient, target: PushTarget, output: DockerOutput, *, quiet: bool
) -> str:
    """The pushed digest, proven to be the scanned image's: docker exited 0, reported a
    digest for the tag, and the engine lists that digest among the scanned image's
    RepoDigests for this repository. ``--quiet`` hides the digest, so there the engine's
    record for the scanned image is the only evidence, and it must exist."""
    shown = target.reference.familiar_string
    if output.returncode != 0:
        raise PushFailed(
            f"docker push {shown} failed (exit {output.returncode}): "
            + explain_failure(output, target.reference)
        )
    recorded = repo_digests(client, target)
    reported = [
        match["digest"]
        for match in DIGEST_LINE.finditer(TERMINAL_CONTROL.sub("", output.stdout))
        if match["tag"] == target.reference.tag
    ]
    if reported and reported[-1] not in recorded:
        raise PushFailed(
            f"docker pushed {shown} as {reported[-1]}, which is not the scanned image "
            f"{short_digest(target.image_id)} (the tag moved during the push?): check the registry"
        )
    if reported:
        return reported[-1]
    if quiet and recorded:
        return ", ".join(sorted(recorded))
    raise PushFailed(
        f"docker push {shown} exited 0 but no digest of the scanned image was reported: "
        "the push cannot be confirmed (see docker's output above)"
    )


def repo_digests(client: docker.DockerClient, target: PushTarget) -> set[str]:
    """Digests the engine records for the scanned image in the target's repository."""
    try:
        entries = client.api.inspect_image(target.image_id).get("RepoDigests") or []
    except docker.errors.DockerException as exc:
        raise PushFailed(f"cannot inspect the pushed image {short_digest(target.image_id)}: {exc}") from None
    digests = set()
    for entry in entries:
        try:
            reference = parse_reference(entry)
        except InputError:
            continue
        if reference.name == target.reference.name and reference.digest:
            digests.add(reference.digest)
    return digests


# docker push's failure lines, in the order they are checked, with cause and fix in words.
FAILURES = (
    (
        re.compile(r"toomanyrequests|too many requests", re.IGNORECASE),
        "the registry's rate limit was reached",
        "wait and push again (a docker login raises Docker Hub's limits)",
    ),
    (
        re.compile(r"\bdenied\b", re.IGNORECASE),
        "the registry denied the push: you may not push to {namespace}",
        "docker login as a user who may push there, or docker tag the image into your own namespace",
    ),
    (
        re.compile(r"unauthorized|authentication required|no basic auth credentials", re.IGNORECASE),
        "the registry wants a login that docker does not have (or it expired)",
        "run docker login {registry} and push again",
    ),
    (
        re.compile(r"manifest unknown|blob unknown", re.IGNORECASE),
        "the registry does not know a manifest or layer the push refers to (with the containerd "
        "image store: a platform of the tag is not fully present locally)",
        "push one platform with --platform, or pull the image with --all-platforms first",
    ),
    (
        re.compile(
            r"connection refused|no such host|i/o timeout|dial tcp|tls handshake|connection reset|"
            r"server gave http response to https client|network is unreachable",
            re.IGNORECASE,
        ),
        "docker could not reach the registry {registry}",
        "check the name, your network or proxy; a plain-HTTP registry must be in the engine's "
        "insecure-registries",
    ),
)


def explain_failure(output: DockerOutput, reference: Reference) -> str:
    """Cause and fix for a failed docker push, in words; docker's own line has already been
    shown above, so it is not repeated."""
    text = TERMINAL_CONTROL.sub("", output.stderr + "\n" + output.stdout)
    registry = "" if reference.is_docker_hub else reference.domain
    namespace = reference.path.rsplit("/", 1)[0]
    for pattern, cause, fix in FAILURES:
        if pattern.search(text):
            return (
                cause.format(namespace=namespace, registry=registry or "Docker Hub")
                + "; "
                + fix.format(registry=registry).replace("  ", " ")
                + " (docker's message is above)"
            )
    return "see docker's message above"


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
