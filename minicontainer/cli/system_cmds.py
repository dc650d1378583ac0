"""`system service`: the Docker Engine API on a socket (minicontainer/engine), for the docker CLI,
docker-py and the tools built on them."""

from __future__ import annotations

import os
import sys

from minicontainer.cli.flags import Flag
from minicontainer.errors import MCError


def system_service(rt, opts, args) -> int:
    from minicontainer.engine.handler import serve_connection
    from minicontainer.engine.server import SOCKET_NAME, listen, serve
    from minicontainer.store import waiters
    address = args[0] if args else "unix://" + os.path.join(rt.root.run, SOCKET_NAME)
    if address.startswith("tcp://"):
        print("WARNING: the API is root-equivalent and has no authentication: anyone who can reach "
              f"{address} can run anything as root on this host", file=sys.stderr)
    elif not address.startswith(("unix://", "/")):
        raise MCError(f"invalid listen address {address}: unix://PATH or tcp://HOST:PORT", 125)
    if opts.time < 0:
        raise MCError(f"invalid argument \"{opts.time}\" for \"-t, --time\" flag: must not be negative", 125)
    from minicontainer.engine.preload import warm
    warm()
    try:
        sock = listen(address)
    except OSError as exc:
        raise MCError(f"cannot listen on {address}: {exc.strerror or exc}", 1) from None
    path = address.removeprefix("unix://") if not address.startswith("tcp://") else ""
    mine = os.stat(path).st_ino if path and os.path.exists(path) else None
    waiters.sweep(rt.root.run)
    print(f"API service listening on {address} (idle exit after {opts.time} s)" if opts.time
          else f"API service listening on {address}", file=sys.stderr, flush=True)
    try:
        serve(sock, float(opts.time), lambda conn: serve_connection(conn, rt))
    finally:
        if mine is not None:
            try:
                if os.stat(path).st_ino == mine:  # not one a newer service made since
                    os.unlink(path)
            except FileNotFoundError:
                pass
    return 0


def subcommands():
    from minicontainer.cli.commands import Command
    return [
        Command("service", "system service [OPTIONS] [URI]",
                "Serve the Docker Engine API (for the docker CLI, docker-py) on a socket", system_service,
                [Flag("time", "t", kind="int", default=5, metavar="int",
                      help="Seconds without a connection before the service exits (0: never)")],
                max_args=1, repairs_rules=True,
                examples=["minicontainer system service --time 0 &   # unix:///run/minicontainer/docker.sock",
                          "DOCKER_HOST=unix:///run/minicontainer/docker.sock docker run --rm busybox echo hi"]),
    ]
