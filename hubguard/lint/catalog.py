"""The lint rules as data: id, severity, what goes wrong, how to fix it, where the docs are.

SARIF shows ``title`` and ``description`` (explanation, then the fix); the table report adds
one fix line per rule that has findings. Anchors point at README.md's "Linting Dockerfiles".
"""

from __future__ import annotations

from dataclasses import dataclass

from hubguard.model import Severity

DOCS = "README.md#"


@dataclass(frozen=True)
class LintRule:
    id: str
    title: str
    severity: Severity
    explanation: str
    fix: str

    @property
    def anchor(self) -> str:
        return DOCS + self.id

    @property
    def description(self) -> str:
        return f"{self.explanation} Fix: {self.fix} See {self.anchor}."


SECRET_NAME = "dockerfile-secret-arg-env"
LITERAL_SECRET = "dockerfile-literal-secret"
SECRET_IN_FILE = "dockerfile-secret-in-file"
CONTEXT_COPY = "dockerfile-context-copy"
CREDENTIAL_COPY = "dockerfile-credential-copy"
STAGE_LEAK = "dockerfile-stage-leak"
URL_CREDENTIALS = "dockerfile-add-url-credentials"
CI_BUILD_ARG = "ci-build-arg-secret"

SECRET_MOUNT_FIX = (
    "read it from a secret mount only in the step that needs it: "
    "`RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci`, built with "
    "`docker build --secret id=npm_token,env=NPM_TOKEN .`"
)

LINT_RULES: dict[str, LintRule] = {
    rule.id: rule
    for rule in (
        LintRule(
            SECRET_NAME,
            "ARG / ENV named like a secret",
            Severity.HIGH,
            "An ENV value is stored in the image config (`docker inspect` shows it); an ARG used "
            "by a RUN is recorded in the image history (`docker history`) and in build "
            "provenance. Either way whoever can pull the image reads it, default or not. In a "
            "builder stage that the final image does not build on it is reported as medium: the "
            "builder's history and cache still hold it.",
            SECRET_MOUNT_FIX + "; remove the ARG / ENV.",
        ),
        LintRule(
            LITERAL_SECRET,
            "Secret written literally in the Dockerfile",
            Severity.HIGH,
            "A value that the image scanner's detectors recognise as a secret (token formats, "
            "keyword assignments, credentials in URLs, Authorization headers) is written in an "
            "instruction. It is in the repository, the image history and usually a layer.",
            "revoke it, then " + SECRET_MOUNT_FIX + ".",
        ),
        LintRule(
            SECRET_IN_FILE,
            "Secret written to a file in a layer",
            Severity.CRITICAL,
            "A secret from an ARG, ENV or secret mount is written to a file (`echo … > .npmrc`, "
            "`git config`, `pip config set`, `docker login`). The layer made by that RUN keeps the "
            "file; a `rm` in a later RUN only hides it in a new layer, the old one still ships. "
            "Writing it in a builder stage the final image does not build on is fine.",
            "write and remove the file in the same RUN, or mount the file itself: "
            "`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci` "
            "(`docker build --secret id=npmrc,src=$HOME/.npmrc .`).",
        ),
        LintRule(
            CONTEXT_COPY,
            "COPY of the build context sends credential files",
            Severity.HIGH,
            "`COPY . …` (or ADD, or a directory of the context) puts every file the builder "
            "receives into a layer. Credential files that .dockerignore does not exclude go "
            "with it; without a .dockerignore nothing is excluded (medium while the context "
            "holds no credential file yet).",
            "exclude credential files in .dockerignore (`hubguard context --fix` adds the lines), "
            "or copy only the paths the image needs.",
        ),
        LintRule(
            CREDENTIAL_COPY,
            "COPY / ADD of a credential file",
            Severity.CRITICAL,
            "The instruction copies a file that is a credential by name (.env, id_rsa, .npmrc, "
            ".aws/, *.pem with a private key, .docker/config.json) into the image. Copied into a "
            "builder stage that the final image does not build on, it is not reported.",
            "mount it for the step that needs it: `RUN --mount=type=secret,id=npmrc,"
            "target=/root/.npmrc npm ci` with `docker build --secret id=npmrc,src=.npmrc .`; "
            "for SSH use `RUN --mount=type=ssh` with `docker build --ssh default .`.",
        ),
        LintRule(
            STAGE_LEAK,
            "Multi-stage build copies a secret into the final image",
            Severity.CRITICAL,
            "`COPY --from=STAGE` brings a credential file, or a directory holding a file a secret "
            "was written to, from a builder stage into the final image. Secrets that stay in a "
            "builder stage are fine: only what is copied out ships.",
            "copy only the build output (`COPY --from=build /app/dist /app/dist`), or remove the "
            "file in the builder's same RUN that wrote it.",
        ),
        LintRule(
            URL_CREDENTIALS,
            "ADD from a URL with credentials in it",
            Severity.HIGH,
            "`ADD https://user:pass@host/…` records the URL, credentials included, in the build "
            "history and provenance, and they are in the Dockerfile.",
            "download in a RUN with the credential from a secret mount: `RUN --mount=type=secret,"
            "id=netrc,target=/root/.netrc curl -fsSLo /out --netrc https://host/file`.",
        ),
        LintRule(
            CI_BUILD_ARG,
            "CI passes a secret as a build argument",
            Severity.HIGH,
            "A workflow or Makefile passes a secret with `--build-arg` (or build-push-action's "
            "`build-args:` from `secrets.*`). Build arguments are recorded in the image history "
            "and provenance of the image pushed.",
            "pass it as a BuildKit secret: build-push-action's `secrets: npm_token=${{ secrets."
            "NPM_TOKEN }}` or `docker build --secret id=npm_token,env=NPM_TOKEN`, read with "
            "`RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN`.",
        ),
    )
}
