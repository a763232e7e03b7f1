"""Just enough POSIX shell to follow a secret through a RUN step: split a script into simple
commands (``&&``, ``||``, ``;``, ``|``, newlines), keep each word as written, and find the
redirections and heredocs. Not an interpreter: quotes decide only whether ``$VAR`` expands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
REDIRECT = re.compile(r"(\d*|&)(>>|>\||>&|>|<<<|<<-?|<&|<>|<)")
NULL_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})


@dataclass
class Word:
    raw: str  # as written, quotes included
    expanded_vars: tuple[str, ...]  # names referenced outside single quotes

    @property
    def plain(self) -> str:
        """The word with quotes removed (good enough for paths and option names)."""
        return re.sub(r"[\"']", "", self.raw)


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)  # (operator, target)
    bodies: list[tuple[str, bool]] = field(default_factory=list)  # heredoc text, whether it expands
    piped_from: Command | None = None

    @property
    def argv(self) -> list[str]:
        """Plain words after leading ``NAME=value`` assignments and ``sudo``/``env`` wrappers."""
        words = [word.plain for word in self.words]
        while words and (ASSIGNMENT.fullmatch(words[0]) or words[0] in ("sudo", "env", "exec", "command")):
            words.pop(0)
        return words

    def variables(self) -> set[str]:
        found = {name for word in self.words for name in word.expanded_vars}
        found |= {name for _, target in self.redirects for name in target.expanded_vars}
        for body, expands in self.bodies:
            if expands:
                found |= {match.group(1) or match.group(2) for match in VARIABLE.finditer(body)}
        return found

    def mentions(self, path_prefixes: tuple[str, ...]) -> bool:
        """Whether a word (or heredoc body) names a file under one of ``path_prefixes``."""
        texts = [word.raw for word in self.words] + [body for body, _ in self.bodies]
        texts += [target.raw for operator, target in self.redirects if operator.startswith("<")]
        return any(prefix in text for text in texts for prefix in path_prefixes)

    def writes(self) -> list[str]:
        """Files this command writes by redirection or ``tee`` (not /dev/*, not fd duplicates)."""
        targets = [
            target.plain
            for operator, target in self.redirects
            if operator in (">", ">>", ">|") and target.plain not in NULL_TARGETS
        ]
        argv = self.argv
        if argv and argv[0] == "tee":
            targets += [arg for arg in argv[1:] if not arg.startswith("-") and arg not in NULL_TARGETS]
        return targets


def expanded_variables(raw: str) -> tuple[str, ...]:
    """``$NAME`` / ``${NAME…}`` references that the shell expands (outside single quotes)."""
    names: list[str] = []
    for segment in _unquoted_single(raw):
        names += [match.group(1) or match.group(2) for match in VARIABLE.finditer(segment)]
    return tuple(names)


def _unquoted_single(raw: str) -> list[str]:
    """The parts of ``raw`` not inside single quotes (double quotes still expand)."""
    segments, current, quote = [], [], ""
    for char in raw:
        if char == "'" and quote != '"':
            if quote == "'":
                quote = ""
            else:
                segments.append("".join(current))
                current, quote = [], "'"
            continue
        if char == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        if quote != "'":
            current.append(char)
    segments.append("".join(current))
    return segments


def commands(script: str) -> list[Command]:
    """The simple commands of ``script`` in order; a ``|`` links a command to the one before."""
    result: list[Command] = []
    current = Command()
    word: list[str] = []
    pending_redirect: str | None = None
    pipe_next = False
    heredocs_due: list[tuple[Command, str, bool]] = []
    i, depth, quote = 0, 0, ""
    script = script.replace("\\\n", " ")

    def end_word() -> None:
        nonlocal word, pending_redirect
        if not word:
            return
        raw = "".join(word)
        word = []
        if pending_redirect is not None:
            if pending_redirect.startswith("<<") and pending_redirect != "<<<":
                heredocs_due.append((current, raw, pending_redirect == "<<-"))
            else:
                current.redirects.append((pending_redirect, Word(raw, expanded_variables(raw))))
            pending_redirect = None
            return
        match = REDIRECT.fullmatch(raw)
        if match:
            pending_redirect = match.group(2)
            return
        operator = REDIRECT.search(raw)
        if operator and not quote and _outside_quotes(raw, operator.start()):
            before, op, after = raw[: operator.start()], operator.group(2), raw[operator.end() :]
            prefix = operator.group(1)
            if before and not prefix:
                current.words.append(Word(before, expanded_variables(before)))
            pending_redirect = op
            if after:
                word = list(after)
                end_word()
            return
        current.words.append(Word(raw, expanded_variables(raw)))

    def end_command(piped: bool) -> None:
        nonlocal current, pipe_next
        end_word()
        if current.words or current.redirects:
            if pipe_next and result:
                current.piped_from = result[-1]
            result.append(current)
        current = Command()
        pipe_next = piped

    while i < len(script):
        char = script[i]
        if quote:
            word.append(char)
            if char == "\\" and quote == '"' and i + 1 < len(script):
                word.append(script[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif depth:
            word.append(char)
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "\\" and i + 1 < len(script):
            word.append(script[i : i + 2])
            i += 2
            continue
        elif char in "\"'`":
            quote = char if char != "`" else "`"
            word.append(char)
        elif char == "$" and script[i + 1 : i + 2] == "(":
            word.append("$(")
            depth = 1
            i += 1
        elif char == "#" and not word:
            newline = script.find("\n", i)
            i = len(script) if newline < 0 else newline
            continue
        elif char in " \t":
            end_word()
        elif char in "\n;&|()":
            two = script[i : i + 2]
            if char == "&" and ((word and word[-1] in "<>") or script[i + 1 : i + 2] == ">"):
                word.append(char)  # &> and >&2 are redirections, not separators
            elif two in ("&&", "||"):
                end_command(False)
                i += 1
            elif char == "|":
                end_command(True)
            else:
                end_command(False)
            if char == "\n" and heredocs_due:
                i = _read_heredocs(script, i + 1, heredocs_due) - 1
                heredocs_due.clear()
        else:
            word.append(char)
        i += 1
    end_command(False)
    return result


def _read_heredocs(script: str, start: int, due: list[tuple[Command, str, bool]]) -> int:
    """Attach each pending heredoc's body (the lines up to its delimiter) to its command;
    returns the index after the last delimiter line."""
    for command, raw, strip_tabs in due:
        name = raw.strip("'\"")
        body: list[str] = []
        while start < len(script):
            end = script.find("\n", start)
            end = len(script) if end < 0 else end
            line = script[start:end]
            start = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == name:
                break
            body.append(line)
        command.bodies.append(("\n".join(body), raw == name))
    return start


def _outside_quotes(raw: str, position: int) -> bool:
    return raw[:position].count('"') % 2 == 0 and raw[:position].count("'") % 2 == 0
