"""One exception hierarchy; the CLI turns each into one clear line and an exit code."""
from __future__ import annotations


class TouchbaseError(Exception):
    """Base class of every error the agent reports to the user."""

    exit_code = 1


class UserError(TouchbaseError):
    """A problem the user can fix (config, arguments); may carry several problems at once."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        if not self.problems:
            return base
        return base + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class ConfigError(UserError):
    """The configuration file is missing, unreadable or invalid."""


class StoreError(TouchbaseError):
    """The local store cannot be opened or is of an unknown schema."""


class NotFound(TouchbaseError):
    """A person, event or file that was asked for does not exist."""


class AlreadyExists(TouchbaseError):
    """Something that should be created once already exists: a refusal, like a usage error."""

    exit_code = 2


class SourceError(TouchbaseError):
    """A calendar or mail backend failed; the source's cycle ends and is retried later."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class Unreachable(SourceError):
    """A backend could not be reached at all (no network, no answer): nothing says it is wrong."""


class AuthError(SourceError):
    """A backend needs the user to authorise again (expired or revoked token)."""

    def __init__(self, source: str, message: str, fix: str = "") -> None:
        self.fix = fix
        super().__init__(source, message + (f" Run: {fix}" if fix else ""))


class ReadOnlySource(SourceError):
    """A write was asked of a backend that only reads."""


class LockHeld(TouchbaseError):
    """Another touchbase daemon already runs on this store."""
