"""The Dockerfile checks: walk the instructions stage by stage, following each secret from the
ARG, ENV or secret mount it enters by, to the files it is written to, to the stages that copy
those files. What a rule means is in :mod:`hubguard.lint.catalog`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import hubguard.lint.catalog as catalog
from hubguard.detect.engine import Detector
from hubguard.detect.rules import RuleSet
from hubguard.lint.credentials import WHOLE_CONTEXT, credential_match, rule_lives_under
from hubguard.lint.dockerfile import Dockerfile, Instruction, Stage, assignments
from hubguard.lint.names import looks_secret
from hubguard.lint.runs import config_files, run_script
from hubguard.lint.shell import ASSIGNMENT, commands
from hubguard.model import Severity

_KEPT_IN = {"ENV": "the image config", "ARG": "the history"}
URL_WITH_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/@\s]*(?::|\$)[^/@\s]*)@")
EPHEMERAL_MOUNTS = frozenset({"tmpfs", "cache", "secret", "bind"})


@dataclass(frozen=True)
class Issue:
    """A finding before pragmas and formatting: rule, place, wording, and what identifies it."""

    rule_id: str
    line: int
    title: str
    key: str  # stable identity for the fingerprint (never a secret value)
    severity: Severity | None = None  # None: the rule's own
    hashed_secret: str = ""
    redacted: str = ""
    pragma: bool = False  # an inline ``pragma: allowlist secret`` accepted it


@dataclass
class SecretFile:
    """A file in a stage's filesystem that holds a secret."""

    line: int
    why: str
    deleted_at: int | None = None
    issue: int | None = None  # index of its secret-in-file issue, to name a later rm


@dataclass
class StageState:
    secret_vars: dict[str, int] = field(default_factory=dict)  # name -> declaring line
    env_vars: set[str] = field(default_factory=set)  # the ENV ones: they carry into child stages
    workdir: str = "/"
    home: str = "/root"
    files: dict[str, SecretFile] = field(default_factory=dict)

    def child(self) -> StageState:
        """A stage ``FROM`` this one: ENV, WORKDIR and files carry over, ARGs do not."""
        return StageState(
            {name: line for name, line in self.secret_vars.items() if name in self.env_vars},
            set(self.env_vars),
            self.workdir,
            self.home,
            {path: replace(secret) for path, secret in self.files.items()},
        )


@dataclass
class DockerfileChecker:
    """One Dockerfile's checks. ``context_dir`` is the build context (None: no context, e.g.
    stdin); ``exposures`` returns the context's unexcluded sensitive files, computed on demand."""

    dockerfile: Dockerfile
    rules: RuleSet
    words: tuple[str, ...]
    detector: Detector | None
    context_dir: Path | None
    exposures: Callable[[], tuple[bool, list[tuple[str, str]]]] | None
    enabled: frozenset[str]
    issues: list[Issue] = field(default_factory=list)

    def run(self) -> list[Issue]:
        df = self.dockerfile
        final = df.final_lineage()
        states: dict[int, StageState] = {}
        state = StageState()
        for instruction in df.instructions:
            in_final = instruction.stage < 0 or instruction.stage in final
            if instruction.keyword == "FROM":
                stage = df.stages[instruction.stage]
                parent = df.stage_named(stage.base)
                usable = parent is not None and parent.index < stage.index
                state = states[parent.index].child() if usable and parent is not None else StageState()
                states[stage.index] = state
            handler = self._handlers().get(instruction.keyword)
            if handler is not None:
                handler(instruction, state, states, in_final)
        if self.detector is not None and catalog.LITERAL_SECRET in self.enabled:
            self._literal_secrets()
        return [issue for issue in self.issues if issue.rule_id in self.enabled]

    def _handlers(self) -> dict[str, Callable[[Instruction, StageState, dict, bool], None]]:
        return {
            "ARG": self._declare,
            "ENV": self._declare,
            "USER": self._user,
            "WORKDIR": self._workdir,
            "RUN": self._run,
            "COPY": self._copy,
            "ADD": self._copy,
        }

    def _report(self, rule_id: str, line: int, title: str, key: str, **extra: object) -> int:
        self.issues.append(Issue(rule_id, line, title, key, **extra))  # type: ignore[arg-type]
        return len(self.issues) - 1

    # -- ARG / ENV / USER / WORKDIR ------------------------------------------------------

    def _declare(self, instruction: Instruction, state: StageState, states: dict, in_final: bool) -> None:
        keyword = instruction.keyword
        for name, value in assignments(instruction):
            tainted_value = value is not None and any(
                f"${var}" in value or f"${{{var}" in value for var in state.secret_vars
            )
            if keyword == "ENV" and name == "HOME" and value:
                state.home = value
            if looks_secret(name, self.words):
                if keyword == "ENV" and not value:
                    continue  # ENV NPM_TOKEN="" clears it
                severity = None if in_final else Severity.MEDIUM
                where = "" if in_final else " (builder stage)"
                given = " with a default" if keyword == "ARG" and value else ""
                self._report(
                    catalog.SECRET_NAME,
                    instruction.line_of(name),
                    f"{keyword} {name}{given}: a secret in {_KEPT_IN[keyword]}{where}; use"
                    f" RUN --mount=type=secret,id={name.lower()},env={name}",
                    f"{keyword} {name}",
                    severity=severity,
                )
            if looks_secret(name, self.words) or tainted_value:
                state.secret_vars[name] = instruction.line
                if keyword == "ENV":
                    state.env_vars.add(name)

    def _user(self, instruction: Instruction, state: StageState, states: dict, in_final: bool) -> None:
        user = instruction.text.split(":")[0].strip()
        state.home = "/root" if user in ("", "root", "0") else f"/home/{user}"

    def _workdir(self, instruction: Instruction, state: StageState, states: dict, in_final: bool) -> None:
        state.workdir = posixpath.normpath(posixpath.join(state.workdir, instruction.text.strip() or "/"))

    # -- RUN: secrets written to files ---------------------------------------------------

    def _run(self, instruction: Instruction, state: StageState, states: dict, in_final: bool) -> None:
        secret_vars = set(state.secret_vars)
        secret_paths: list[str] = []
        ephemeral: list[str] = []
        for mount in instruction.flag_values("mount"):
            options = dict(
                [*item.split("=", 1), ""][:2]
                for item in mount.split(",")
                if item  # type: ignore[misc]
            )
            kind = options.get("type", "bind")
            target = options.get("target") or options.get("dst") or options.get("destination") or ""
            if kind == "secret":
                if options.get("env"):
                    secret_vars.add(options["env"])
                if target or not options.get("env"):
                    secret_paths.append(target or "/run/secrets/" + options.get("id", ""))
            if kind in EPHEMERAL_MOUNTS and target:
                ephemeral.append(self._resolve(target, state))
        written: dict[str, tuple[int, str]] = {}
        carried: dict[int, str] = {}  # command -> what secret it carries ("$NPM_TOKEN"), if any
        for command in commands(run_script(instruction)):
            argv = command.argv
            names = sorted(command.variables() & secret_vars)
            carries = f"${names[0]}" if names else ""
            if not carries and command.mentions(tuple(secret_paths)):
                carries = "a secret mount's file"
            if not carries and command.piped_from is not None:
                carries = carried.get(id(command.piped_from), "")
            carried[id(command)] = carries
            for word in command.words:  # X=$TOKEN or export X=$TOKEN: X now carries it
                match = ASSIGNMENT.fullmatch(word.plain)
                if match and set(word.expanded_vars) & secret_vars:
                    secret_vars.add(match.group(1))
            if argv and argv[0] == "rm":
                for target in (arg for arg in argv[1:] if not arg.startswith("-")):
                    gone = self._resolve(target, state)
                    for path in [p for p in written if _covers(gone, p)]:
                        del written[path]
                    for secret in (s for p, s in state.files.items() if _covers(gone, p)):
                        if secret.deleted_at is None:
                            secret.deleted_at = instruction.line
                            self._name_deletion(secret, instruction.line)
                continue
            if not carries:
                continue
            for target in command.writes() + config_files(argv, command, secret_paths):
                path = self._resolve(target, state)
                if any(_covers(mount, path) for mount in ephemeral):
                    continue
                written[path] = (instruction.line_of(target.split("/")[-1] or target), carries)
        for path, (line, source) in written.items():
            secret = state.files[path] = SecretFile(line, f"{source} written at line {line}")
            if in_final:
                secret.issue = self._report(
                    catalog.SECRET_IN_FILE,
                    line,
                    f"{source} is written to {path}: the layer of this RUN keeps it",
                    path,
                )

    def _name_deletion(self, secret: SecretFile, line: int) -> None:
        """A later ``rm`` hides the file in a new layer; the finding says why that does not help."""
        if secret.issue is not None:
            issue = self.issues[secret.issue]
            title = f"{issue.title}, even though the RUN at line {line} deletes it (in a new layer)"
            self.issues[secret.issue] = replace(issue, title=title)

    # -- COPY / ADD ----------------------------------------------------------------------

    def _copy(self, instruction: Instruction, state: StageState, states: dict, in_final: bool) -> None:
        if instruction.heredocs:
            return  # COPY <<EOF /file: the body is checked for literal secrets
        args = [arg for arg in instruction.args if arg]
        if len(args) < 2:
            return
        sources, destination = args[:-1], args[-1]
        origin = instruction.flag("from")
        if origin is not None:
            self._copy_from(instruction, origin, sources, destination, state, states, in_final)
            return
        flagged: set[str] = set()
        for source in sources:
            if instruction.keyword == "ADD" and URL_WITH_CREDENTIALS.match(source):
                user = URL_WITH_CREDENTIALS.match(source).group(1)  # type: ignore[union-attr]
                self._report(
                    catalog.URL_CREDENTIALS,
                    instruction.line_of("@"),
                    f"ADD from a URL with credentials ({user.split(':')[0]}:…@): recorded in the history",
                    "ADD " + re.sub(r"//[^@/]*@", "//", source),
                )
                flagged.add(source)
                continue
            if "://" in source:
                continue
            matched = credential_match(self.rules, self.context_dir, source)
            if matched is not None:
                flagged.add(source)
                dest = self._resolve(destination, state)
                state.files[dest] = SecretFile(
                    instruction.line, f"{source} copied at line {instruction.line}"
                )
                if in_final:
                    self._report(
                        catalog.CREDENTIAL_COPY,
                        instruction.line_of(source),
                        f"{instruction.keyword} {source} copies a credential file ({matched}) into the image",
                        f"{instruction.keyword} {source}",
                    )
        context_sources = [source for source in sources if source not in flagged and "://" not in source]
        if context_sources and self.exposures is not None:
            self._context_copy(instruction, context_sources, destination, state, in_final)

    def _context_copy(
        self,
        instruction: Instruction,
        sources: list[str],
        destination: str,
        state: StageState,
        in_final: bool,
    ) -> None:
        assert self.exposures is not None
        has_ignore_file, exposed = self.exposures()
        whole = [source for source in sources if source in WHOLE_CONTEXT]
        for source in sources:
            prefix = (
                "" if source in WHOLE_CONTEXT else posixpath.normpath(source).lstrip("/").rstrip("/") + "/"
            )
            sent = [path for path, _ in exposed if path.startswith(prefix)]
            landing = self._resolve(destination, state)
            for path in sent:  # now in this stage: a later COPY --from may carry it on
                where = posixpath.join(landing, path[len(prefix) :])
                state.files[where] = SecretFile(
                    instruction.line, f"{path} sent by COPY at line {instruction.line}"
                )
            if sent:
                shown = ", ".join(sent[:3]) + (f" and {len(sent) - 3} more" if len(sent) > 3 else "")
                self._report(
                    catalog.CONTEXT_COPY,
                    instruction.line_of(source),
                    f"{instruction.keyword} {source} sends {shown}: not excluded by .dockerignore",
                    f"{instruction.keyword} {source} {','.join(sent)}",
                    severity=None if in_final else Severity.MEDIUM,
                )
            elif source in whole and not has_ignore_file:
                self._report(
                    catalog.CONTEXT_COPY,
                    instruction.line_of(source),
                    f"{instruction.keyword} {source} with no .dockerignore: the whole context is copied",
                    f"{instruction.keyword} {source} no-ignore-file",
                    severity=Severity.MEDIUM,
                )

    def _copy_from(
        self,
        instruction: Instruction,
        origin: str,
        sources: list[str],
        destination: str,
        state: StageState,
        states: dict[int, StageState],
        in_final: bool,
    ) -> None:
        stage: Stage | None = self.dockerfile.stage_named(origin)
        source_files = states[stage.index].files if stage is not None and stage.index in states else {}
        for source in sources:
            root = posixpath.normpath(posixpath.join("/", source))
            hit = next(
                (
                    (path, secret)
                    for path, secret in source_files.items()
                    if secret.deleted_at is None and _covers(root, path)
                ),
                None,
            )
            if hit is not None:
                path, secret = hit
                relative = posixpath.relpath(path, root) if path != root else posixpath.basename(path)
                dest = self._resolve(destination, state)
                landed = posixpath.normpath(posixpath.join(dest, relative)) if path != root else dest
                state.files[landed] = SecretFile(
                    instruction.line, f"copied from {origin} at line {instruction.line}"
                )
                why = f"{path}: {secret.why} in stage {origin}"
            else:
                named = self.rules.file_rules_named(root) or [
                    rule for rule in self.rules.file_rules if rule_lives_under(rule, root.lstrip("/"))
                ]
                if not named:
                    continue
                why = named[0].title
            if in_final:
                self._report(
                    catalog.STAGE_LEAK,
                    instruction.line_of(source),
                    f"COPY --from={origin} {source} brings a secret into the final image ({why})",
                    f"COPY --from={origin} {source}",
                )

    # -- literal values ------------------------------------------------------------------

    def _literal_secrets(self) -> None:
        assert self.detector is not None
        text = "\n".join(self.dockerfile.lines).encode("utf-8", "surrogateescape")
        url_lines = {issue.line for issue in self.issues if issue.rule_id == catalog.URL_CREDENTIALS}
        for hit in self.detector.scan_text(text, "Dockerfile"):
            if hit.rule_id == "url-credentials" and hit.line in url_lines:
                continue  # the ADD rule says it already
            self._report(
                catalog.LITERAL_SECRET,
                hit.line or 1,
                f"{hit.title} written in the Dockerfile",
                f"{hit.rule_id}:{hit.hashed_secret}",
                severity=hit.severity,
                hashed_secret=hit.hashed_secret,
                redacted=hit.redacted,
                pragma=hit.pragma,
            )

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _resolve(path: str, state: StageState) -> str:
        path = path.strip("\"'")
        for home in ("${HOME}", "$HOME", "~"):
            if path == home or path.startswith(home + "/"):
                path = state.home + path[len(home) :]
        return posixpath.normpath(posixpath.join(state.workdir, path))


def _covers(prefix: str, path: str) -> bool:
    """``path`` is ``prefix`` or inside it (``/`` covers everything)."""
    prefix = prefix.rstrip("/") or "/"
    return path == prefix or prefix == "/" or path.startswith(prefix + "/")
