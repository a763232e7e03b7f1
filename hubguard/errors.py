"""Errors that the CLI turns into one clear line and an exit code, never a traceback."""


class HubguardError(Exception):
    """Base class: ``exit_code`` is what the CLI returns for it."""

    exit_code = 2


class InputError(HubguardError):
    """Bad usage or input: bad reference, unreadable file, no daemon, bad config (exit 2)."""

    exit_code = 2


class ScanIncomplete(HubguardError):
    """The scan could not read everything it had to, so nothing may be trusted or pushed (exit 3)."""

    exit_code = 3
