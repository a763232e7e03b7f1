"""The build context walker on awkward trees: which ignore file, what is sent, what cannot be
examined (hubguard/sources/context.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hubguard.dockerignore import BUILDERS
from hubguard.errors import InputError
from hubguard.sources.context import find_ignore_file, walk_context
from tests.fakes import expand

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` (relative path → content; a trailing "/" makes an empty directory)."""
    for relative, content in files.items():
        path = root / relative
        if relative.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_per_dockerfile_ignore_file_replaces_the_root_one_for_buildkit(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {".dockerignore": "a\n", "docker/app.Dockerfile": "", "docker/app.Dockerfile.dockerignore": "b\n"},
    )
    beside = tmp_path / "docker/app.Dockerfile.dockerignore"
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile") == beside
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile", "buildkit-20.10") == beside
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile", "classic") == tmp_path / ".dockerignore"
    assert find_ignore_file(tmp_path, "docker/other.Dockerfile") == tmp_path / ".dockerignore"
    assert find_ignore_file(tmp_path / "docker", None) is None


def test_dockerfile_and_ignore_file_are_always_sent(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n.dockerignore\n", "app.py": ""},
    )
    for builder in BUILDERS:
        listing = walk_context(tmp_path, builder=builder)
        sent = {entry.path: entry.copied for entry in listing.entries}
        assert sent == {"Dockerfile": False, ".dockerignore": False, "app.py": True}, builder


def test_classic_keeps_the_directory_of_a_deleted_dockerfile(tmp_path: Path) -> None:
    make_tree(tmp_path, {"docker/Dockerfile": "", "docker/notes": "", ".dockerignore": "docker\n", "top": ""})
    classic = walk_context(tmp_path, "docker/Dockerfile", "classic").copied()
    assert classic == {".dockerignore": "file", "docker": "dir", "top": "file"}
    buildkit = walk_context(tmp_path, "docker/Dockerfile", "buildkit").copied()
    assert buildkit == {".dockerignore": "file", "top": "file"}


def test_symlinks_are_sent_as_links_and_never_followed(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"id_rsa": expand("{b64:64}")})
    context = make_tree(tmp_path / "ctx", {"app.py": ""})
    (context / "keys").symlink_to(outside)
    (context / "dangling").symlink_to(tmp_path / "missing")
    listing = walk_context(context)
    assert listing.copied() == {"app.py": "file", "dangling": "symlink", "keys": "symlink"}
    assert listing.problems == []


def test_a_symlink_loop_is_a_note_and_the_walk_goes_on(tmp_path: Path) -> None:
    make_tree(tmp_path, {"z.txt": ""})
    (tmp_path / "loop_a").symlink_to("loop_b")
    (tmp_path / "loop_b").symlink_to("loop_a")
    listing = walk_context(tmp_path)
    assert listing.problems == []  # harmless: the builder sends the links, never follows them
    assert listing.notes == [
        "loop_a: symlink loop (sent as a link, not followed)",
        "loop_b: symlink loop (sent as a link, not followed)",
    ]
    assert set(listing.copied()) == {"loop_a", "loop_b", "z.txt"}


def test_fifos_and_sockets_are_reported_unless_excluded(tmp_path: Path) -> None:
    make_tree(tmp_path, {"run/": "", "z.txt": "", ".dockerignore": "ignored.fifo\n"})
    os.mkfifo(tmp_path / "pipe")
    os.mkfifo(tmp_path / "ignored.fifo")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "run/app.sock"))
        listing = walk_context(tmp_path)
    assert listing.problems == [
        "pipe: is a FIFO; not scanned (exclude it in the ignore file)",
        "run/app.sock: is a socket; not scanned (exclude it in the ignore file)",
    ]
    assert set(listing.copied()) == {".dockerignore", "run", "z.txt"}


def test_non_utf8_names_are_reported_and_still_listed(tmp_path: Path) -> None:
    make_tree(tmp_path, {"ok.txt": ""})
    (tmp_path / os.fsdecode(b"caf\xe9.env")).write_bytes(b"")
    listing = walk_context(tmp_path)
    assert listing.problems == ["caf\\xe9.env: file name is not valid UTF-8"]
    assert os.fsdecode(b"caf\xe9.env") in listing.copied()


def test_unreadable_directories_are_reported_and_excluded_ones_never_entered(tmp_path: Path) -> None:
    """Run as root without CAP_DAC_OVERRIDE so that mode 000 really locks a directory."""
    make_tree(
        tmp_path,
        {
            ".dockerignore": "node_modules\n",
            "locked/inner.txt": "",
            "node_modules/pkg/index.js": "",
            "src/app.py": "",
        },
    )
    (tmp_path / "src/private.key").write_text("")
    (tmp_path / "src/private.key").chmod(0)
    for locked in ("locked", "node_modules"):
        (tmp_path / locked).chmod(0)
    script = (
        "import json, sys; from hubguard.sources.context import walk_context;"
        "listing = walk_context(sys.argv[1]);"
        "print(json.dumps([sorted(listing.copied()), listing.problems]))"
    )
    try:
        completed = subprocess.run(
            [
                "setpriv",
                "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search",
                sys.executable,
                "-c",
                script,
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=True,
        )
    finally:
        for locked in ("locked", "node_modules"):
            (tmp_path / locked).chmod(0o755)
    copied, problems = json.loads(completed.stdout)
    assert problems == [
        "locked: cannot list directory (permission denied)",
        "src/private.key: cannot read file (permission denied)",
    ]
    assert copied == [".dockerignore", "locked", "src", "src/app.py", "src/private.key"]


def test_an_invalid_ignore_file_is_a_problem_and_everything_counts_as_sent(tmp_path: Path) -> None:
    make_tree(tmp_path, {".dockerignore": "*.log\n[oops\n", "a.log": ""})
    listing = walk_context(tmp_path)
    assert listing.problems == [
        ".dockerignore line 2: invalid pattern: unterminated character class;"
        " Docker would refuse to build, treating every file as sent"
    ]
    assert set(listing.copied()) == {".dockerignore", "a.log"}


def test_a_missing_context_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^build context .*: no such file or directory$"):
        walk_context(tmp_path / "nope")
