"""Two containers on a private network: one serves, the other fetches; a third on the default
bridge cannot reach them (Docker's ISOLATION chains). Measures the round-trip time between them.

    sudo /opt/minicontainer/venv/bin/python docs/examples/private_network.py
"""

import re
import statistics

import minicontainer

SERVE = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def main() -> None:
    with minicontainer.sandbox() as mc, mc.create_network("lab") as lab:
        server = mc.run("busybox", ["sh", "-c", SERVE], network="lab", hostname="server")
        client = mc.run("busybox", ["sleep", "300"], network="lab")
        stranger = mc.run("busybox", ["sleep", "300"])  # on the default bridge network
        with server, client, stranger:
            server.wait_listening(80)
            print(f"network lab: bridge {lab.bridge}, subnet {lab.subnet}")
            print(f"server {server.ip}, client {client.ip}, stranger {stranger.ip} (bridge {mc.isolation.bridge})")

            page = client.exec(["wget", "-qO-", f"http://{server.ip}/"])
            print(f"client fetched: {page.stdout.strip()!r}")
            assert page.stdout == "hello from server\n", page

            ping = client.exec(["ping", "-c", "20", "-i", "0.2", server.ip])
            rtts = [float(ms) for ms in re.findall(r"time=([\d.]+) ms", ping.stdout)]
            print(f"ping client -> server: {len(rtts)} replies, median {statistics.median(rtts):.3f} ms, "
                  f"max {max(rtts):.3f} ms")

            blocked = stranger.exec(["ping", "-c", "1", "-W", "1", server.ip])
            print(f"stranger -> server: {'blocked' if blocked.exit_code else 'REACHED'} (exit {blocked.exit_code})")
            assert blocked.exit_code != 0


if __name__ == "__main__":
    main()
