"""Every relative link in the README and docs/ points at a file that exists, and every docs page
is reachable from the README."""

import os
import re

from tests.conftest import REPO

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _pages():
    yield os.path.join(REPO, "README.md")
    docs = os.path.join(REPO, "docs")
    for name in sorted(os.listdir(docs)):
        if name.endswith(".md"):
            yield os.path.join(docs, name)


def test_relative_links_resolve():
    broken = []
    for page in _pages():
        with open(page) as f:
            for target in LINK.findall(f.read()):
                if "://" in target or target.startswith("mailto:"):
                    continue
                if not os.path.exists(os.path.join(os.path.dirname(page), target)):
                    broken.append(f"{os.path.relpath(page, REPO)} -> {target}")
    assert not broken, broken


def test_every_docs_page_is_linked_from_the_readme():
    with open(os.path.join(REPO, "README.md")) as f:
        linked = {os.path.normpath(t) for t in LINK.findall(f.read())}
    pages = {os.path.relpath(p, REPO) for p in _pages()} - {"README.md"}
    assert pages <= linked, pages - linked
