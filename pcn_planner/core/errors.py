"""Errors a user can act on: each names the file, row and field at fault."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the file, row and field.

    Parameters
    ----------
    message
        What is wrong, in words a planner can act on.
    file, row, field
        Where: file name, 1-based row (the header is row 1) and column or
        setting; each is optional and kept as an attribute.

    Examples
    --------
    >>> from pcn_planner import InputError
    >>> str(InputError("unknown practice code 'ZZ9'", file="plan.csv", row=3, field="practice_code"))
    "plan.csv, row 3, field 'practice_code': unknown practice code 'ZZ9'"
    """

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
    """The planning rules cannot all hold. The message explains why, in planners' words.

    Raised by :func:`~pcn_planner.optimise.optimise` before solving when a
    rule is provably impossible (e.g. K outside the range the bounds allow,
    naming that range, or a nesting area too small for a hub), or when the
    solver proves or finds no plan within the time limit.
    """
