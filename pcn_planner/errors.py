"""Errors a user can act on: each names the file, row and field at fault."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the file, row and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        parts = [
            p
            for p in (
                file and str(file),
                row is not None and f"row {row}",
                field and f"field '{field}'",
            )
            if p
        ]
        super().__init__(": ".join([", ".join(parts), message]) if parts else message)
        self.file, self.row, self.field = file, row, field


class InfeasibleError(ValueError):
    """The planning rules cannot all hold. The message explains why, in planners' words."""
