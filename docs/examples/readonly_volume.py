"""A read-only bind mount next to a named volume: the container reads the host's files but cannot
change them, while what it writes to the volume outlives it. Measures copying into a container
through /proc/<pid>/root (cp) against reading the same bytes through the bind mount.

    sudo /opt/minicontainer/venv/bin/python docs/examples/readonly_volume.py
"""

import os
import tempfile
import time

import minicontainer

SIZE = 32 * 1024 * 1024


def main() -> None:
    with minicontainer.sandbox() as mc, tempfile.TemporaryDirectory() as shared:
        with open(os.path.join(shared, "dataset.bin"), "wb") as f:
            f.write(os.urandom(SIZE))
        volume = mc.create_volume("results")
        with mc.run("busybox", ["sleep", "300"], volumes=[f"{shared}:/input:ro", f"{volume}:/results"]) as box:
            attempt = box.exec(["sh", "-c", "echo changed > /input/dataset.bin"])
            print(f"write to /input (ro bind): exit {attempt.exit_code}: {attempt.stderr.strip()}")
            assert attempt.exit_code != 0 and "Read-only file system" in attempt.stderr

            start = time.perf_counter()
            digest = box.exec(["md5sum", "/input/dataset.bin"]).stdout.split()[0]
            read_s = time.perf_counter() - start
            box.exec(["sh", "-c", f"echo {digest} > /results/md5.txt"])

            start = time.perf_counter()
            box.copy_to(os.path.join(shared, "dataset.bin"), "/tmp/copy.bin")
            copy_s = time.perf_counter() - start
            copied = box.exec(["md5sum", "/tmp/copy.bin"]).stdout.split()[0]
            assert copied == digest
            mib = SIZE / 2**20
            print(f"md5sum through the ro bind mount: {mib / read_s:.0f} MiB/s; "
                  f"cp into the container: {mib / copy_s:.0f} MiB/s ({mib:.0f} MiB, same digest)")

        kept = open(os.path.join(mc.volume_path(volume), "md5.txt")).read().strip()
        print(f"volume {volume} after the container is gone: md5.txt = {kept}")
        assert kept == digest
        mc.remove_volume(volume)


if __name__ == "__main__":
    main()
