"""Exit codes, and the errors that the CLI turns into one clear line and an exit code, never a
traceback. Every command and the push use these codes, so a script reads them alike:

0 clean (or pushed), 1 findings at or above ``--fail-on`` (or a push refused by policy),
2 usage or input error, 3 the scan or the push could not complete (nothing from it may be
trusted, nothing was pushed after it), 130 interrupted.
"""

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130


class HubguardError(Exception):
    """Base class: ``exit_code`` is what the CLI returns for it."""

    exit_code = EXIT_USAGE


class InputError(HubguardError):
    """Bad usage or input: bad reference, unreadable file, no daemon, bad config (exit 2)."""

    exit_code = EXIT_USAGE


class ScanIncomplete(HubguardError):
    """The scan could not read everything it had to, so nothing may be trusted or pushed (exit 3)."""

    exit_code = EXIT_INCOMPLETE


class PushFailed(HubguardError):
    """The push could not be done or confirmed (exit 3): docker failed, or the tag moved."""

    exit_code = EXIT_INCOMPLETE
