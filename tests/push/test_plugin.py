"""The `docker hubguard` CLI plugin, run by the real docker CLIs (20.10 and 28.x) from a temporary
docker config dir: installed by `hubguard install-plugin`, it must behave as `hubguard push`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker.errors
import pytest

from hubguard.errors import InputError
from hubguard.push.plugin import EXECUTABLE, apply_global_options, split_global_options

DOCKER_CLIS = ["/usr/bin/docker", "/usr/local/bin/docker"]
TIMEOUT = 300


def run(command: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, **(env or {})}
    )


def manifest_status(registry: str, path: str, tag: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://{registry}/v2/{path}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh docker config dir with the plugin installed the way a user installs it."""
    directory = tmp_path / "docker-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HUBGUARD_CACHE_DIR", str(tmp_path / "cache"))
    result = run([sys.executable, "-m", "hubguard", "install-plugin"], env={"DOCKER_CONFIG": str(directory)})
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / ".hubguard.toml").write_text('[visibility]\n"127.0.0.1:*/public/*" = "public"\n')
    return directory


@pytest.fixture
def tagged(docker_client) -> Iterator[list[str]]:
    """References the test tags; removed from the engine afterwards."""
    references: list[str] = []
    yield references
    for reference in references:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.api.remove_image(reference)


def test_install_plugin_is_idempotent_and_executable(tmp_path: Path):
    config = tmp_path / "cfg"
    first = run([sys.executable, "-m", "hubguard", "install-plugin", "--docker-config", str(config)])
    plugin = config / "cli-plugins" / EXECUTABLE
    content = plugin.read_bytes()
    second = run([sys.executable, "-m", "hubguard", "install-plugin", "--docker-config", str(config)])

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert str(plugin) in second.stdout
    assert os.access(plugin, os.X_OK)
    assert plugin.read_bytes() == content
    assert sorted(path.name for path in plugin.parent.iterdir()) == [EXECUTABLE]


def test_install_plugin_into_an_unwritable_place_is_one_line_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    result = run([sys.executable, "-m", "hubguard", "install-plugin", "--docker-config", str(blocker)])

    assert result.returncode == 2
    assert result.stderr.startswith("hubguard: error: cannot install the docker CLI plugin into ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_metadata_is_what_docker_expects(docker_config: Path):
    result = run([str(docker_config / "cli-plugins" / EXECUTABLE), "docker-cli-plugin-metadata"])

    metadata = json.loads(result.stdout)
    assert metadata["SchemaVersion"] == "0.1.0"
    assert metadata["Vendor"] == "hubguard"
    assert metadata["Version"] and metadata["ShortDescription"] and metadata["URL"]


@pytest.mark.parametrize("docker_cli", DOCKER_CLIS)
def test_docker_lists_the_plugin(docker_cli: str, docker_config: Path):
    result = run([docker_cli, "--config", str(docker_config), "--help"])

    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert any(words[:1] == ["hubguard*"] for words in lines), result.stdout


@pytest.mark.engine
@pytest.mark.parametrize("docker_cli", DOCKER_CLIS)
def test_docker_hubguard_push_pushes_clean_and_refuses_leaky_images(
    docker_cli, docker_config, project, registry, build_image, busybox_image, fake_token, tagged
):
    """Through the docker CLI with global options before ``hubguard``; PATH has no docker, so
    the push can only have used the docker binary that invoked the plugin."""
    name = f"{registry}/public/plugin-{secrets.token_hex(4)}"
    clean = build_image(f"FROM {busybox_image}\nCOPY a.txt /a.txt\n", {"a.txt": secrets.token_hex(8)})
    leaky = build_image(
        f"FROM {busybox_image}\nCOPY a.txt /a.txt\n", {"a.txt": f"token {fake_token('ghp_{alnum:36}')}\n"}
    )
    for image, version in ((clean, "clean"), (leaky, "leaky")):
        run([docker_cli, "tag", image.id, f"{name}:{version}"])
        tagged.append(f"{name}:{version}")
    global_options = ["--config", str(docker_config), "-H", os.environ["DOCKER_HOST"], "--log-level=warn"]
    no_docker_on_path = {"PATH": "/nonexistent"}

    pushed = run(
        [docker_cli, *global_options, "hubguard", "push", f"{name}:clean"], project, no_docker_on_path
    )
    refused = run(
        [docker_cli, *global_options, "hubguard", "push", f"{name}:leaky"], project, no_docker_on_path
    )

    path = name.split("/", 1)[1]
    assert pushed.returncode == 0, pushed.stderr
    assert f"hubguard: pushed {name}:clean as sha256:" in pushed.stderr
    assert manifest_status(registry, path, "clean") == 200
    assert refused.returncode == 1, refused.stderr
    assert "fingerprint:" in refused.stderr
    assert manifest_status(registry, path, "leaky") == 404


@pytest.mark.parametrize("docker_cli", DOCKER_CLIS)
def test_plugin_usage_errors_are_one_line_and_exit_2(docker_cli: str, docker_config: Path):
    result = run([docker_cli, "--config", str(docker_config), "hubguard", "push", "127.0.0.1:5000/Upper:1"])

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("hubguard: error: invalid image reference '127.0.0.1:5000/Upper:1'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_directly_the_plugin_says_how_to_run_it(docker_config: Path):
    result = run([str(docker_config / "cli-plugins" / EXECUTABLE), "push", "x"])

    assert result.returncode == 2
    assert "unexpected 'push' before 'hubguard'" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "options", "rest"),
    [
        (["hubguard", "push", "x"], {}, ["push", "x"]),
        (["--config", "/c", "hubguard", "push", "-a", "x"], {"config": "/c"}, ["push", "-a", "x"]),
        (["--config=/c", "-D", "hubguard", "push"], {"config": "/c", "debug": "true"}, ["push"]),
        (["--config", "/c", "help", "hubguard"], {"config": "/c"}, ["--help"]),
        (["help", "hubguard", "push"], {}, ["push", "--help"]),
        (["-Hunix:///s.sock", "hubguard"], {"host": "unix:///s.sock"}, []),
        (["-H=tcp://h:2376", "-l", "debug", "hubguard"], {"host": "tcp://h:2376", "log-level": "debug"}, []),
        (["-c", "remote", "hubguard", "hubguard"], {"context": "remote"}, ["hubguard"]),
        (["--context", "hubguard", "hubguard", "push"], {"context": "hubguard"}, ["push"]),
    ],
)
def test_global_options_are_split_like_docker_parses_them(arguments, options, rest):
    assert split_global_options(arguments) == (options, rest)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-H", "a", "-H", "b", "hubguard"], "specify only one -H"),
        (["--config"], "needs a value"),
        (["--tlscacert=/ca.pem", "hubguard"], "--tlscacert is not supported"),
        (["--bogus", "hubguard"], "unexpected '--bogus'"),
        (["push", "x"], "unexpected 'push'"),
        ([], "run it as `docker hubguard push NAME`"),
    ],
)
def test_bad_global_options_are_input_errors(arguments, message):
    with pytest.raises(InputError, match=message.replace("*", r"\*").replace("`", "`")):
        split_global_options(arguments)


def test_host_and_context_resolve_like_the_docker_cli():
    environ = {"DOCKER_HOST": "unix:///old.sock", "DOCKER_CONTEXT": "old"}
    apply_global_options({"host": "unix:///new.sock", "config": "/cfg"}, environ)
    assert environ == {"DOCKER_HOST": "unix:///new.sock", "DOCKER_CONFIG": "/cfg"}

    environ = {"DOCKER_HOST": "unix:///old.sock"}
    apply_global_options({"context": "remote"}, environ)
    assert environ == {"DOCKER_CONTEXT": "remote"}

    environ = {"DOCKER_HOST": "unix:///old.sock"}
    apply_global_options({"context": "default"}, environ)
    assert environ == {"DOCKER_HOST": "unix:///old.sock", "DOCKER_CONTEXT": "default"}

    with pytest.raises(InputError, match="either specify --host or --context"):
        apply_global_options({"host": "unix:///a.sock", "context": "b"}, {})


@pytest.mark.parametrize("docker_cli", DOCKER_CLIS)
def test_docker_help_hubguard_shows_hubguards_help(docker_cli: str, docker_config: Path):
    result = run([docker_cli, "--config", str(docker_config), "help", "hubguard"])

    assert result.returncode == 0, result.stderr
    assert "Stop secrets before docker push" in result.stdout
    assert "push" in result.stdout


@pytest.mark.parametrize("command", ["info", "--help", "hubguard --help"])
def test_the_plugin_never_runs_a_hubguard_folder_from_the_working_directory(
    command: str, docker_config: Path, tmp_path: Path
):
    """A hostile ``hubguard/`` package in the directory where docker runs must not be
    imported: docker runs every plugin for ``docker info`` and ``docker --help``."""
    hostile = tmp_path / "hostile"
    (hostile / "hubguard").mkdir(parents=True)
    marker = tmp_path / "imported-from-cwd"
    (hostile / "hubguard" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    (hostile / "hubguard" / "plugin.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")

    result = run(["/usr/local/bin/docker", "--config", str(docker_config), *command.split()], cwd=hostile)

    assert not marker.exists(), result.stdout + result.stderr
    shim = (docker_config / "cli-plugins" / EXECUTABLE).read_text()
    assert " -m hubguard" not in shim or " -P -m hubguard" in shim


def test_install_plugin_config_dir_option(tmp_path: Path):
    result = run([sys.executable, "-m", "hubguard", "install-plugin", "--config", str(tmp_path / "cfg")])

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cfg" / "cli-plugins" / EXECUTABLE).is_file()
    listed = run(["/usr/local/bin/docker", "--config", str(tmp_path / "cfg"), "--help"])
    assert any(line.split()[:1] == ["hubguard*"] for line in listed.stdout.splitlines())


def test_install_plugin_system_wide(tmp_path: Path):
    """``--system`` writes /usr/local/lib/docker/cli-plugins/docker-hubguard, which docker finds
    with an empty config dir; whatever was there before is put back afterwards."""
    target = Path("/usr/local/lib/docker/cli-plugins") / EXECUTABLE
    saved = target.read_bytes() if target.exists() else None
    try:
        result = run([sys.executable, "-m", "hubguard", "install-plugin", "--system"])
        assert result.returncode == 0, result.stderr
        assert str(target) in result.stdout
        listed = run(["/usr/local/bin/docker", "--config", str(tmp_path / "empty"), "--help"])
        assert any(line.split()[:1] == ["hubguard*"] for line in listed.stdout.splitlines()), listed.stdout
    finally:
        if saved is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(saved)


@pytest.mark.engine
def test_debug_and_log_level_reach_the_docker_push(
    docker_config, project, registry, build_image, busybox_image, tagged, tmp_path
):
    """``docker -D --log-level=warn hubguard push`` runs ``docker --debug --log-level=warn push``:
    a wrapper around the real docker CLI records the arguments it is given."""
    name = f"{registry}/public/plugin-{secrets.token_hex(4)}:1"
    image = build_image(f"FROM {busybox_image}\nCOPY a.txt /a.txt\n", {"a.txt": secrets.token_hex(8)})
    run(["/usr/bin/docker", "tag", image.id, name])
    tagged.append(name)
    log = tmp_path / "docker-args.log"
    wrapper = tmp_path / "docker-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> \'{log}\'\nexec /usr/bin/docker "$@"\n')
    wrapper.chmod(0o755)
    plugin = docker_config / "cli-plugins" / EXECUTABLE
    environment = {
        "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": str(wrapper),
        "DOCKER_CONFIG": str(docker_config),
    }

    result = run([str(plugin), "-D", "--log-level=warn", "hubguard", "push", name], project, environment)

    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [f"--debug --log-level=warn push {name}"]


class StallingRegistry(BaseHTTPRequestHandler):
    """A registry that never answers: a push to it hangs until it is stopped."""

    requests: list[str]
    release: threading.Event

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.release.wait(60)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.mark.engine
def test_docker_closing_the_plugin_socket_stops_the_push(
    docker_config, project, build_image, busybox_image, tagged
):
    """The docker 28 CLI, not on a terminal, closes DOCKER_CLI_PLUGIN_SOCKET when it gets
    SIGTERM: hubguard stops the docker push it is running, pushes nothing more and exits
    non-zero. The registry stalls, so the push is still in flight when docker is told to stop."""
    handler = type("Handler", (StallingRegistry,), {"requests": [], "release": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    name = f"127.0.0.1:{server.server_address[1]}/public/cancel-{secrets.token_hex(4)}:1"
    image = build_image(f"FROM {busybox_image}\nCOPY a.txt /a.txt\n", {"a.txt": secrets.token_hex(8)})
    run(["/usr/bin/docker", "tag", image.id, name])
    tagged.append(name)
    process = subprocess.Popen(
        ["/usr/local/bin/docker", "--config", str(docker_config), "hubguard", "push", name],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not handler.requests and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert handler.requests, "docker push never reached the registry"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        handler.release.set()
        if process.poll() is None:
            process.kill()
        server.shutdown()
        server.server_close()

    assert process.returncode != 0, stderr
    assert "hubguard: docker asked the plugin to stop" in stderr
    assert "hubguard: stopped before the push finished: pushed nothing" in stderr
    assert "pushed " + name not in stderr.replace("pushed nothing", "")
    assert not any("/manifests/" in path for path in handler.requests)
    leftover = subprocess.run(["pgrep", "-f", f"docker push {name}"], capture_output=True, text=True)
    assert leftover.stdout == "", "the docker push hubguard ran is still running"


def plugin_socket() -> tuple[socket.socket, str]:
    """A listener like docker's plugin server: an abstract unix socket named ``@docker_cli_…``."""
    name = f"@docker_cli_{secrets.token_hex(8)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name[1:])
    listener.listen(1)
    return listener, name


@pytest.mark.engine
def test_socket_closed_as_soon_as_the_plugin_connects_pushes_nothing(
    docker_config, project, registry, build_image, busybox_image, tagged
):
    """docker closing the socket right away (the user cancelled at once) stops hubguard
    before anything is pushed, whatever it was doing."""
    name = f"{registry}/public/early-{secrets.token_hex(4)}"
    image = build_image(f"FROM {busybox_image}\nCOPY a.txt /a.txt\n", {"a.txt": secrets.token_hex(8)})
    run(["/usr/bin/docker", "tag", image.id, f"{name}:1"])
    tagged.append(f"{name}:1")
    listener, address = plugin_socket()
    plugin = docker_config / "cli-plugins" / EXECUTABLE
    environment = {**os.environ, "DOCKER_CLI_PLUGIN_SOCKET": address, "DOCKER_CONFIG": str(docker_config)}
    environment["DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"] = "/usr/bin/docker"
    with listener:
        process = subprocess.Popen(
            [str(plugin), "hubguard", "push", f"{name}:1"],
            cwd=project,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        listener.settimeout(60)
        connection, _ = listener.accept()
        connection.close()
        _, stderr = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 130, stderr
    assert "hubguard: docker asked the plugin to stop" in stderr
    assert manifest_status(registry, name.split("/", 1)[1], "1") == 404


def test_a_socket_that_cannot_be_reached_is_ignored_like_docker_does(docker_config: Path):
    """An older docker CLI (or a stale variable) must not stop the plugin."""
    plugin = docker_config / "cli-plugins" / EXECUTABLE
    environment = {"DOCKER_CLI_PLUGIN_SOCKET": f"@docker_cli_{secrets.token_hex(8)}"}

    result = run([str(plugin), "hubguard", "push", "--help"], env=environment)

    assert result.returncode == 0, result.stderr
    assert "stop" not in result.stderr
