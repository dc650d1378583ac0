"""Our rule set, rendered like iptables-save and with names mapped back to Docker's, is exactly what a
real Docker 20.10 engine installed (../shared/reference/docker-20.10/)."""

from minicontainer.network.rules import Chains, base_rules, hook_rules, iptables_save, network_rules, port_rules
from tests.helpers.reference import reference as _reference
from tests.helpers.reference import split_tables as _split


def _ours(with_port: bool) -> str:
    c = Chains("MC")
    rules = base_rules(c) + hook_rules(c) + network_rules(c, "mc0", "172.17.0.0/16")
    if with_port:
        rules += port_rules(c, "mc0", "tcp", "", 8080, "172.17.0.2", 80)
    text = iptables_save(rules, c, policies={"FORWARD": "DROP"})
    return c.to_docker(text).replace("mc0", "docker0")


def test_empty_daemon_matches_docker():
    assert _split(_ours(with_port=False)) == _split(_reference("iptables-empty-daemon.txt"))


def test_one_published_port_matches_docker():
    assert _split(_ours(with_port=True)) == _split(_reference("iptables-one-published.txt"))


def test_rules_explain_themselves():
    c = Chains("MC")
    accept, dnat, _ = port_rules(c, "mc0", "tcp", "", 8080, "172.17.0.2", 80)
    assert (accept.table, accept.target) == ("filter", "ACCEPT")  # first: it takes effect before the DNAT
    assert dnat.command() == ("iptables --wait -t nat -A MC ! -i mc0 -p tcp -m tcp --dport 8080 "
                              "-j DNAT --to-destination 172.17.0.2:80")
    assert dnat.command("-I", 1, iptables="iptables-legacy").startswith("iptables-legacy --wait -t nat -I MC 1 ! -i mc0")
    assert dnat.restore_line("-D") == "-D MC ! -i mc0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"
    assert dnat.why == "DNAT: traffic to host port 8080 goes to 172.17.0.2:80"
