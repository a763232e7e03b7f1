"""Secrets passed as build arguments in CI: GitHub Actions workflows and Makefiles.

Two shapes, each reported at its own line:

* ``docker/build-push-action`` with ``build-args:`` fed from ``${{ secrets.* }}`` (or naming a
  secret-looking argument), found through the YAML node tree so only that action counts;
* ``docker build`` / ``docker buildx build`` / ``podman build`` with ``--build-arg NAME=VALUE``
  in a workflow's shell steps or a Makefile recipe, where NAME looks like a secret or VALUE
  comes from ``secrets.*`` or a secret-looking variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

import hubguard.lint.catalog as catalog
from hubguard.lint.rules import Issue

BUILD_COMMAND = re.compile(r"\b(?:docker(?:\s+buildx)?(?:\s+image)?\s+build|podman\s+build|buildah\s+bud)\b")
BUILD_ARG = re.compile(
    r"--build-arg(?:=|\s+)(?P<q>[\"']?)(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<value>(?:\$\{\{.*?\}\}|[^\s\"'])*))?"
)
SECRETS_CONTEXT = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
REFERENCE = re.compile(r"\$\$?(?:\(|\{)?([A-Za-z_][A-Za-z0-9_]*)")
BUILD_PUSH_ACTION = "docker/build-push-action"


class WorkflowError(ValueError):
    """A workflow file that is not YAML: the checks could not run."""


def lint_workflow(text: str, looks_secret: Callable[[str], bool]) -> list[Issue]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise WorkflowError(str(exc).splitlines()[0]) from None
    issues: list[Issue] = []
    if root is not None:
        for node in _mappings(root):
            uses = _value(node, "uses")
            if isinstance(uses, yaml.ScalarNode) and uses.value.startswith(BUILD_PUSH_ACTION):
                with_node = _value(node, "with")
                args = _value(with_node, "build-args") if isinstance(with_node, yaml.MappingNode) else None
                if isinstance(args, yaml.ScalarNode):
                    issues += _action_build_args(args, looks_secret)
    return issues + lint_shell_lines(text.split("\n"), looks_secret)


def _mappings(node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        yield node
        for key, value in node.value:
            yield from _mappings(key)
            yield from _mappings(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _mappings(item)


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value
    return None


def _action_build_args(node: yaml.ScalarNode, looks_secret: Callable[[str], bool]) -> list[Issue]:
    """One issue per ``NAME=value`` line of the input; a block scalar starts on the next line."""
    first = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
    issues = []
    for offset, entry in enumerate(node.value.split("\n")):
        name, _, value = entry.strip().partition("=")
        secret = SECRETS_CONTEXT.search(value)
        if not name or not (secret or looks_secret(name)):
            continue
        source = f"secrets.{secret.group(1)}" if secret else "a secret-named value"
        issues.append(
            Issue(
                catalog.CI_BUILD_ARG,
                first + offset if node.style in ("|", ">") else first,
                f"build-push-action build-args {name} from {source}: use its secrets: input",
                f"build-args {name}",
            )
        )
    return issues


def lint_shell_lines(lines: list[str], looks_secret: Callable[[str], bool]) -> list[Issue]:
    """``--build-arg`` secrets in build commands, continuations (``\\``) followed."""
    issues: list[Issue] = []
    index = 0
    while index < len(lines):
        start = index
        logical = [lines[index]]
        while logical[-1].rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            logical.append(lines[index])
        index += 1
        if not BUILD_COMMAND.search(" ".join(logical)):
            continue
        for offset, physical in enumerate(logical):
            for match in BUILD_ARG.finditer(physical):
                name, value = match.group("name"), match.group("value")
                reason = _secret_reason(name, value, looks_secret)
                if reason:
                    issues.append(
                        Issue(
                            catalog.CI_BUILD_ARG,
                            start + offset + 1,
                            f"--build-arg {name} {reason}: use --secret id={name.lower()},env={name}",
                            f"--build-arg {name}",
                        )
                    )
    return issues


def _secret_reason(name: str, value: str | None, looks_secret: Callable[[str], bool]) -> str:
    if value:
        secret = SECRETS_CONTEXT.search(value)
        if secret:
            return f"from secrets.{secret.group(1)}"
        reference = REFERENCE.search(value)
        if reference and looks_secret(reference.group(1)):
            return f"from ${reference.group(1)}"
    return "looks like a secret" if looks_secret(name) else ""
