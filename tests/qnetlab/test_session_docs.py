"""The newcomer's pages in docs/ run as written (doctest), in an empty directory."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from qnetlab.instruments import registry

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page", ["plans.md", "instruments.md"])
def test_doc_page_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the session's ./data goes here
    monkeypatch.delenv("QNETLAB_CONFIG", raising=False)
    # instruments.md registers a kind of its own: give it a copy of the registry, restored afterwards
    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 5 and result.failed == 0
