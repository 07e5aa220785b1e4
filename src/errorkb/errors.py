"""The errors errorkb raises, in one tree.

    ErrorkbError                 anything errorkb refuses, with a hint saying what to do next
    ├── InputError               bad input from a user: a file, a request body, an argument
    │   ├── RecordError          a canon or import record that cannot be read (file, line, field)
    │   └── InputTooLarge        input over a size cap
    ├── NotFound                 an id, domain or file that does not exist
    └── IndexUnavailable         no usable index; the hint names the command that builds one

Faces turn each of these into one error body (`render.error_payload`) and an exit code or
HTTP status; nothing else is caught on the way up.
"""

from __future__ import annotations


class ErrorkbError(Exception):
    """Base class: a message, and a hint saying what to do next."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def code(self) -> str:
        """Stable machine-readable name, e.g. `input_error`."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(ErrorkbError):
    """Input that errorkb cannot use; says where and why."""


class RecordError(InputError):
    """A canon or import record that cannot be read."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None,
                 field: str = "", hint: str = "") -> None:
        where = file + (f":{line}" if line else "")
        prefix = f"{where}: " if where else ""
        at_field = f"field `{field}`: " if field else ""
        super().__init__(f"{prefix}{at_field}{message}", hint)
        self.file = file
        self.line = line
        self.field = field


class InputTooLarge(InputError):
    """Input over a size cap."""


class NotFound(ErrorkbError):
    """An id, domain or file that does not exist."""

    exit_code = 1


class IndexUnavailable(ErrorkbError):
    """No usable index for the corpus asked for."""
