"""What a RUN instruction runs (heredocs put back in place), and which files well-known tools
write their settings to, so a secret handed to ``git config`` or ``npm config set`` is followed
into the file it lands in."""

from __future__ import annotations

import posixpath
import re

from hubguard.lint.dockerfile import Instruction
from hubguard.lint.shell import Command


def run_script(instruction: Instruction) -> str:
    """What the shell runs: the heredoc body for ``RUN <<EOF``, else the command line with any
    heredoc bodies put back under it (as the shell sees ``cat <<EOF > file``)."""
    if instruction.json_args is not None:
        args = instruction.json_args
        if len(args) >= 3 and args[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash") and args[1] == "-c":
            return args[2]
        return " ".join(args)
    text = instruction.text
    if instruction.heredocs and re.fullmatch(r"<<-?[\"']?\S+?[\"']?(\s+\S*(sh|bash))?", text.strip()):
        return instruction.heredocs[0].body
    for heredoc in instruction.heredocs:
        text += "\n" + heredoc.body + "\n" + heredoc.name
    return text


def config_files(argv: list[str], command: Command, secret_paths: list[str]) -> list[str]:
    """Files that well-known tools write their settings (and so the secret) to."""
    if not argv:
        return []
    tool, rest = posixpath.basename(argv[0]), argv[1:]
    sub = [arg for arg in rest if not arg.startswith("-")]
    if tool == "git" and sub[:1] == ["config"]:
        if "--global" in rest:
            return ["~/.gitconfig"]
        if "--system" in rest:
            return ["/etc/gitconfig"]
        for flag in ("--file", "-f"):
            if flag in rest and rest.index(flag) + 1 < len(rest):
                return [rest[rest.index(flag) + 1]]
        return [".git/config"]
    if tool == "git" and sub[:1] == ["clone"] and len(sub) >= 2:
        directory = sub[2] if len(sub) >= 3 else posixpath.basename(sub[1]).removesuffix(".git")
        return [posixpath.join(directory, ".git/config")]
    if tool == "git" and sub[:2] in (["remote", "add"], ["remote", "set-url"]):
        return [".git/config"]
    if tool in ("npm", "pnpm") and (sub[:2] == ["config", "set"] or sub[:1] == ["set"]):
        return ["~/.npmrc"]
    if tool == "yarn" and sub[:2] == ["config", "set"]:
        return ["~/.yarnrc"]
    if tool in ("pip", "pip3") and sub[:2] == ["config", "set"]:
        return ["/etc/pip.conf" if "--global" in rest else "~/.config/pip/pip.conf"]
    if tool == "poetry" and sub[:1] == ["config"]:
        return ["~/.config/pypoetry/auth.toml"]
    if tool == "docker" and sub[:1] == ["login"]:
        return ["~/.docker/config.json"]
    if tool == "aws" and sub[:2] == ["configure", "set"]:
        return ["~/.aws/credentials"]
    if tool == "bundle" and sub[:1] == ["config"]:
        return ["~/.bundle/config"]
    if tool == "composer" and sub[:1] == ["config"]:
        return ["~/.composer/auth.json" if "--global" in rest or "-g" in rest else "auth.json"]
    if tool == "sed" and any(arg.startswith("-i") or arg == "--in-place" for arg in rest) and sub:
        return [sub[-1]]
    if (
        tool in ("cp", "install")
        and len(sub) >= 2
        and any(prefix and source.startswith(prefix) for source in sub[:-1] for prefix in secret_paths)
    ):
        return [sub[-1]]
    return []
