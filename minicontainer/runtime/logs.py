"""Container output in Docker's json-file format: one JSON object per line,
{"log": "...", "stream": "stdout"|"stderr", "time": RFC3339Nano}."""

from __future__ import annotations

import os

# json.dumps's own string encoder (ensure_ascii), without the json package: the monitor that writes
# the log stays up as long as the container, and json with the re it imports weighs 1.3 MB there.
from _json import encode_basestring_ascii as _quoted

from minicontainer.clock import now_rfc3339


class LogWriter:
    """Splits each stream into lines (as Docker does) and appends them to the log file."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.partial: dict[str, bytes] = {}

    def _emit(self, stream: str, chunk: bytes) -> str:
        # what json.dumps({"log": ..., "stream": ..., "time": ...}) writes
        return (f'{{"log": {_quoted(chunk.decode("utf-8", "replace"))}, "stream": {_quoted(stream)}, '
                f'"time": {_quoted(now_rfc3339())}}}\n')

    def write(self, stream: str, data: bytes) -> None:
        buf = self.partial.pop(stream, b"") + data
        *lines, rest = buf.split(b"\n")
        if rest:
            self.partial[stream] = rest
        if lines:
            os.write(self.fd, "".join(self._emit(stream, line + b"\n") for line in lines).encode())

    def close(self) -> None:
        for stream, rest in self.partial.items():
            os.write(self.fd, self._emit(stream, rest).encode())
        self.partial.clear()
        os.close(self.fd)


def read_entries(path: str, offset: int = 0) -> tuple[list[dict], int]:
    """Complete entries from offset on, and the offset after the last complete line."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    import json
    entries = [json.loads(line) for line in data[:end].splitlines() if line]
    return entries, offset + end
