"""Keyword-dense text with no secret in it: what package lists, SQL dumps, auth logs, i18n
tables and Helm values really look like, generated (varied, seeded) rather than repeated.

Nearly every line names a password, token, secret or key, yet none holds one: a scanner that
reports anything here is reporting noise, and one whose cost follows keyword density stalls.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable

WORDS = [
    "library",
    "network",
    "daemon",
    "graphical",
    "support",
    "package",
    "client",
    "server",
    "utility",
    "plugin",
    "module",
    "password",
    "secret",
    "token",
    "key",
    "auth",
    "authentication",
    "credentials",
    "private",
    "api",
    "access",
    "login",
    "ssh",
    "gpg",
    "encryption",
    "certificate",
    "signing",
    "keyring",
    "vault",
    "session",
    "cookie",
    "oauth",
    "kerberos",
    "pam",
    "manager",
    "store",
    "rotation",
    "policy",
    "reset",
    "storage",
    "backend",
    "frontend",
    "handler",
    "service",
    "account",
    "user",
    "admin",
    "group",
]
USERS = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
]
SERVICES = [
    "auth-api",
    "billing",
    "gateway",
    "ledger",
    "mailer",
    "payments",
    "search",
    "reports",
    "scheduler",
    "web",
]
LANGUAGES = {
    "de": ("Passwort", "Passwort vergessen?", "Geheimnis", "Zugangsschlüssel", "Sitzungstoken abgelaufen"),
    "fr": ("Mot de passe", "Mot de passe oublié ?", "Secret", "Clé d'accès", "Jeton de session expiré"),
    "es": ("Contraseña", "¿Olvidó su contraseña?", "Secreto", "Clave de acceso", "Token de sesión caducado"),
    "it": ("Password", "Password dimenticata?", "Segreto", "Chiave di accesso", "Token di sessione scaduto"),
    "pt": ("Senha", "Esqueceu a senha?", "Segredo", "Chave de acesso", "Token de sessão expirado"),
    "nl": ("Wachtwoord", "Wachtwoord vergeten?", "Geheim", "Toegangssleutel", "Sessietoken verlopen"),
    "pl": ("Hasło", "Nie pamiętasz hasła?", "Sekret", "Klucz dostępu", "Token sesji wygasł"),
    "ru": ("Пароль", "Забыли пароль?", "Секрет", "Ключ доступа", "Срок действия токена истёк"),
    "ja": (
        "パスワード",
        "パスワードをお忘れですか？",
        "シークレット",
        "アクセスキー",
        "トークンの有効期限切れ",
    ),
    "tr": (
        "Parola",
        "Parolanızı mı unuttunuz?",
        "Gizli",
        "Erişim anahtarı",
        "Oturum belirtecinin süresi doldu",
    ),
}
I18N_KEYS = ("password", "forgot_password", "client_secret", "access_key", "token_expired")
BCRYPT_ALPHABET = string.ascii_letters + string.digits + "./"


def _filled(target: int, piece: Callable[[int], str]) -> str:
    """``piece(0)``, ``piece(1)``, … joined, until they reach ``target`` characters."""
    out, size, number = [], 0, 0
    while size < target:
        text = piece(number)
        out.append(text)
        size += len(text)
        number += 1
    return "".join(out)


def apt_packages(rng: random.Random, target: int) -> str:
    """Packages-file stanzas whose Description lines name passwords, tokens and keys."""

    def stanza(number: int) -> str:
        word = rng.choice(WORDS)
        package = f"lib{word}-{rng.choice(WORDS)}{number}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}-{rng.randint(1, 9)}"
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
        body = "\n".join(
            " " + " ".join(rng.choice(WORDS) for _ in range(11)) for _ in range(rng.randint(1, 4))
        )
        return (
            f"Package: {package}\nVersion: {version}\nArchitecture: amd64\n"
            f"Maintainer: Debian {word.title()} Team <pkg-{word}@lists.debian.org>\n"
            f"Depends: lib{rng.choice(WORDS)}{rng.randint(1, 9)}, lib{rng.choice(WORDS)}-common\n"
            f"Description: {summary}\n{body}\nTag: security::{rng.choice(WORDS)}, role::program\n"
            f"Filename: pool/main/{word[0]}/{word}/{package}_{version}_amd64.deb\n"
            f"SHA256: {rng.getrandbits(256):064x}\n\n"
        )

    return _filled(target, stanza)


def sql_dump(rng: random.Random, target: int) -> str:
    """A users table with bcrypt password hashes and NULL reset tokens."""
    header = (
        "-- PostgreSQL database dump\n"
        "CREATE TABLE users (id integer, email text, password_hash text, reset_token text);\n"
        "COPY users (id, email, password_hash, reset_token) FROM stdin;\n"
    )

    def record(row: int) -> str:
        salt_hash = "".join(rng.choice(BCRYPT_ALPHABET) for _ in range(53))
        user = f"{rng.choice(USERS)}{row}@mail.internal"
        line = f"{row}\t{user}\t$2b$12${salt_hash}\t\\N\n"
        if row % 7 == 0:
            line = (
                f"INSERT INTO users (id, email, password_hash, reset_token) VALUES "
                f"({row}, '{user}', '$2b$10${salt_hash}', NULL);\n"
            )
        return line

    return header + _filled(target, record) + "\\.\n"


def auth_log(rng: random.Random, target: int) -> str:
    """An auth service's log: token refreshes, password changes, failed logins."""
    templates = (
        "token refreshed for user={user} session={session} ttl=3600",
        "password changed for user={user} via=self-service",
        "failed password for {user} from 10.{a}.{b}.{c} port {port} ssh2",
        "access token issued: client={service} scope=read:{word} expires_in=900",
        "secret rotation scheduled for {service}: next=2026-12-0{d}",
        "api_key lookup ok for service={service} key_id=key-{number}",
        "pam_unix(sshd:auth): authentication failure; user={user} rhost=10.{a}.{b}.{c}",
        "refresh_token revoked for user={user} reason=logout",
        "password reset requested for user={user} token=<redacted>",
    )

    def entry(number: int) -> str:
        template = rng.choice(templates)
        line = f"2026-11-{rng.randint(1, 30):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z "
        line += f"{rng.choice(SERVICES)}[{rng.randint(100, 9999)}]: "
        line += template.format(
            user=rng.choice(USERS),
            session=f"s{rng.getrandbits(32):08x}",
            a=rng.randint(0, 255),
            b=rng.randint(0, 255),
            c=rng.randint(1, 254),
            port=rng.randint(1024, 65535),
            service=rng.choice(SERVICES),
            word=rng.choice(WORDS),
            d=rng.randint(1, 9),
            number=number,
        )
        return line + "\n"

    return _filled(target, entry)


def i18n_json(rng: random.Random, language: str, entries: int) -> str:
    """A translation table: secret-named keys whose values are words in ``language``."""
    phrases = LANGUAGES[language]
    sections = ("login", "account", "settings", "admin", "api", "signup", "profile", "billing")
    table: dict[str, dict[str, str]] = {}
    for number in range(entries):
        section = table.setdefault(f"{rng.choice(sections)}_{number}", {})
        for key, phrase in zip(I18N_KEYS, phrases, strict=True):
            section[key] = phrase
        section["hint"] = f"{phrases[0]} ({rng.choice(WORDS)})"
    return json.dumps(table, ensure_ascii=False, indent=2) + "\n"


def helm_values(rng: random.Random, target: int) -> str:
    """Helm values: references to secrets, never the secrets themselves."""

    def block(number: int) -> str:
        service = rng.choice(SERVICES)
        return (
            f"{service}{number}:\n"
            f"  image: registry.internal/{service}:{rng.randint(1, 40)}.{rng.randint(0, 9)}\n"
            f"  existingSecret: {service}-credentials\n"
            f"  secretName: {service}{number}-secret\n"
            f"  password: ${{{service.upper().replace('-', '_')}_PASSWORD}}\n"
            f'  apiToken: "{{{{ .Values.{service.replace("-", "")}.apiToken }}}}"\n'
            f"  tokenFile: /run/secrets/{service}-token\n"
            f"  env:\n"
            f"    - name: DB_PASSWORD\n"
            f"      valueFrom:\n"
            f"        secretKeyRef:\n"
            f"          name: {service}-db\n"
            f"          key: password\n"
            f"    - name: API_KEY_FILE\n"
            f"      value: /run/secrets/api_key\n"
            f"  auth:\n"
            f'    password: "***"\n'
            f"    secret_ref: vault:secret/data/{service}#password\n"
            f'    adminPassword: "<redacted>"\n'
            f"    rootToken: xxxxxxxxxxxxxxxx\n"
            f"  passwd: files\n"
        )

    return _filled(target, block)


def dense_files(seed: str, scale_bytes: int) -> dict[str, bytes]:
    """Path → content for about ``scale_bytes`` of keyword-dense text, in the five shapes."""
    rng = random.Random(seed)
    share = scale_bytes // 10
    files = {
        "/var/lib/apt/lists/deb_dists_stable_main_binary-amd64_Packages": apt_packages(rng, 3 * share),
        "/var/backups/users.sql": sql_dump(rng, 2 * share),
        "/var/log/auth-service/auth.log": auth_log(rng, 2 * share),
        "/srv/app/charts/values.yaml": helm_values(rng, share),
    }
    per_language = max(1, share * 2 // len(LANGUAGES) // 250)
    for language in LANGUAGES:
        files[f"/srv/app/locales/{language}.json"] = i18n_json(rng, language, per_language)
    return {path: text.encode() for path, text in files.items()}
