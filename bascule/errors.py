"""Errors a user can act on.

Every problem that comes from the user's setup (inventory, network, credentials, the cluster's
tools) is raised as a BasculeError: one line that names what is wrong and how to fix it. The pytest
plugin and the CLI print that line and stop, without a traceback.
"""


class BasculeError(Exception):
    """A problem in the user's setup, described in one line with its fix."""

    def __init__(self, what: str, fix: str = ""):
        self.what = what
        self.fix = fix
        super().__init__(f"{what} — {fix}" if fix else what)


class InventoryError(BasculeError):
    """The inventory file is missing, malformed or incomplete."""


class NodeError(BasculeError):
    """A node cannot be reached or a command on it cannot run."""


class LabError(BasculeError):
    """The embedded lab cannot be brought up, checked or taken down."""


class BaselineError(BasculeError):
    """The cluster is not at its baseline and bascule could not restore it."""


class RepairIncomplete(BaselineError):
    """bascule repaired things, yet the cluster did not reach its baseline: what it did must still
    be told (`repairs`, a list of observations.Repair)."""

    def __init__(self, what: str, fix: str, repairs: list):
        super().__init__(what, fix)
        self.repairs = list(repairs)
