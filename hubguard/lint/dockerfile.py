"""A Dockerfile parser that keeps what a secret's path depends on: line numbers, flags, heredoc
bodies, the JSON and shell forms, and stages.

Written here rather than taken from ``dockerfile-parse`` (2.0.1): that library reads each line
of a heredoc body (``RUN <<EOF``) as an instruction of its own, and hands back instruction text
without separating flags (``--mount``, ``--from``) or the JSON form. The rules follow BuildKit's
parser (moby/buildkit ``frontend/dockerfile/parser``):

* parser directives (``# syntax=``, ``# escape=``, ``# check=``) only at the very top, ended by
  the first line that is not one;
* a line ending in the escape character (``\\`` or `````) continues on the next; comment and
  empty lines inside a continuation are dropped;
* ``<<WORD`` / ``<<-WORD`` / ``<<"WORD"`` in RUN, COPY and ADD read the lines after the
  instruction up to ``WORD`` as a heredoc body;
* an argument list that parses as a JSON array of strings is the exec (JSON) form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from hubguard.errors import InputError

DIRECTIVE = re.compile(r"#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
HEREDOC = re.compile(r"<<(?!<)(-?)[ \t]*(?:\"([^\"\n]+)\"|'([^'\n]+)'|([A-Za-z0-9_.-]+))")
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
PRAGMA = re.compile(r"#[ \t]*hubguard:[ \t]*ignore=([A-Za-z0-9_.,-]+)[ \t]*(.*?)[ \t]*$")


class DockerfileError(InputError):
    """A Dockerfile BuildKit would refuse too (an unterminated heredoc)."""


@dataclass(frozen=True)
class Pragma:
    """``# hubguard: ignore=RULE[,RULE] reason`` on ``line``."""

    rules: tuple[str, ...]
    reason: str
    line: int


@dataclass(frozen=True)
class Heredoc:
    """A heredoc body; ``expands`` is False for a quoted delimiter (``<<'EOF'``: no ``$VAR``)."""

    name: str
    body: str
    first_line: int  # of the body; the delimiter line follows it
    expands: bool


@dataclass
class Instruction:
    """One instruction with its flags split off; ``text`` is the shell-form argument string."""

    keyword: str
    flags: list[tuple[str, str]]
    text: str
    line: int
    end_line: int
    parts: list[tuple[int, str]]  # (physical line, its text) the instruction was joined from
    json_args: list[str] | None = None
    heredocs: list[Heredoc] = field(default_factory=list)
    pragmas: list[Pragma] = field(default_factory=list)
    stage: int = -1  # index into Dockerfile.stages; -1 before the first FROM

    def flag(self, name: str) -> str | None:
        """The last value given for ``--name`` (as BuildKit keeps it), else None."""
        values = [value for key, value in self.flags if key == name]
        return values[-1] if values else None

    def flag_values(self, name: str) -> list[str]:
        return [value for key, value in self.flags if key == name]

    @property
    def args(self) -> list[str]:
        """JSON-form elements, or the shell-form text split into words (quotes honoured)."""
        return self.json_args if self.json_args is not None else split_words(self.text)

    def line_of(self, needle: str) -> int:
        """The physical line where ``needle`` first appears, for findings that point inside a
        multi-line instruction; the instruction's first line when it is not found."""
        for number, text in self.parts:
            if needle and needle in text:
                return number
        for heredoc in self.heredocs:
            for offset, text in enumerate(heredoc.body.split("\n")):
                if needle and needle in text:
                    return heredoc.first_line + offset
        return self.line


@dataclass
class Stage:
    index: int
    name: str  # lowercased AS name, or "" when unnamed
    base: str  # the image (or earlier stage) it starts from
    line: int


@dataclass
class Dockerfile:
    path: str
    escape: str
    directives: dict[str, str]
    instructions: list[Instruction]
    stages: list[Stage]
    lines: list[str]

    def stage_named(self, reference: str) -> Stage | None:
        """A stage by AS name or by index, as ``FROM``/``--from=`` refer to one."""
        lowered = reference.lower()
        for stage in self.stages:
            if stage.name and stage.name == lowered:
                return stage
        if reference.isdigit() and int(reference) < len(self.stages):
            return self.stages[int(reference)]
        return None

    def final_lineage(self) -> set[int]:
        """The last stage and every stage it is built ``FROM``: what ends up in the image."""
        lineage: set[int] = set()
        stage = self.stages[-1] if self.stages else None
        while stage is not None and stage.index not in lineage:
            lineage.add(stage.index)
            parent = self.stage_named(stage.base)
            stage = parent if parent is not None and parent.index < stage.index else None
        return lineage


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile source; a structure BuildKit would reject raises DockerfileError."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    directives, index = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"{path}: invalid escape directive {escape!r} (must be \\ or `)")
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    instructions: list[Instruction] = []
    stages: list[Stage] = []
    pending: list[Pragma] = []
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pragma = _pragma(stripped, index + 1)
            if pragma is not None:
                pending.append(pragma)
            index += 1
            continue
        parts: list[tuple[int, str]] = []
        pragmas = pending
        pending = []
        while True:
            current = lines[index]
            ends = continuation.search(current)
            parts.append((index + 1, current[: ends.start()] if ends else current))
            index += 1
            if not ends:
                break
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                pragma = _pragma(lines[index].strip(), index + 1)
                if pragma is not None:
                    pragmas.append(pragma)
                index += 1
            if index >= len(lines):
                break
        instruction, index = _instruction(parts, lines, index, path)
        instruction.pragmas = pragmas
        if instruction.keyword == "FROM":
            stages.append(_stage(instruction, len(stages)))
        instruction.stage = len(stages) - 1
        instructions.append(instruction)
    return Dockerfile(path, escape, directives, instructions, stages, lines)


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    directives: dict[str, str] = {}
    index = 0
    for index, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if not match or match.group(1).lower() not in KNOWN_DIRECTIVES:
            return directives, index
        name = match.group(1).lower()
        if name in directives:  # BuildKit: a repeated directive is an error; keep the first
            return directives, index
        directives[name] = match.group(2)
    return directives, len(lines)


def _pragma(comment: str, line: int) -> Pragma | None:
    match = PRAGMA.search(comment)
    if not match:
        return None
    rules = tuple(rule for rule in match.group(1).split(",") if rule)
    return Pragma(rules, match.group(2), line)


def _instruction(
    parts: list[tuple[int, str]], lines: list[str], index: int, path: str
) -> tuple[Instruction, int]:
    joined = "".join(text for _, text in parts).strip()
    keyword, _, rest = joined.partition(" ")
    if "\t" in keyword:
        keyword, _, tail = keyword.partition("\t")
        rest = tail + " " + rest
    keyword = keyword.upper()
    rest = rest.strip()
    flags: list[tuple[str, str]] = []
    if keyword in ("RUN", "COPY", "ADD", "FROM", "HEALTHCHECK"):
        rest, flags = _split_flags(rest)
    instruction = Instruction(keyword, flags, rest, parts[0][0], parts[-1][0], parts)
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            instruction.json_args = value
    if keyword in HEREDOC_INSTRUCTIONS and instruction.json_args is None:
        for match in HEREDOC.finditer(rest):
            strip_tabs = match.group(1) == "-"
            name = match.group(2) or match.group(3) or match.group(4)
            body: list[str] = []
            first = index + 1
            while True:
                if index >= len(lines):
                    raise DockerfileError(f"{path}:{parts[0][0]}: heredoc <<{name} is never terminated")
                current = lines[index]
                index += 1
                if (current.lstrip("\t") if strip_tabs else current) == name:
                    break
                body.append(current.lstrip("\t") if strip_tabs else current)
            expands = match.group(2) is None and match.group(3) is None
            instruction.heredocs.append(Heredoc(name, "\n".join(body), first, expands))
        if instruction.heredocs:
            instruction.end_line = index
    return instruction, index


def _split_flags(rest: str) -> tuple[str, list[tuple[str, str]]]:
    flags: list[tuple[str, str]] = []
    while rest.startswith("--"):
        word, _, remainder = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        flags.append((name.lower(), value))
        rest = remainder.lstrip()
    return rest, flags


def _stage(instruction: Instruction, index: int) -> Stage:
    words = instruction.args
    base = words[0] if words else ""
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
    return Stage(index, name, base, instruction.line)


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words with quotes removed (BuildKit's word rules for ENV, ARG,
    LABEL and the COPY/ADD sources); ``$VAR`` is kept as written."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == escape and quote != "'" and i + 1 < len(text):
            current.append(text[i + 1])
            in_word = True
            i += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
            in_word = True
        elif char.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(current))
    return words


def assignments(instruction: Instruction) -> list[tuple[str, str | None]]:
    """(name, value) pairs of an ARG, ENV or LABEL; ARG without a default has value None.
    ``ENV NAME value with spaces`` (the legacy form) is one pair."""
    words = split_words(instruction.text)
    if instruction.keyword == "ENV" and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, sep, value = word.partition("=")
        pairs.append((name, value if sep else None))
    return pairs
