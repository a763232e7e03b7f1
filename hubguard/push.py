"""``hubguard push``: scan exactly what ``docker push`` would send, decide, then push or refuse.

The flow, in order, so that a refusal or failure never lets anything out:

1. parse and normalise the reference; resolve each tag to an image ID (``-a``: every local
   tag of the repository);
2. decide the repository's visibility and show where the answer came from;
3. scan each image *by ID*, apply the user's suppressions, apply the policy;
4. refuse before ``docker push`` ever runs, or resolve every tag again (a tag re-pointed
   since the scan is refused) and run the user's own docker CLI, tag by tag;
5. check the digest docker reports against the scanned image's RepoDigests in the engine.

The docker CLI does the push itself, so contexts, credential helpers and progress output are
exactly the user's. Its output is copied through as it arrives (through a pseudo-terminal
when ours is one, so progress bars still animate) and kept to find the pushed digest: a push
that exits 0 without a digest this image really has is a failure, whatever it printed.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import pty
import re
import shutil
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import docker
import docker.errors

from hubguard.config import load_config
from hubguard.errors import HubguardError, InputError
from hubguard.model import ScanReport
from hubguard.policy import decide
from hubguard.reference import Reference, parse_reference, parse_repository
from hubguard.report import render
from hubguard.report.common import printable, short_digest
from hubguard.scan import Scanner, ScanOptions
from hubguard.sources.daemon import engine_client, resolve_image_id
from hubguard.suppress import Suppressions, load_suppressions
from hubguard.visibility import decide_visibility

ORIGINAL_CLI_ENV = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
# What `docker push` prints when a manifest is stored: "<tag>: digest: sha256:<hex> size: <n>".
DIGEST_LINE = re.compile(
    r"(?<![\w.-])(?P<tag>\w[\w.-]{0,127}): digest: (?P<digest>sha256:[0-9a-f]{64}) size: \d+"
)
# Cursor movement and colours docker draws on a terminal; removed before reading its output.
TERMINAL_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
READ_CHUNK = 65536
ERROR_EXCERPT = 300


class PushFailed(HubguardError):
    """The push could not be done or confirmed (exit 3): docker failed, or the tag moved."""

    exit_code = 3


@dataclass
class PushRequest:
    """What the user asked for: the target and ``docker push``'s own flags, plus scan options."""

    target: str
    all_tags: bool = False
    quiet: bool = False
    platform: str | None = None
    disable_content_trust: str | None = None
    scan_options: ScanOptions = field(default_factory=ScanOptions)
    baseline: Path | None = None
    report_format: str = "table"
    report_output: Path | None = None


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


def guarded_push(request: PushRequest) -> int:
    """Scan, decide and push (or refuse): 0 pushed, 1 refused by policy, 3 scan incomplete.
    Input errors raise InputError (2); a failed or unconfirmed push raises PushFailed (3)."""
    wanted = parse_target(request)
    config = load_config()
    suppressions = load_suppressions(Path.cwd(), request.baseline)
    docker_cli = docker_binary()
    client = engine_client()
    targets = resolve_targets(client, wanted, all_tags=request.all_tags)
    visibility = decide_visibility(wanted, config)
    say(f"{wanted.familiar} is {visibility.label}")

    scanner = Scanner(request.scan_options)
    report = scan_targets(scanner, targets, suppressions)
    show_report(report, request, scanner.rules.by_id() if request.report_format == "sarif" else None)
    decision = decide(report, visibility, config)
    for line in decision.explain():
        say(line)
    if not decision.allowed:
        say("nothing was pushed")
        return decision.exit_code

    for target in targets:
        ensure_unmoved(client, target)
    for target in targets:
        ensure_unmoved(client, target)
        output = run_docker(docker_command(docker_cli, request, target.reference))
        digest = confirm_push(client, target, output, quiet=request.quiet)
        say(
            f"pushed {target.reference.familiar_string} as {digest} "
            f"(the scanned image {short_digest(target.image_id)})"
        )
    return decision.exit_code


def parse_target(request: PushRequest) -> Reference:
    """The repository (``-a``) or tag to push, normalised; checked before anything else runs."""
    if request.all_tags:
        return parse_repository(request.target)
    reference = parse_reference(request.target)
    if reference.digest is not None:
        raise InputError(f"cannot push a digest reference ({request.target}): push a tag")
    return reference


def resolve_targets(client: docker.DockerClient, wanted: Reference, *, all_tags: bool) -> list[PushTarget]:
    """Each tag to push with its current image ID; ``-a`` takes every local tag, sorted."""
    references = [wanted]
    if all_tags:
        tags = local_tags(client, wanted)
        if not tags:
            raise InputError(f"no local tags of {wanted.familiar} in the Docker engine (tag an image first)")
        references = [wanted.with_tag(tag) for tag in tags]
    return [PushTarget(ref, resolve_image_id(client, ref.familiar_string)) for ref in references]


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
        part = scanner.scan_engine_image(target.reference.familiar_string, target.image_id)
        report.targets += part.targets
        report.findings += part.findings
        report.problems += part.problems
        report.notes += part.notes
        report.suppressed += part.suppressed
        report.third_party_skipped += part.third_party_skipped
        report.owner_quieted += part.owner_quieted
    suppressions.apply(report)
    return report


def show_report(report: ScanReport, request: PushRequest, rules: dict | None) -> None:
    """The findings in the chosen format, to ``--output`` or stdout (before docker's output)."""
    text = render(report, request.report_format, rules=rules, color=False if request.report_output else None)
    if request.report_output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
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
    command = [docker_cli, "push"]
    if request.quiet:
        command.append("--quiet")
    if request.platform:
        command += ["--platform", request.platform]
    if request.disable_content_trust is not None:
        command.append(f"--disable-content-trust={request.disable_content_trust}")
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
        returncode = process.wait()
        for copier in copiers:
            copier.join()
    os.close(reader)
    return DockerOutput(returncode, "".join(out_text), "".join(err_text))


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
        raise PushFailed(f"docker push {shown} failed (exit {output.returncode}): {_last_error(output)}")
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
        f"the push cannot be confirmed ({_last_error(output)})"
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


def _last_error(output: DockerOutput) -> str:
    """docker's last line of stderr (else stdout), escaped and shortened for one line."""
    for text in (output.stderr, output.stdout):
        lines = [line.strip() for line in TERMINAL_CONTROL.sub("", text).splitlines() if line.strip()]
        if lines:
            return printable(lines[-1])[:ERROR_EXCERPT]
    return "no output"


def say(message: str) -> None:
    """hubguard's own messages go to stderr, prefixed, so stdout stays the report and docker's."""
    print(f"hubguard: {message}", file=sys.stderr, flush=True)
