"""Detection quality on one image: planted secrets that must be found, decoys that must not be.

    python examples/quality_report.py        # builds the image in a temp dir, scans it, prints the table

The image is a ``docker save`` archive written here (so it needs no engine and can hold an
opaque-whiteout directory, which the engine's vfs driver never produces). Every secret is a
fake generated at run time; the repository holds none. A secret counts as *found* when a
finding has its SHA-1 at its path and state. A credential file is secret as a whole, so any
finding at its path finds it; token-format values inside it are also planted on their own and
must be found by value. Every finding that no plant accounts for is a *false positive*: the
image holds nothing else worth reporting.
``tests/test_quality.py`` asserts on the same numbers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import secrets
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hubguard.model import Finding, ScanReport, hash_secret

# Run from a checkout (``python examples/…``): the fakes come from the test suite's generator,
# tests/fakes.py, which the hubguard package does not ship.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from examples.save_archive import layer_tar, write_save_archive
from tests.fakes import expand


@dataclass(frozen=True)
class Plant:
    """A planted secret: found by a finding at ``path`` in ``state`` with its ``hashed_secret``.

    A credential file (``whole_file``) is secret as a whole: any finding at its path finds it.
    """

    placement: str
    path: str
    state: str
    hashed_secret: str = ""
    whole_file: bool = False

    def covers(self, finding: Finding) -> bool:
        return (
            self.path == finding.path
            and self.state == finding.state
            and (self.whole_file or finding.hashed_secret == self.hashed_secret)
        )


@dataclass(frozen=True)
class Decoy:
    """Something that looks like a secret and is not one (or is a third party's fixture)."""

    description: str
    path: str


@dataclass
class QualityImage:
    plants: list[Plant] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)


@dataclass
class Score:
    found: list[Plant]
    missed: list[Plant]
    false_positives: list[Finding]
    decoys_reported: list[Decoy]

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("planted secrets", len(self.found) + len(self.missed)),
            ("found", len(self.found)),
            ("missed", len(self.missed)),
            ("false positives (findings that are no planted secret)", len(self.false_positives)),
            ("decoys reported", len(self.decoys_reported)),
        ]


def fake(template: str) -> str:
    return expand(template, seed=secrets.token_hex(8))


def fake_pem(kind: str) -> str:
    body = base64.b64encode(secrets.token_bytes(600)).decode()
    return f"-----BEGIN {kind}-----\n" + "\n".join(textwrap.wrap(body, 64)) + f"\n-----END {kind}-----"


class ImagePlan:
    """Collects files (per layer) and plants while the image is described."""

    def __init__(self) -> None:
        self.image = QualityImage()
        self.files: dict[str, bytes] = {}

    def plant(self, value: str, placement: str, path: str, state: str = "present") -> str:
        self.image.plants.append(Plant(placement, path, state, hash_secret(value)))
        return value

    def credential_file(self, path: str, content: str, placement: str, *values: str) -> None:
        """A credential file, and the ``values`` in it that token rules must find themselves."""
        self.files[path] = content.encode()
        self.image.plants.append(Plant(placement, path, "present", whole_file=True))
        for value in values:
            self.plant(value, f"{placement}: token inside", path)

    def decoy(self, path: str, content: str | bytes, description: str) -> None:
        self.files[path] = content.encode() if isinstance(content, str) else content
        self.image.decoys.append(Decoy(description, path))


def describe(plan: ImagePlan) -> tuple[list[tuple[str, bytes]], dict]:
    """Every layer (step, tar bytes) and the config of the quality image."""
    p = plan.plant
    # -- the application's own files ----------------------------------------------------------
    aws_id = p(fake("AKIA{upalnum:16}"), "Python settings: AWS key id", "/app/config/settings.py")
    aws_secret = p(fake("{b64:40}"), "Python settings: AWS secret key", "/app/config/settings.py")
    db_url_password = p(fake("{alnum:18}"), "URL credentials", "/app/config/settings.py")
    webhook = p(
        fake("https://hooks.slack.com/services/T{upalnum:10}/B{upalnum:10}/{alnum:24}"),
        "Slack webhook in code",
        "/app/src/notify.py",
    )
    stripe = p(fake("sk_live_{alnum:32}"), "Stripe key in JS", "/app/src/billing.js")
    fine_grained = p(
        fake("github_pat_{alnum:22}_{alnum:59}"), "GitHub fine-grained PAT", "/app/config/app.yaml"
    )
    anthropic = p(fake("sk-ant-api03-{b64url:93}AA"), "Anthropic key", "/app/config/app.yaml")
    datadog = p(fake("{hex:32}"), "Datadog API key", "/app/config/app.yaml")
    keyword_yaml = p(fake("{alnum:28}"), "keyword assignment (api_key: …)", "/app/config/app.yaml")
    docker_hub = p(fake("dckr_pat_{b64url:27}"), "Docker Hub PAT in a shell script", "/app/deploy.sh")
    vault = p(fake("hvs.{b64url:91}"), "Vault token in a shell script", "/app/deploy.sh")
    azure_key = fake("{b64:86}") + "=="
    p(azure_key, "Azure storage connection string", "/app/config/appsettings.json")
    json_secret = p(fake("{b64url:32}"), 'keyword assignment ("secret": "…")', "/app/config/appsettings.json")
    twilio = p(fake("{hex:32}"), "Twilio auth token", "/app/config/integrations.ini")
    telegram = p(fake("{digit:10}:AA{b64url:33}"), "Telegram bot token", "/app/config/integrations.ini")
    shopify = p(fake("shpat_{hex:32}"), "Shopify token", "/app/config/integrations.ini")
    password_ini = p(fake("{alnum:20}"), "keyword assignment (password = …)", "/app/config/integrations.ini")
    google = p(fake("AIza{b64url:35}"), "Google API key in HTML", "/app/static/index.html")
    jwt = p(
        "eyJhbGciOiJIUzI1NiJ9."
        + base64.urlsafe_b64encode(json.dumps({"sub": fake("{alnum:12}")}).encode()).decode().rstrip("=")
        + "."
        + fake("{b64url:43}"),
        "JWT in JSON",
        "/app/config/client.json",
    )
    bundle_token = p(fake("ghp_{alnum:36}"), "minified bundle (one long line)", "/app/static/app.min.js")
    binary_key = p(fake("AKIA{upalnum:16}"), "ELF binary", "/app/bin/server")
    deleted = p(
        fake("SG.{b64url:22}.{b64url:43}"),
        "file deleted by a later RUN rm",
        "/app/tmp/old_secret.txt",
        "deleted",
    )
    overwritten = p(
        fake("sk-proj-{b64url:64}"),
        "file overwritten by a later layer",
        "/app/config/prod.yaml",
        "overwritten",
    )
    opaque_key = p(
        fake_pem("RSA PRIVATE KEY"), "PEM key in an opaque-whiteout dir", "/app/keys/server.key", "deleted"
    )
    jar_password = p(
        fake("{alnum:20}"), "jar member", "/app/lib/service.jar!BOOT-INF/classes/application.properties"
    )
    jar_slack = p(
        fake("xoxb-{digit:12}-{digit:13}-{alnum:24}"),
        "jar member (Slack token)",
        "/app/lib/service.jar!BOOT-INF/classes/application.properties",
    )
    zip_mailgun = p(fake("key-{hex:32}"), "zip member", "/app/dist/release.zip!deploy/mail.conf")
    gz_gitlab = p(fake("glpat-{b64url:20}"), "gzip member", "/app/backup/dump.sql.gz!dump.sql")
    tgz_password = p(fake("{alnum:22}"), "tar.gz member", "/app/conf/bundle.tar.gz!config/db.ini")
    # -- the image config -----------------------------------------------------------------------
    env_github = p(fake("ghp_{alnum:36}"), "ENV (GitHub token)", "Config.Env")
    env_password = p(fake("{alnum:20}"), "ENV (password)", "Config.Env")
    label_token = p(fake("glpat-{b64url:20}"), "LABEL", "Config.Labels")
    arg_npm = p(fake("npm_{alnum:36}"), "build arg in the history", "history[4]")

    f = plan.files
    f["/app/config/settings.py"] = (
        f'AWS_ACCESS_KEY_ID = "{aws_id}"\nAWS_SECRET_ACCESS_KEY = "{aws_secret}"\n'
        f'DATABASE_URL = "postgres://app:{db_url_password}@db.internal:5432/app"\n'
        'DEBUG = False\nTIME_ZONE = "UTC"\n'
    ).encode()
    f["/app/src/notify.py"] = f'import requests\n\nWEBHOOK = "{webhook}"\n'.encode()
    f["/app/src/billing.js"] = f'const stripe = require("stripe")("{stripe}");\n'.encode()
    f["/app/config/app.yaml"] = (
        f"github:\n  token: {fine_grained}\nanthropic:\n  key: {anthropic}\n"
        f"datadog:\n  dd_api_key: {datadog}\nsearch:\n  api_key: {keyword_yaml}\n"
    ).encode()
    f["/app/deploy.sh"] = (
        f"#!/bin/sh\necho {docker_hub} | docker login -u ci --password-stdin\nexport VAULT_TOKEN={vault}\n"
    ).encode()
    f["/app/config/appsettings.json"] = json.dumps(
        {
            "Storage": f"DefaultEndpointsProtocol=https;AccountName=appdata;AccountKey={azure_key};"
            "EndpointSuffix=core.windows.net",
            "Jwt": {"secret": json_secret, "issuer": "app"},
        },
        indent=2,
    ).encode()
    f["/app/config/integrations.ini"] = (
        f"[twilio]\ntwilio_auth_token = {twilio}\n[telegram]\nbot = {telegram}\n"
        f"[shopify]\naccess = {shopify}\n[smtp]\npassword = {password_ini}\n"
    ).encode()
    f["/app/static/index.html"] = (
        f'<html><script src="https://maps.googleapis.com/maps/api/js?key={google}"></script></html>\n'
    ).encode()
    f["/app/config/client.json"] = json.dumps({"auth_token": jwt}).encode()
    f["/app/static/app.min.js"] = (
        "var a=1;" * 20000 + f'const t="{bundle_token}";' + "function f(){return 2};" * 8000
    ).encode()
    f["/app/bin/server"] = (
        b"\x7fELF\x02\x01\x01" + b"\0" * 200 + f"cfg:{binary_key}\0".encode() + secrets.token_bytes(3000)
    )
    f["/app/tmp/old_secret.txt"] = f"sendgrid_key = {deleted}\n".encode()
    f["/app/config/prod.yaml"] = f"openai:\n  api_key: {overwritten}\n".encode()
    f["/app/keys/server.key"] = (opaque_key + "\n").encode()
    f["/app/lib/service.jar"] = zip_bytes(
        {
            "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n",
            "BOOT-INF/classes/application.properties": (
                f"spring.datasource.password={jar_password}\nslack.bot-token={jar_slack}\n"
            ),
        }
    )
    f["/app/dist/release.zip"] = zip_bytes({"deploy/mail.conf": f"mailgun_api = '{zip_mailgun}'\n"})
    f["/app/backup/dump.sql.gz"] = gzip.compress(
        f"INSERT INTO tokens VALUES ('ci', '{gz_gitlab}');\n".encode(), mtime=0
    )
    f["/app/conf/bundle.tar.gz"] = gzip.compress(
        layer_tar({"config/db.ini": f"[db]\npassword = {tgz_password}\n".encode()}), mtime=0
    )

    _credential_files(plan)
    _decoys(plan)

    layers = [
        ("/bin/sh -c #(nop) ADD file:rootfs in / ", layer_tar({"/etc/os-release": b'NAME="quality"\n'})),
        ("COPY . / # buildkit", layer_tar(plan.files)),
        (
            "RUN /bin/sh -c rm /app/tmp/old_secret.txt # buildkit",
            layer_tar({"/app/tmp/.wh.old_secret.txt": b""}),
        ),
        (
            f"|2 APP_VERSION=1.4.2 NPM_TOKEN={arg_npm} /bin/sh -c npm ci && ./render-config",
            layer_tar({"/app/config/prod.yaml": b"openai:\n  api_key: ${OPENAI_API_KEY}\n"}),
        ),
        (
            "RUN /bin/sh -c rm -rf /app/keys && mkdir /app/keys # buildkit",
            layer_tar({"/app/keys/.wh..wh..opq": b"", "/app/keys/README": b"keys are mounted at run time\n"}),
        ),
    ]
    steps = [step for step, _ in layers]
    history = [
        *({"created_by": step} for step in steps[:3]),
        {"created_by": "ARG NPM_TOKEN", "empty_layer": True},
        {"created_by": steps[3]},  # history[4]: the RUN that used the build arg
        {"created_by": "ENV PASSWORD_FILE=/run/secrets/db", "empty_layer": True},
        {"created_by": steps[4]},
    ]
    plan.image.decoys += [
        Decoy("history: ARG without a value", "history[3]"),
        Decoy("history: ENV pointing at a secrets file", "history[5]"),
        Decoy("ENV: ${VAR} reference, secrets-file path, git SHA", "Config.Env"),
        Decoy("LABEL: revision SHA, source URL", "Config.Labels"),
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                f"GITHUB_TOKEN={env_github}",
                f"DB_PASSWORD={env_password}",
                "API_TOKEN=${API_TOKEN}",
                "PASSWORD_FILE=/run/secrets/db",
                f"GIT_COMMIT={fake('{hex:40}')}",
            ],
            "Labels": {
                "org.opencontainers.image.revision": fake("{hex:40}"),
                "org.opencontainers.image.source": "https://github.com/acme/app",
                "deploy.token": label_token,
            },
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(d).hexdigest() for _, d in layers],
        },
        "history": history,
    }
    return layers, config


def _credential_files(plan: ImagePlan) -> None:
    """One of each credential file the issue lists, each holding a fresh fake."""
    cred = plan.credential_file
    ssh_key = fake_pem("RSA PRIVATE KEY")
    cred("/root/.ssh/id_rsa", ssh_key + "\n", "id_rsa", ssh_key)
    npm = fake("npm_{alnum:36}")
    cred("/root/.npmrc", f"//registry.npmjs.org/:_authToken={npm}\n", ".npmrc", npm)
    auth = base64.b64encode(f"deployer:{fake('{alnum:24}')}".encode()).decode()
    cred(
        "/root/.docker/config.json",
        json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}),
        ".docker/config.json auths",
    )
    git_token = fake("ghp_{alnum:36}")
    cred("/root/.git-credentials", f"https://bot:{git_token}@github.com\n", ".git-credentials", git_token)
    key_id, secret_key = fake("AKIA{upalnum:16}"), fake("{b64:40}")
    cred(
        "/root/.aws/credentials",
        f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret_key}\n",
        ".aws/credentials",
        key_id,
        secret_key,
    )
    pypi = fake("pypi-AgEIcHlwaS5vcmc{b64url:150}")
    cred("/root/.pypirc", f"[pypi]\nusername = __token__\npassword = {pypi}\n", ".pypirc", pypi)
    netrc_password = fake("{alnum:24}")
    cred("/root/.netrc", f"machine git.corp.internal login ci password {netrc_password}\n", ".netrc")
    cred(
        "/root/.kube/config",
        "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n"
        f"    client-key-data: {fake('{b64:120}')}\n    token: {fake('{b64url:40}')}\n",
        "kubeconfig",
    )
    sa_key = fake_pem("PRIVATE KEY")
    cred(
        "/app/credentials/gcp-prod.json",
        json.dumps(
            {
                "type": "service_account",
                "project_id": "acme-prod",
                "private_key_id": fake("{hex:40}"),
                "private_key": sa_key + "\n",
                "client_email": "deploy@acme-prod.iam.gserviceaccount.com",
            },
            indent=2,
        ),
        "GCP service-account JSON",
    )
    env_password = fake("{alnum:18}")
    cred("/app/.env", f"NODE_ENV=production\nDATABASE_PASSWORD={env_password}\n", ".env", env_password)
    tf_password = fake("{alnum:20}")
    cred(
        "/app/infra/terraform.tfstate",
        json.dumps(
            {
                "version": 4,
                "resources": [
                    {
                        "type": "aws_db_instance",
                        "instances": [{"attributes": {"password": tf_password}, "sensitive_attributes": []}],
                    }
                ],
            },
            indent=2,
        ),
        "Terraform state",
        tf_password,
    )
    cred("/etc/nginx/.htpasswd", f"admin:$apr1${fake('{alnum:8}')}${fake('{b64:22}')}\n", ".htpasswd")
    git_password = fake("{alnum:32}")
    cred(
        "/app/.git/config",
        f'[remote "origin"]\n\turl = https://ci:{git_password}@git.corp.internal/acme/app.git\n',
        ".git/config with a password",
        git_password,
    )


def _decoys(plan: ImagePlan) -> None:
    """Placeholders, documented fakes and non-secrets, each where users really keep them."""
    d = plan.decoy
    d(
        "/app/config/example_settings.py",
        'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
        'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n',
        "AWS's documented example keys",
    )
    d(
        "/app/config/defaults.ini",
        "[db]\npassword = changeme\n[admin]\npassword = password\n",
        "changeme, password",
    )
    d(
        "/app/config/template.yaml",
        "api_token: ${API_TOKEN}\ndb_password: $DB_PASSWORD\nsecret: '{{ .Values.secret }}'\n",
        "${VAR}, $VAR, {{ template }}",
    )
    d(
        "/app/README.md",
        "Set `GITHUB_TOKEN=<your-token>` before running.\n\n"
        'api_key = "xxxxxxxxxxxxxxxxxxxxxxxx"\npassword: "****************"\n',
        "<your-token>, xxxx…, ****",
    )
    d(
        "/app/config/dev.py",
        'SECRET_KEY = "example-secret-key-for-dev"\nPASSWORD = "dummy"\nAPI_TOKEN = "test"\n'
        'password = os.environ["DB_PASSWORD"]\napi_key = settings.API_KEY\n',
        "example / dummy / test values, indirect references",
    )
    d(
        "/app/.env.example",
        "DATABASE_PASSWORD=\nSTRIPE_KEY=sk_live_your_key_here\nAPI_KEY=${API_KEY}\n",
        ".env template",
    )
    d(
        "/app/keys/deploy.pub",
        f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5{fake('{b64:48}')} deploy@ci\n",
        "OpenSSH public key",
    )
    d("/app/certs/server.crt", fake_pem("CERTIFICATE") + "\n", "PEM certificate")
    d("/app/certs/signing.pem", fake_pem("PUBLIC KEY") + "\n", "PEM public key in a .pem file")
    d(
        "/app/package-lock.json",
        json.dumps(
            {
                "name": "app",
                "lockfileVersion": 3,
                "packages": {
                    "node_modules/left-pad": {
                        "version": "1.3.0",
                        "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
                        "integrity": "sha512-" + fake("{b64:86}") + "==",
                    }
                },
            },
            indent=2,
        ),
        "lockfile integrity hashes",
    )
    d(
        "/app/yarn.lock",
        'left-pad@^1.3.0:\n  version "1.3.0"\n  resolved "https://registry.yarnpkg.com/left-pad/-/left-pad-1.3.0.tgz'
        f'#{fake("{hex:40}")}"\n  integrity sha512-{fake("{b64:86}")}==\n',
        "yarn.lock checksums",
    )
    d(
        "/app/config/ids.json",
        json.dumps(
            {
                "request_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                "commit": fake("{hex:40}"),
                "token_id": "9f3c2a1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7",
                "secret_version": fake("{hex:40}"),
            }
        ),
        "UUIDs and git SHAs next to secret-ish keys",
    )
    d(
        "/app/static/logo.html",
        f'<img alt="logo" src="data:image/png;base64,{fake("{b64:400}")}">\n',
        "data: URI",
    )
    d(
        "/app/deps/acme-1.0.dist-info/RECORD",
        "".join(f"acme/m{i}.py,sha256={fake('{b64url:43}')},{100 + i}\n" for i in range(5)),
        "wheel RECORD checksums (pip install --target /app/deps)",
    )
    d("/app/go.sum", f"github.com/acme/lib v1.2.0 h1:{fake('{b64:43}')}=\n", "go.sum hash")
    d(
        "/app/static/vendor.min.js",
        'function l(e,n){return{password:e.password||"",token:n.token,secret:r}}'
        "var u={apiKey:process.env.API_KEY,authToken:t.authToken};"
        '<input type="password" name="password" placeholder="Password">',
        "minified code handling (not holding) secrets",
    )
    d(
        "/app/migrations/0001_users.sql",
        "ALTER TABLE users ADD COLUMN password_hash VARCHAR(255) NOT NULL;\n"
        "CREATE INDEX token_idx ON sessions (token);\n",
        "SQL with secret-ish column names",
    )
    d(
        "/app/config/urls.py",
        'DATABASE_URL = "postgres://app:${DB_PASSWORD}@db.internal/app"\n'
        'TOKEN_URL = "https://oauth2.googleapis.com/token"\n'
        'MIRROR = "https://ci@git.corp.internal/acme/app.git"\n'
        'DOCS = "https://user:password@example.com/"\n',
        "URLs without a real password",
    )
    d(
        "/app/config/release.json",
        json.dumps(
            {"image": "acme/app", "digest": "sha256:" + fake("{hex:64}"), "password": "", "token": None}
        ),
        "image digest, empty values",
    )
    d("/app/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", ".npmrc with a variable")
    d("/root/.docker/daemon.json", '{"log-driver": "json-file"}\n', "Docker daemon config (no auths)")
    d("/root/.aws/config", "[default]\nregion = eu-west-1\noutput = json\n", ".aws/config without keys")
    d(
        "/root/.ssh/id_rsa.pub",
        f"ssh-rsa AAAAB3NzaC1yc2E{fake('{b64:360}')} root@build\n",
        "SSH public key beside the private one",
    )
    d("/app/dist/app.tar.gz.sha256", f"{fake('{hex:64}')}  app.tar.gz\n", "*.sha256 checksum")
    # Sample credentials in files that package managers installed and recorded (pip's RECORD,
    # npm's hidden lockfile, dpkg's md5sums): owned by "package"/"distro", so only anchored
    # token rules apply to them and these keyword-style samples are quieted.
    site = "/usr/local/lib/python3.11/site-packages"
    fixtures = {
        f"{site}/botocore/tests/unit/test_signers.py": (
            f'SECRET_KEY = "{fake("{b64:40}")}"\npassword = "{fake("{alnum:20}")}"\n',
            "third-party test fixture (site-packages)",
        ),
        "/app/node_modules/octokit/test/fixtures/auth.js": (
            f'module.exports = {{ password: "{fake("{alnum:24}")}" }};\n',
            "third-party test fixture (node_modules)",
        ),
        "/usr/share/doc/libssl3/examples/server.key": (
            fake_pem("PRIVATE KEY") + "\n",
            "third-party documentation key (/usr/share/doc)",
        ),
    }
    for path, (content, description) in fixtures.items():
        d(path, content, description)
    _package_records(plan, site, {path: content.encode() for path, (content, _) in fixtures.items()})


def _package_records(plan: ImagePlan, site: str, files: dict[str, bytes]) -> None:
    """The records that say who installed the third-party fixtures, as the managers write them."""
    botocore, _, libssl = files  # npm keeps no per-file hash: its lockfile names the package
    sha256 = base64.urlsafe_b64encode(hashlib.sha256(files[botocore]).digest()).rstrip(b"=").decode()
    plan.files[f"{site}/botocore-1.34.0.dist-info/RECORD"] = (
        f"{botocore[len(site) + 1 :]},sha256={sha256},{len(files[botocore])}\n"
        "botocore-1.34.0.dist-info/RECORD,,\n"
    ).encode()
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "node_modules/octokit": {
                "version": "3.1.2",
                "resolved": "https://registry.npmjs.org/octokit/-/octokit-3.1.2.tgz",
                "integrity": "sha512-" + base64.b64encode(hashlib.sha512(b"octokit").digest()).decode(),
            }
        },
    }
    plan.files["/app/node_modules/.package-lock.json"] = json.dumps(lock, indent=2).encode()
    md5 = hashlib.md5(files[libssl]).hexdigest()
    plan.files["/var/lib/dpkg/info/libssl3:amd64.md5sums"] = f"{md5}  {libssl.lstrip('/')}\n".encode()


def zip_bytes(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def write_quality_archive(path: Path, tag: str = "hubguard-example/quality:1") -> QualityImage:
    """Write the image as a ``docker save`` archive at ``path``; return what it plants."""
    plan = ImagePlan()
    layers, config = describe(plan)
    write_save_archive(path, config, [data for _, data in layers], tag)
    return plan.image


def score(report: ScanReport, image: QualityImage) -> Score:
    """Match findings to plants by path, state and SHA-1; a finding no plant covers is false."""
    matched = {plant for finding in report.findings for plant in image.plants if plant.covers(finding)}
    false_positives = [f for f in report.findings if not any(plant.covers(f) for plant in image.plants)]
    fp_paths = {f.path.split("!", 1)[0] for f in false_positives}
    return Score(
        found=[plant for plant in image.plants if plant in matched],
        missed=[plant for plant in image.plants if plant not in matched],
        false_positives=false_positives,
        decoys_reported=[decoy for decoy in image.decoys if decoy.path in fp_paths],
    )


def main() -> int:
    from hubguard.scan import Scanner, ScanOptions

    with tempfile.TemporaryDirectory() as directory:
        archive = Path(directory) / "quality.tar"
        image = write_quality_archive(archive)
        report = Scanner(ScanOptions(use_cache=False)).scan([f"docker-archive:{archive}"])
    result = score(report, image)
    print(f"quality image: {len(image.plants)} planted secrets, {len(image.decoys)} decoys")
    for label, count in result.rows():
        print(f"  {label:<55} {count:>4}")
    print(f"  {'hits in distro/package files quieted':<55} {report.owner_quieted:>4}")
    for plant in result.missed:
        print(f"missed: {plant.placement} ({plant.path}, {plant.state})")
    for finding in result.false_positives:
        print(f"false positive: {finding.rule_id} at {finding.path}:{finding.line} ({finding.redacted})")
    return 1 if result.missed or result.false_positives else 0


if __name__ == "__main__":
    sys.exit(main())
