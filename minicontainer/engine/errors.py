"""Errors as the Engine API returns them: {"message": ...} with Docker's status code. The clients
act on the code (404: `docker run` pulls, `rm -f` ignores it) and on the text (docker-py's
ImageNotFound needs "no such image"), so the message is the runtime's own, the words Docker uses."""

from __future__ import annotations

from minicontainer.errors import MCError, NoSuchContainer, NoSuchImage, UsageError


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# Docker's words -> its status, for the errors our runtime raises as plain DaemonErrors
_BY_TEXT = [
    ("No such ", 404),
    ("no such volume", 404),
    ("already exists", 409),
    ("not found", 404),
    ("Could not find the file", 404),
    ("Conflict.", 409),
    ("with the same name as its current name", 409),
    ("is already paused", 409),
    ("is not paused", 409),
    ("is paused, unpause", 409),
    ("conflict:", 409),
    ("is already in use", 409),
    ("You cannot remove a running container", 409),
    ("is not running", 409),
    ("has active endpoints", 403),
    ("is a pre-defined network", 403),
    ("volume is in use", 409),
    ("extraction point is not a directory", 400),
    ("marked read-only", 403),
    ("invalid reference format", 400),
    ("invalid ", 400),
    ("conflicting options", 400),
]


def status_of(exc: Exception) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, NoSuchContainer | NoSuchImage):
        return 404
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, MCError):
        text = str(exc.args[0]) if exc.args else ""
        for words, status in _BY_TEXT:
            if words in text:
                return status
    return 500


def message_of(exc: Exception) -> str:
    """The daemon's message: without the CLI's "Error response from daemon: " (the docker CLI adds
    it; a few of our messages carry it in their text)."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.removeprefix("Error response from daemon: ")
