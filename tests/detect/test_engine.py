"""The detector on bytes: prefilter windows, chunk seams, binaries, pragmas, PEM blocks."""

from __future__ import annotations

import io

import pytest

from hubguard.detect import chunks, content
from hubguard.detect.engine import Detector
from hubguard.detect.rules import load_rules
from hubguard.model import hash_secret


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules())


def hashes(hits) -> set[str]:
    return {hit.hashed_secret for hit in hits}


def test_token_in_the_middle_of_a_huge_minified_line(detector, fake_token):
    token = fake_token("ghp_{alnum:36}")
    data = ("a=b;" * 200_000 + f'k="{token}";' + "c();" * 100_000).encode()
    [hit] = [h for h in detector.scan_text(data, "/app/app.min.js") if h.hashed_secret == hash_secret(token)]
    assert hit.line == 1


def test_line_numbers_survive_chunk_seams(detector, fake_token, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 4096)
    monkeypatch.setattr(chunks, "OVERLAP", 512)
    tokens = {}
    lines = []
    for number in range(1, 2001):
        if number % 97 == 0:
            tokens[number] = fake_token("glpat-{alnum:20}")
            lines.append(f"gitlab = {tokens[number]}")
        else:
            lines.append(f"filler line {number} with nothing in it")
    data = ("\n".join(lines) + "\n").encode()
    hits = content.scan_stream(detector, io.BytesIO(data), "/app/big.txt")
    found = {h.hashed_secret: h.line for h in hits}
    assert found == {hash_secret(t): n for n, t in tokens.items()}


def test_token_straddling_a_seam_in_a_line_without_newlines(detector, fake_token, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 4096)
    monkeypatch.setattr(chunks, "OVERLAP", 512)
    token = fake_token("ghp_{alnum:36}")
    data = b"x" * (4096 - 20) + f" {token} ".encode() + b"y" * 9000
    assert hash_secret(token) in hashes(content.scan_stream(detector, io.BytesIO(data), "/app/blob.txt"))


def test_binary_only_high_confidence_tokens(detector, fake_token):
    token = fake_token("AKIA{upalnum:16}")
    password = fake_token("{alnum:20}")
    data = b"\x7fELF\x02\x01\x01" + b"\0" * 64 + f"{token}\0password={password}\0".encode() + b"\0" * 64
    hits = content.scan_bytes(detector, data, "/usr/bin/app")
    assert hash_secret(token) in hashes(hits)
    assert hash_secret(password) not in hashes(hits)
    assert all(h.line is None for h in hits)


def test_pragma_allowlist_marks_hits(detector, fake_token):
    same = fake_token("ghp_{alnum:36}")
    following = fake_token("ghp_{alnum:36}")
    plain = fake_token("ghp_{alnum:36}")
    data = (
        f'a = "{same}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'b = "{following}"\n'
        f'c = "{plain}"\n'
    ).encode()
    pragma = {h.hashed_secret: h.pragma for h in detector.scan_text(data, "/app/x.py")}
    assert pragma[hash_secret(same)] and pragma[hash_secret(following)]
    assert not pragma[hash_secret(plain)]


def test_each_pem_key_has_its_own_hash(detector, fake_token):
    def key() -> str:
        body = fake_token("{b64:64}\n" * 8).strip()
        return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"

    first, second = key(), key()
    hits_first = detector.scan_text((first + "\n").encode(), "/k1.pem")
    hits_second = detector.scan_text((second + "\n").encode(), "/k2.pem")
    assert hash_secret(first) in hashes(hits_first)
    assert hashes(hits_first).isdisjoint(hashes(hits_second))


def test_redact_text_hides_build_arg_values(detector, fake_token):
    token = fake_token("npm_{alnum:36}")
    shown = detector.redact_text(f"|1 NPM_TOKEN={token} /bin/sh -c npm ci", "history")
    assert token not in shown and "NPM_TOKEN=" in shown


def test_archive_members_are_reported_with_bang_paths(detector, fake_token):
    import gzip
    import zipfile

    token = fake_token("xoxb-{digit:12}-{digit:13}-{alnum:24}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("conf/app.properties", f"slack={token}\n")
    jar = out.getvalue()
    result = content.inspect_file(detector, "/app/x.jar", len(jar), io.BytesIO(jar))
    assert [(h.path, h.hashed_secret) for h in result.hits] == [
        ("/app/x.jar!conf/app.properties", hash_secret(token))
    ]
    gz = gzip.compress(f"slack={token}\n".encode())
    result = content.inspect_file(detector, "/app/dump.sql.gz", len(gz), io.BytesIO(gz))
    assert [h.path for h in result.hits] == ["/app/dump.sql.gz!dump.sql"]


def test_zip_bomb_is_bounded(detector):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\0" * (64 * 1024 * 1024))
    data = out.getvalue()
    limits = content.Limits(budget_bytes=1024 * 1024)
    result = content.inspect_file(detector, "/app/bomb.zip", len(data), io.BytesIO(data), limits)
    assert result.hits == []
    assert result.notes == [
        "/app/bomb.zip!bomb.txt: only the first 1 MiB of 64 MiB were scanned (archive budget 1 MiB)"
    ]


def _findings(hits) -> set[tuple]:
    return {(h.rule_id, h.path, h.line, h.hashed_secret) for h in hits}


def test_exhaustive_and_prefiltered_agree_on_every_rule_example():
    """The prefilter may only skip lines no detector would report: checked on every example."""
    from tests.fakes import expand

    rules = load_rules()
    fast, slow = Detector(rules), Detector(rules, exhaustive=True)
    lines = [
        expand(t, seed="eq") for r in rules.token_rules for t in (*r.examples.positive, *r.examples.negative)
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert _findings(fast.scan_text(data, "/app/all.txt")) == _findings(slow.scan_text(data, "/app/all.txt"))
    assert _findings(fast.scan_text(data, "/app/all.txt"))  # the examples do hold secrets


def test_exhaustive_and_default_agree_on_the_example_image(tmp_path):
    from examples.leaky_image import write_archive
    from hubguard.scan import Scanner, ScanOptions

    archive = tmp_path / "leaky.tar"
    write_archive(archive)
    spec = [f"docker-archive:{archive}"]
    default = Scanner(ScanOptions(use_cache=False)).scan(spec)
    exhaustive = Scanner(ScanOptions(use_cache=False, exhaustive=True)).scan(spec)
    assert {f.fingerprint for f in default.findings} == {f.fingerprint for f in exhaustive.findings}


@pytest.mark.parametrize("engine", ["hyperscan", "re2"])
def test_pure_python_prefilter_agrees_with_the_accelerated_ones(monkeypatch, engine):
    from tests.fakes import expand

    rules = load_rules()
    lines = [expand(t, seed="re2") for r in rules.token_rules for t in r.examples.positive]
    data = ("\n".join(lines) + "\n").encode()
    monkeypatch.setenv("HUBGUARD_PREFILTER", engine)
    accelerated = Detector(rules)
    monkeypatch.setenv("HUBGUARD_PURE_PYTHON", "1")
    pure = Detector(rules)
    if engine == "hyperscan":
        assert type(accelerated.prefilter).__name__ == "HyperscanPass"
        assert accelerated.prefilter.fallback is None  # every shipped fragment compiles
    else:
        assert type(pure.prefilter.automata[0]) is not type(accelerated.prefilter.automata[0])
    assert _findings(pure.scan_text(data, "/a")) == _findings(accelerated.scan_text(data, "/a"))


def keyword_dense_text(fake_token) -> bytes:
    """Lines that name passwords, tokens and keys without holding one, in the shapes of
    package lists, a SQL dump, an auth log, i18n tables and Helm values."""
    lines = []
    for number in range(300):
        bcrypt = fake_token(f"$2b$12${{alnum:53}}{number}")[:60]
        lines += [
            f"Package: libpassword-store{number}",
            f"Description: secret token and password manager for keyring {number}",
            f"{number}\tuser{number}@mail.internal\t{bcrypt}\t\\N",
            f"2026-11-30T10:{number % 60:02d}:00Z auth[{number}]: token refreshed for user=u{number}",
            f"2026-11-30T10:{number % 60:02d}:01Z auth[{number}]: password changed for user=u{number}",
            '    "password": "Passwort",',
            '    "forgot_password": "¿Olvidó su contraseña?",',
            '    "client_secret": "Clé d\'accès",',
            f"  secretName: beta{number}-secret",
            "  password: ${AUTH_PASSWORD}",
            '  apiToken: "{{ .Values.api.apiToken }}"',
            '  password: "***"',
            '  adminPassword: "<redacted>"',
            "  rootToken: xxxxxxxxxxxxxxxx",
            "  passwd: files",
            "        secretKeyRef:",
            "          key: password",
        ]
    return ("\n".join(lines) + "\n").encode()


def test_keyword_dense_text_without_secrets_reports_only_one_password_hash(fake_token):
    """Dense text reports nothing but the dump's bcrypt hashes, once; and --exhaustive, which
    visits every line the pass skips, agrees."""
    rules = load_rules()
    data = keyword_dense_text(fake_token)
    fast, slow = Detector(rules), Detector(rules, exhaustive=True)
    hits = fast.scan_text(data, "/srv/dump.sql")
    assert [(hit.rule_id, hit.severity.label) for hit in hits] == [("password-hash", "low")]
    assert _findings(slow.scan_text(data, "/srv/dump.sql")) == _findings(hits)
    lines = data.count(b"\n")
    assert len(list(slow._candidates(data, 1, [False]))) == lines
    assert len(list(fast._candidates(data, 1, [False]))) < lines // 5  # the hash rows and one i18n line
    # Once the dump's hash is reported, the dense lines wake (almost) nothing: only a random
    # hash that happens to hold a token's prefix.
    assert len(list(fast._candidates(data, 1, [True]))) < 10


def test_a_real_assignment_among_the_dense_lines_is_still_found(detector, fake_token):
    secret = fake_token("{alnum:20}")
    data = keyword_dense_text(fake_token) + f'DB_PASSWORD = "{secret}"\n'.encode()
    found = {hit.hashed_secret: hit for hit in detector.scan_text(data, "/app/settings.py")}
    assert found[hash_secret(secret)].rule_id == "generic-secret-assignment"
    assert found[hash_secret(secret)].line == data.count(b"\n")


@pytest.mark.parametrize(
    ("word", "template"),
    [
        ("So", "ghu_{alnum:36}"),
        ("abcde", "xoxb-{digit:12}-{digit:13}-{alnum:24}"),
        ("x", "ghp_{alnum:36}"),
        ("z", "AKIA{upalnum:16}"),
    ],
)
def test_a_token_prefix_inside_a_longer_word_is_no_token(detector, fake_token, word, template):
    token = fake_token(template)
    assert detector.scan_text(f"value {word}{token} end\n".encode(), "/app/notes.txt") == []
    assert hash_secret(token) in hashes(detector.scan_text(f"value {token} end\n".encode(), "/app/notes.txt"))


def test_findings_are_capped_per_rule_per_file(detector, fake_token):
    from hubguard.detect.engine import cap_per_file

    text = "".join(f'token{n} = "{fake_token("ghp_{alnum:36}" + str(n))[:40]}"\n' for n in range(50))
    hits = detector.scan_text(text.encode(), "/app/tokens.py")
    assert len(hits) == 50
    capped = cap_per_file(hits, 20)
    assert len(capped) == 21
    [summary] = [hit for hit in capped if hit.more]
    assert summary.more == 30
    assert "and 30 more" in summary.title
    assert summary.redacted == "…"
    assert cap_per_file(hits, 0) == hits


def test_exhaustive_and_default_agree_on_the_benchmarks_app_layer(tmp_path, monkeypatch):
    """The benchmark's own app layer (bench/imagebuild.py: generated code, settings, a minified
    bundle, a binary, planted fakes): both modes report the same, every plant among it."""
    from pathlib import Path

    from hubguard.scan import Scanner, ScanOptions

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "bench"))
    from imagebuild import write_app_layer, write_docker_archive

    layer, planted = write_app_layer(tmp_path, 2)
    archive = tmp_path / "app.tar"
    write_docker_archive(archive, "hubguard-bench/app:2", [layer])
    spec = [f"docker-archive:{archive}"]
    default = Scanner(ScanOptions(use_cache=False)).scan(spec)
    exhaustive = Scanner(ScanOptions(use_cache=False, exhaustive=True)).scan(spec)
    assert {f.fingerprint for f in default.findings} == {f.fingerprint for f in exhaustive.findings}
    assert set(planted) <= {f.hashed_secret for f in default.findings}
