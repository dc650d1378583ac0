"""Images made of one static C program, for what busybox cannot do (a UDP server, a raw syscall)."""

import subprocess
import tarfile


def static_program_image(mc, tmp_path, name: str, source: str) -> str:
    """Build `source` with gcc -static as /NAME and import it as image NAME:1; returns the reference."""
    (tmp_path / f"{name}.c").write_text(source)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(tmp_path / name), str(tmp_path / f"{name}.c")], check=True)
    with tarfile.open(tmp_path / f"{name}.tar", "w") as t:
        t.add(tmp_path / name, arcname=name)
    mc.ok("import", str(tmp_path / f"{name}.tar"), f"{name}:1")
    return f"{name}:1"
