"""What ``--help`` says about each command: a description, the exit codes and an example.
``%(prog)s`` is the command as called, so ``docker hubguard scan --help`` shows ``docker
hubguard scan``."""

RULES_HELP = (
    "also load a rule pack: a directory of *.toml packs, one pack file, or a gitleaks/Betterleaks "
    "config (repeatable; a rule with a built-in id replaces it)"
)
CACHE_DIR_DEFAULT = "$HUBGUARD_CACHE_DIR, else $XDG_CACHE_HOME/hubguard, else ~/.cache/hubguard"
_SCAN_EXITS = """exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage or input error (bad option, unreadable input, no Docker engine, bad config), one line
  3  the scan could not complete: nothing from it may be trusted"""
# Per command: (description, epilog: exit codes and an example). %(prog)s is the command as
# called, so `docker hubguard scan --help` shows `docker hubguard scan`.
COMMAND_HELP = {
    "scan": (
        "Scan images for secrets: every layer (deleted and overwritten files too), the config "
        "(Env, Labels) and the history.",
        f"""{_SCAN_EXITS}

examples:
  %(prog)s myname/app:1
  %(prog)s docker-archive:leaky.tar --format sarif --output hubguard.sarif""",
    ),
    "context": (
        "Scan what docker build would send (the build context, honouring .dockerignore exactly) "
        "and check that .dockerignore leaves out credential files.",
        f"""{_SCAN_EXITS}

example:
  %(prog)s . --fix""",
    ),
    "baseline": (
        "Write a detect-secrets baseline of the findings: later scans from this directory "
        "suppress them, so only new secrets fail.",
        """exit codes:
  0  baseline written
  2  usage or input error, one line
  3  the scan could not complete: nothing written

example:
  %(prog)s myname/app:1            # writes .secrets.baseline""",
    ),
    "rules": (
        "List the rules in play: id (as .hubguardignore's rule: entries take it), kind, "
        "severity, title and pack.",
        """exit codes:
  0  listed
  2  a rule pack is invalid, one line

example:
  %(prog)s --rules ./my-rules""",
    ),
    "push": (
        "Scan an image, decide from the repository's visibility, then docker push it, or refuse "
        "when it would leak a secret to a public (or unknown) repository.",
        """exit codes:
  0  pushed
  1  refused: findings, and the repository is public or unknown
  2  usage or input error, one line
  3  the scan or the push could not complete: nothing pushed

example:
  %(prog)s myname/app:1""",
    ),
    "install-plugin": (
        "Link the docker CLI plugin into cli-plugins/, so `docker hubguard …` works.",
        """exit codes:
  0  installed
  2  the plugin directory cannot be written, one line

example:
  %(prog)s && docker hubguard push myname/app:1""",
    ),
    "lint": (
        "Find secret-handling mistakes in Dockerfiles and CI build steps, before anything is built: "
        "secret-named ARG/ENV, literal secrets, secrets written into layers, credential files "
        "copied in, multi-stage leaks and --build-arg secrets in CI files.",
        """exit codes:
  0  no finding at or above --fail-on
  1  findings
  2  usage or input error (a named file is missing), one line
  3  a file could not be read or parsed

examples:
  %(prog)s
  %(prog)s Dockerfile .github/workflows/image.yml --format sarif""",
    ),
    "cache": (
        f"Show or empty the layer cache ({CACHE_DIR_DEFAULT}). It holds hashes and redacted "
        "previews, never a secret value.",
        """exit codes:
  0  done
  2  usage error, one line

example:
  %(prog)s clear""",
    ),
}
