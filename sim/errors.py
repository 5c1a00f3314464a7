"""User-facing errors: one line naming the file and the dotted field, no traceback from the CLI."""

from __future__ import annotations


class SimInputError(ValueError):
    """Bad user input. ``str(err)`` is ``"<file>: <field>: <what is wrong>"``."""

    def __init__(self, path: object, field: str, message: str) -> None:
        self.path, self.field, self.message = str(path), field, message
        where = f"{self.path}: {field}" if field else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # pickled whole (a worker's bad input reaches the parent as itself)
        return type(self), (self.path, self.field, self.message)


class ScenarioError(SimInputError):
    """A malformed scenario file (syntax, unknown field, impossible value)."""


class DataError(SimInputError):
    """A malformed data file (countries, chips, regime, assumptions)."""


class InvariantError(RuntimeError):
    """A run broke an invariant (conservation, a cap, a negative stock...): a bug, never written as results.
    ``str(err)`` is ``"<scenario>: invariant violated: <what and where>"``."""

    def __init__(self, scenario: str, message: str) -> None:
        self.scenario, self.message = scenario, message
        super().__init__(f"{scenario}: invariant violated: {message}")

    def __reduce__(self):  # pickled whole, so a worker's broken invariant reaches the parent as itself
        return type(self), (self.scenario, self.message)
