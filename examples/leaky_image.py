"""Write a leaky image as a ``docker save`` archive, without a Docker engine.

    python examples/leaky_image.py leaky.tar            # then: hubguard scan docker-archive:leaky.tar
    python examples/leaky_image.py leaky.tar --seed 1   # the same fakes every run (the README's output)

Every secret is a fake generated now (nothing secret-looking is stored in the repository),
planted in one of the places secrets ride along in real images: files, deleted and
overwritten files, an opaque-whiteout directory, archives, a minified bundle, a binary,
credential files, ENV, LABEL and a build arg in the history. Decoys (documented example
keys, placeholders, public keys, third-party test fixtures) sit beside them.
``leaky.tar.planted.json`` is the answer file: each planted secret by placement, path, state
and SHA-1 only, one entry per finding a scan must report (tests check that it matches exactly).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import secrets
import sys
import textwrap
import zipfile
from pathlib import Path

# Run from a checkout (``python examples/…``): the fakes come from the test suite's generator,
# tests/fakes.py, which the hubguard package does not ship.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from examples.save_archive import layer_tar, write_save_archive
from tests.fakes import expand

# Fresh fakes each run by default; ``--seed`` makes them (and so the whole archive) reproducible.
_rng = random.Random(secrets.token_bytes(16))


def token(template: str) -> str:
    return expand(template, seed=str(_rng.getrandbits(64)))


def random_bytes(count: int) -> bytes:
    return _rng.randbytes(count)


def pem(kind: str) -> str:
    body = base64.b64encode(random_bytes(600)).decode()
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n"


class Planter:
    def __init__(self, keep_values: bool) -> None:
        self.planted: list[dict] = []
        self.keep_values = keep_values

    def plant(
        self, value: str, placement: str, path: str, state: str = "present", whole_file: bytes | None = None
    ) -> str:
        """Record ``value``; a credential file found by name is reported with the file's SHA-1."""
        digest = hashlib.sha1(value.encode() if whole_file is None else whole_file).hexdigest()
        entry = {"placement": placement, "path": path, "state": state, "hashed_secret": digest}
        if self.keep_values:  # tests only: to prove no output or cache holds them
            entry["value"] = value
        self.planted.append(entry)
        return value


def zip_bytes(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            # A fixed date: ZipFile would stamp the current time, and --seed promises the same bytes.
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20)), text, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


def tar_gz_bytes(members: dict[str, str]) -> bytes:
    return gzip.compress(layer_tar({name: text.encode() for name, text in members.items()}), mtime=0)


ARG_STEP = 3  # history index of the empty-layer ARG step; the RUN that uses the arg follows it


def build(p: Planter) -> tuple[list[tuple[str, bytes]], dict]:
    aws_id = p.plant(token("AKIA{upalnum:16}"), "python settings (AWS key id)", "/app/config/settings.py")
    aws_secret = p.plant(token("{b64:40}"), "python settings (AWS secret)", "/app/config/settings.py")
    db_password = p.plant(token("{alnum:18}"), ".env file", "/app/.env")
    stripe = p.plant(token("sk_live_{alnum:24}"), ".env file (Stripe)", "/app/.env")
    bundle_token = p.plant(token("ghp_{alnum:36}"), "one-line minified bundle", "/app/static/app.min.js")
    server_key = p.plant(
        pem("RSA PRIVATE KEY").strip(), "PEM key in opaque-whiteout dir", "/app/keys/server.key", "deleted"
    )
    ssh_key = p.plant(pem("OPENSSH PRIVATE KEY").strip(), "SSH private key", "/root/.ssh/id_ed25519")
    npm = p.plant(token("npm_{alnum:36}"), ".npmrc auth token", "/root/.npmrc")
    docker_auth = base64.b64encode(f"deployer:{token('{alnum:24}')}".encode()).decode()
    docker_config = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": docker_auth}}}).encode()
    p.plant(
        docker_auth,
        "docker config.json auths (whole file)",
        "/root/.docker/config.json",
        whole_file=docker_config,
    )
    aws_cred_id = p.plant(token("AKIA{upalnum:16}"), "~/.aws/credentials (key id)", "/root/.aws/credentials")
    aws_cred_secret = p.plant(token("{b64:40}"), "~/.aws/credentials (secret)", "/root/.aws/credentials")
    jar_password = p.plant(
        token("{alnum:20}"),
        "jar member application.properties",
        "/app/lib/service.jar!BOOT-INF/classes/application.properties",
    )
    jar_slack = p.plant(
        token("xoxb-{digit:12}-{digit:13}-{alnum:24}"),
        "jar member (Slack token)",
        "/app/lib/service.jar!BOOT-INF/classes/application.properties",
    )
    gz_gitlab = p.plant(token("glpat-{alnum:20}"), "gzip member", "/app/backup/dump.sql.gz!dump.sql")
    tgz_password = p.plant(token("{alnum:22}"), "tar.gz member", "/app/conf/bundle.tar.gz!config/db.ini")
    binary_aws = p.plant(token("AKIA{upalnum:16}"), "ELF binary", "/app/bin/server")
    deleted_sendgrid = p.plant(
        token("SG.{b64url:22}.{b64url:43}"),
        "file deleted by a later RUN rm",
        "/app/tmp/old_secret.txt",
        "deleted",
    )
    overwritten_openai = p.plant(
        token("sk-proj-{alnum:48}"),
        "file overwritten by a later COPY",
        "/app/config/prod.yaml",
        "overwritten",
    )
    env_github = p.plant(token("ghp_{alnum:36}"), "ENV", "Config.Env")
    env_password = p.plant(token("{alnum:20}"), "ENV (password)", "Config.Env")
    label_gitlab = p.plant(token("glpat-{alnum:20}"), "LABEL", "Config.Labels")
    arg_npm = p.plant(token("npm_{alnum:36}"), "build arg used by RUN (history)", f"history[{ARG_STEP + 1}]")
    url_password = p.plant(token("{alnum:16}"), "URL credentials", "/app/config/settings.py")
    jwt = p.plant(
        "eyJhbGciOiJIUzI1NiJ9."
        + base64.urlsafe_b64encode(json.dumps({"sub": token("{alnum:12}")}).encode()).decode().rstrip("=")
        + "."
        + token("{b64url:43}"),
        "JWT in a JSON config",
        "/app/config/client.json",
    )

    decoys = {
        "/app/config/example.env.py": 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\npassword = "changeme"\n'
        'token = "${API_TOKEN}"\napi_key = "<your-api-key>"\nsecret = "xxxxxxxxxxxxxxxx"\n',
        "/app/config/ids.txt": "request_id = 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n"
        "commit = 4f1b2c3d4e5f60718293a4b5c6d7e8f901234567\n",
        "/app/keys/id_ed25519.pub": "ssh-ed25519 "
        + base64.b64encode(random_bytes(51)).decode()
        + " dev@box\n",
        "/usr/lib/python3/dist-packages/somepkg/tests/test_auth.py": f'password = "{token("{alnum:20}")}"\n',
    }
    # The fixture above ships in a Debian package whose md5sums list it: a distro file, so only
    # anchored token formats apply to it (README, "Owners").
    fixture = "/usr/lib/python3/dist-packages/somepkg/tests/test_auth.py"
    decoys["/var/lib/dpkg/info/python3-somepkg.md5sums"] = (
        f"{hashlib.md5(decoys[fixture].encode()).hexdigest()}  {fixture.lstrip('/')}\n"
    )
    minified = ("var a=1;" * 20000) + f'const t="{bundle_token}";' + ("function f(){return 2};" * 8000)
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 200 + f"cfg:{binary_aws}\0".encode() + random_bytes(3000)
    base = layer_tar(
        {
            "/etc": None,
            "/etc/os-release": b'NAME="leaky example"\n',
            "/app": None,
        }
    )
    app = layer_tar(
        {
            "/app/.env": f"DATABASE_PASSWORD={db_password}\nSTRIPE_KEY={stripe}\n".encode(),
            "/app/config/settings.py": (
                f'AWS_ACCESS_KEY_ID = "{aws_id}"\nAWS_SECRET_ACCESS_KEY = "{aws_secret}"\n'
                f'DATABASE_URL = "postgres://app:{url_password}@db.internal:5432/app"\n'
            ).encode(),
            "/app/config/prod.yaml": f"openai:\n  api_key: {overwritten_openai}\n".encode(),
            "/app/config/client.json": json.dumps({"auth_token": jwt}).encode(),
            "/app/static/app.min.js": minified.encode(),
            "/app/keys/server.key": (server_key + "\n").encode(),
            "/app/lib/service.jar": zip_bytes(
                {
                    "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\n",
                    "BOOT-INF/classes/application.properties": (
                        f"spring.datasource.password={jar_password}\nslack.bot-token={jar_slack}\n"
                    ),
                }
            ),
            "/app/backup/dump.sql.gz": gzip.compress(
                f"INSERT INTO tokens VALUES ('ci', '{gz_gitlab}');\n".encode(), mtime=0
            ),
            "/app/conf/bundle.tar.gz": tar_gz_bytes({"config/db.ini": f"[db]\npassword = {tgz_password}\n"}),
            "/app/bin/server": elf,
            "/app/tmp/old_secret.txt": f"sendgrid_key = {deleted_sendgrid}\n".encode(),
            "/root/.ssh/id_ed25519": (ssh_key + "\n").encode(),
            "/root/.npmrc": f"//registry.npmjs.org/:_authToken={npm}\n".encode(),
            "/root/.docker/config.json": docker_config,
            "/root/.aws/credentials": f"[default]\naws_access_key_id = {aws_cred_id}\n"
            f"aws_secret_access_key = {aws_cred_secret}\n".encode(),
            **{path: text.encode() for path, text in decoys.items()},
        }
    )
    remove = layer_tar({"/app/tmp/.wh.old_secret.txt": b""})
    overwrite = layer_tar({"/app/config/prod.yaml": b"openai:\n  api_key: ${OPENAI_API_KEY}\n"})
    opaque = layer_tar(
        {
            "/app/keys": None,
            "/app/keys/.wh..wh..opq": b"",
            "/app/keys/README": b"keys are mounted at run time\n",
        }
    )
    layers = [
        ("base", base),
        ("COPY . /app/ # buildkit", app),
        ("RUN /bin/sh -c rm /app/tmp/old_secret.txt # buildkit", remove),
        (f"|1 NPM_TOKEN={arg_npm} /bin/sh -c npm ci && rm -f .npmrc", overwrite),
        ("RUN /bin/sh -c rm -rf /app/keys && mkdir /app/keys # buildkit", opaque),
    ]
    history = [{"created_by": step} for step, _ in layers]
    history.insert(ARG_STEP, {"created_by": "ARG NPM_TOKEN", "empty_layer": True})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [
                "PATH=/usr/local/bin:/usr/bin:/bin",
                f"GITHUB_TOKEN={env_github}",
                f"DB_PASSWORD={env_password}",
            ],
            "Labels": {"org.opencontainers.image.title": "leaky", "deploy.token": label_gitlab},
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(d).hexdigest() for _, d in layers],
        },
        "history": history,
    }
    return layers, config


def write_archive(
    path: Path, tag: str = "hubguard-example/leaky:1", keep_values: bool = False, seed: str | None = None
) -> list[dict]:
    """Write the archive and return the answer file's entries; ``seed`` makes both reproducible."""
    if seed is not None:
        _rng.seed(seed)
    planter = Planter(keep_values)
    layers, config = build(planter)
    write_save_archive(path, config, [data for _, data in layers], tag)
    return planter.planted


def main() -> int:
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--seed"):
        print("usage: python examples/leaky_image.py OUTPUT.tar [--seed TEXT]", file=sys.stderr)
        return 2
    out = Path(args[0])
    planted = write_archive(out, seed=args[2] if len(args) == 3 else None)
    Path(f"{out}.planted.json").write_text(json.dumps(planted, indent=1))
    print(f"wrote {out} with {len(planted)} planted fake secrets; now: hubguard scan docker-archive:{out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
