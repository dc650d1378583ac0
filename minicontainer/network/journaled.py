"""Every journaled Step class, registered by importing their modules. Code that reads a journal
imports this first: journal entries name their module (store/journal.py), but a journal written
before they did (a container started by an older minicontainer and still running) names only the
class, which must then be registered already."""

import minicontainer.kernel.netlink  # noqa: F401 - CreateBridge, CreateVeth, BindNetns
import minicontainer.network.ports  # noqa: F401 - StartProxy, HoldPort, PublishRules
