"""``hubguard install-plugin``: write the ``docker-hubguard`` shim where the docker CLI looks
for plugins, so ``docker hubguard push NAME`` runs ``hubguard push NAME`` (see plugin.py).

The shim that ``install-plugin`` writes runs the installed ``docker-hubguard`` console script
(else ``python -P``), never ``python -m`` from wherever docker was started: that would put the
working directory first on ``sys.path`` and run any ``hubguard/`` folder found there.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path

from hubguard.errors import InputError

EXECUTABLE = "docker-hubguard"
SYSTEM_PLUGIN_DIR = Path("/usr/local/lib/docker/cli-plugins")
SHIM = """#!/bin/sh
# The docker CLI plugin of hubguard (`docker hubguard ...`), written by `hubguard install-plugin`.
exec {command} "$@"
"""


def plugin_directory(*, config_dir: Path | None = None, system: bool = False) -> Path:
    """Where the docker CLI looks for plugins: ``/usr/local/lib/docker/cli-plugins`` for every
    user (``--system``), else ``cli-plugins/`` in the docker config dir (``--config``,
    ``$DOCKER_CONFIG`` or ``~/.docker``)."""
    if system:
        return SYSTEM_PLUGIN_DIR
    return Path(config_dir or os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "cli-plugins"


def shim_command() -> str:
    """The installed ``docker-hubguard`` console script next to this interpreter, else this
    interpreter with ``-P`` (no working directory on ``sys.path``)."""
    script = Path(sys.executable).parent / EXECUTABLE
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -P -m hubguard.push.plugin"


def install_plugin(docker_config_dir: Path | None = None, *, system: bool = False) -> Path:
    """Write the ``docker-hubguard`` shim where the docker CLI looks for plugins.

    The shim runs this environment's console script, so it keeps working whichever
    environment is active when docker runs it; writing it again is harmless (same content,
    atomic replace).
    """
    directory = plugin_directory(config_dir=docker_config_dir, system=system)
    target = directory / EXECUTABLE
    staging = directory / f".{EXECUTABLE}.{os.getpid()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging.write_text(SHIM.format(command=shim_command()), encoding="utf-8")
        staging.chmod(0o755)
        os.replace(staging, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
        raise InputError(f"cannot install the docker CLI plugin into {directory}: {exc.strerror}") from None
    return target
