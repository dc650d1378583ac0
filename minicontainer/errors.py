"""Errors with Docker's exit codes: 125 runtime error, 126 cannot invoke, 127 not found."""


class MCError(Exception):
    """An error the CLI prints as one line and turns into an exit code."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DaemonError(MCError):
    """What Docker reports as 'Error response from daemon: ...'."""

    def __str__(self) -> str:
        return f"Error response from daemon: {self.args[0]}"


class NoSuchContainer(DaemonError):
    def __init__(self, ref: str):
        super().__init__(f"No such container: {ref}")


class NoSuchImage(DaemonError):
    def __init__(self, ref: str):
        super().__init__(f"No such image: {ref}")


class UsageError(MCError):
    """Bad flags or arguments; Docker exits 125 for flag errors."""

    exit_code = 125


class StartError(DaemonError):
    """The container process could not be started (exec failed etc.)."""

    exit_code = 125
