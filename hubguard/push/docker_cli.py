"""The user's own ``docker push``, run tag by tag, its output shown live and kept, and its
result proven: the digest docker reports must be one the engine records for the scanned image.

The docker CLI does the push itself, so contexts, credential helpers and progress output are
exactly the user's. Its output is copied through as it arrives (through a pseudo-terminal
when ours is one, so progress bars still animate) and kept to find the pushed digest: a push
that exits 0 without a digest this image really has is a failure, whatever it printed. A
failed push is explained once, in words (docker's own line has already been shown).
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
from dataclasses import dataclass
from typing import TextIO

import docker

from hubguard.engine import repo_digests
from hubguard.errors import InputError, PushFailed
from hubguard.model import short_digest
from hubguard.push.reference import Reference

ORIGINAL_CLI_ENV = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
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


def docker_binary() -> str:
    """The docker CLI that invoked us as a plugin, else ``docker`` on PATH."""
    wanted = os.environ.get(ORIGINAL_CLI_ENV) or "docker"
    found = shutil.which(wanted)
    if found is None:
        raise InputError(f"cannot find the docker CLI ({wanted!r}) to push with")
    return found


def docker_command(
    docker_cli: str,
    reference: Reference,
    *,
    quiet: bool = False,
    platform: str | None = None,
    disable_content_trust: bool = False,
) -> list[str]:
    """``docker push`` for one tag with the user's flags (``-a`` is expanded to the scanned
    tags by the caller, so a tag added after the scan is never pushed)."""
    command = [docker_cli, *DOCKER_GLOBAL_FLAGS, "push"]
    if quiet:
        command.append("--quiet")
    if platform:
        command += ["--platform", platform]
    if disable_content_trust:
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
    recorded = repo_digests(client, target.image_id, target.reference)
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
