"""Driving the generated bash completion function as bash would."""

import os
import subprocess


def complete(script: str, line: str, env: dict | None = None) -> list[str]:
    """What bash offers for `line` (the cursor at its end)."""
    words = line.split(" ")
    program = (f"source {script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n_minicontainer\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]
