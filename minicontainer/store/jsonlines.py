"""A file of JSON lines (a container's json-file log, the event journal) read as it grows: the
complete lines appended since the last read, through an fd held open (the file may be renamed or
removed meanwhile; what was written stays readable)."""

from __future__ import annotations

import json
import os


class JsonLines:
    def __init__(self, fd: int, from_end: bool = False):
        self.fd, self.partial = fd, b""
        if from_end:
            os.lseek(fd, 0, os.SEEK_END)

    @classmethod
    def open(cls, path: str, from_end: bool = False, create: bool = False) -> JsonLines:
        """FileNotFoundError if it is not there (and not to be made: create)."""
        flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        return cls(os.open(path, flags, 0o640), from_end)

    def read(self) -> list[dict]:
        chunks = []
        while data := os.read(self.fd, 1 << 16):
            chunks.append(data)
        if not chunks:
            return []
        data = self.partial + b"".join(chunks)
        end = data.rfind(b"\n") + 1
        self.partial = data[end:]  # a line still being written: the next read has it whole
        return [json.loads(line) for line in data[:end].splitlines() if line]

    def inode(self) -> int:
        return os.fstat(self.fd).st_ino

    def close(self) -> None:
        os.close(self.fd)
