"""Bridge networking: address leases, the docker0-like bridge, veth pairs, firewall rules, ports."""
