"""Other rulesets' forward chains, each read at most once while a view lives: the repair pass of
every command asks each network's accept steps (network/bridge.py accept_steps) against one view,
instead of listing the ruleset again for every network."""

from __future__ import annotations


class ForwardView:
    def __init__(self):
        self._ruleset: list[dict] | None = None
        self._legacy: tuple[str, list[str]] | None = None

    def nft_chains(self, backend: str) -> list:
        """nftables.forward_chains(backend), from one `nft -j list ruleset`."""
        from minicontainer.network.nftables import forward_chains, ruleset
        if self._ruleset is None:
            self._ruleset = ruleset()
        return forward_chains(backend, self._ruleset)

    def legacy(self) -> tuple[str, list[str]]:
        """legacy_forward.legacy_forward(): the legacy FORWARD's policy and rules."""
        if self._legacy is None:
            from minicontainer.network.legacy_forward import legacy_forward
            self._legacy = legacy_forward()
        return self._legacy
