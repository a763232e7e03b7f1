"""The ``docker hubguard`` CLI plugin: ``docker hubguard push NAME`` is ``hubguard push NAME``.

How the docker CLI runs a plugin (docker/cli ``cli-plugins/manager``; checked with the 20.10
and 28.x clients): it finds ``docker-hubguard`` in ``$DOCKER_CONFIG/cli-plugins/`` (or a
system plugin directory), asks ``docker-hubguard docker-cli-plugin-metadata`` for JSON, and
then runs it with *all* of its own arguments, global options included, e.g.
``docker-hubguard --config DIR -H unix:///x.sock hubguard push NAME``, with
``DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND`` naming the docker binary.

Global options are turned into the environment variables that mean the same thing both to
hubguard's engine client and to the docker CLI that does the push, so the image scanned and
the image pushed come from the same engine, with the same config and credentials; ``--debug``
and ``--log-level`` are handed to that ``docker push``. TLS options are refused rather than
half-honoured: scanning one engine and pushing from another would be worse than an error.

Cancelling: docker ≥ 25 passes ``DOCKER_CLI_PLUGIN_SOCKET`` (a unix socket, abstract when it
starts with ``@``) and, when it is told to stop while not on a terminal, closes it instead of
signalling the plugin (cli-plugins/socket ``ConnectAndWait``). hubguard connects to it and,
when it closes, interrupts itself: the scan stops, a running ``docker push`` is terminated,
nothing more is pushed, and the exit code is non-zero.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import MutableMapping

from hubguard import __version__
from hubguard.errors import EXIT_CLEAN, EXIT_INTERRUPTED, InputError
from hubguard.push.install import EXECUTABLE

PLUGIN_NAME = "hubguard"
METADATA_COMMAND = "docker-cli-plugin-metadata"
# docker's global options that take a value, by every spelling, and what each one sets.
VALUE_OPTIONS = {
    "--config": "config",
    "--context": "context",
    "-c": "context",
    "--host": "host",
    "-H": "host",
    "--log-level": "log-level",
    "-l": "log-level",
}
FLAG_OPTIONS = {"--debug", "-D"}
# Global options handed on to the docker push that hubguard runs.
PASSED_ON = {"log-level"}
TLS_OPTIONS = {"--tls", "--tlsverify", "--tlscacert", "--tlscert", "--tlskey"}
SOCKET_ENV = "DOCKER_CLI_PLUGIN_SOCKET"


def metadata() -> dict[str, str]:
    """What the docker CLI asks every plugin for before listing or running it."""
    return {
        "SchemaVersion": "0.1.0",
        "Vendor": "hubguard",
        "Version": __version__,
        "ShortDescription": "Scan images for secrets, then push only what is safe to push",
        "URL": "https://pypi.org/project/hubguard/",
    }


def split_global_options(arguments: list[str]) -> tuple[dict[str, str], list[str]]:
    """docker's global options given before ``hubguard`` ({name: value}, with the forms
    pflag accepts: ``--opt value``, ``--opt=value``, ``-Hvalue``, ``-H=value``) and the
    arguments after it, which are hubguard's own."""
    options: dict[str, str] = {}
    index = 0
    while index < len(arguments):
        token = arguments[index]
        index += 1
        if token == PLUGIN_NAME:
            return options, arguments[index:]
        if token == "help" and arguments[index : index + 1] == [PLUGIN_NAME]:
            # `docker help hubguard [COMMAND]` runs the plugin as `… help hubguard [COMMAND]`.
            return options, [*arguments[index + 1 :], "--help"]
        name, equals, value = token.partition("=")
        if not name.startswith("--") and len(name) > 2:
            name, value, equals = token[:2], token[2:].removeprefix("="), "="
        if name in TLS_OPTIONS:
            raise InputError(
                f"docker's {name} is not supported by the hubguard plugin: set DOCKER_TLS_VERIFY and "
                "DOCKER_CERT_PATH instead, so the scan and the push use the same engine"
            )
        if name in FLAG_OPTIONS:
            options["debug"] = "true"
            continue
        if name not in VALUE_OPTIONS:
            raise InputError(f"unexpected {token!r} before 'hubguard' (run it as: docker hubguard push NAME)")
        if not equals:
            if index >= len(arguments):
                raise InputError(f"docker option {name} needs a value")
            value = arguments[index]
            index += 1
        key = VALUE_OPTIONS[name]
        if key == "host" and "host" in options:
            raise InputError("specify only one -H")
        options[key] = value
    raise InputError(f"{EXECUTABLE} is a docker CLI plugin: run it as `docker hubguard push NAME`")


def apply_global_options(options: dict[str, str], environ: MutableMapping[str, str]) -> None:
    """Set the environment as docker's own flags would resolve: ``--context`` beats
    ``DOCKER_HOST``, ``-H`` beats ``DOCKER_CONTEXT``, and both together are an error."""
    if "host" in options and "context" in options:
        raise InputError("conflicting options: either specify --host or --context, not both")
    if "config" in options:
        environ["DOCKER_CONFIG"] = options["config"]
    if "host" in options:
        environ["DOCKER_HOST"] = options["host"]
        environ.pop("DOCKER_CONTEXT", None)
    if "context" in options:
        environ["DOCKER_CONTEXT"] = options["context"]
        if options["context"] != "default":  # the default context is DOCKER_HOST's engine
            environ.pop("DOCKER_HOST", None)


def docker_flags(options: dict[str, str]) -> list[str]:
    """The global options the docker push should get too: ``--debug``, ``--log-level``."""
    flags = ["--debug"] if "debug" in options else []
    flags += [f"--{key}={value}" for key, value in options.items() if key in PASSED_ON]
    return flags


def watch_cancellation(environ: MutableMapping[str, str]) -> threading.Thread | None:
    """Connect to docker's plugin socket and interrupt this process when docker closes it.

    As in docker's own plugins, a socket that cannot be reached is ignored (an older CLI)."""
    address = environ.get(SOCKET_ENV)
    if not address:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect("\0" + address[1:] if address.startswith("@") else address)
    except OSError:
        connection.close()
        return None

    def wait_for_close() -> None:
        with connection:
            while True:
                try:
                    if not connection.recv(1):
                        break
                except OSError:
                    break
        print("hubguard: docker asked the plugin to stop", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=wait_for_close, name="docker-plugin-socket", daemon=True)
    watcher.start()
    return watcher


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``docker-hubguard``: the metadata answer, or hubguard's CLI."""
    from hubguard import cli
    from hubguard.push import docker_cli

    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == [METADATA_COMMAND]:
        print(json.dumps(metadata(), indent=2))
        return EXIT_CLEAN
    try:
        options, rest = split_global_options(arguments)
        apply_global_options(options, os.environ)
    except InputError as exc:
        print(f"hubguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    docker_cli.DOCKER_GLOBAL_FLAGS[:] = docker_flags(options)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        watch_cancellation(os.environ)
        return cli.main(rest, prog="docker hubguard")
    except KeyboardInterrupt:  # stopped before hubguard's own handler was in place
        print("hubguard: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
