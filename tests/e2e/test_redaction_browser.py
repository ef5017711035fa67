"""The widget's detector (static/js/redaction.js), run in Chromium, against the vectors that
conversations.redaction is tested on: for every vector marked `browser`, the same kinds and the
same masked text; for every vector the server finds nothing in, nothing; for the rest, at least
the browser's kinds the server finds."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import chromium

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/conversations/redaction_vectors.json").read_text())


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


@contextmanager
def static_server() -> Iterator[str]:
    """static/ over HTTP on the loopback (module scripts do not load from file:// pages)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(ROOT / "static")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser_results(chromium_path: str) -> list[dict[str, Any]]:
    """Every vector's text masked by redaction.js in the page: {text, kinds, findings}."""
    with static_server() as base, chromium(chromium_path) as browser:
        page = browser.new_page()
        page.goto(f"{base}/css/app.css")  # any page of the origin
        return page.evaluate(
            """async (texts) => {
                const { findSecrets, maskSecrets } = await import("/js/redaction.js");
                return texts.map((text) => ({ ...maskSecrets(text), findings: findSecrets(text) }));
            }""",
            [vector["text"] for vector in VECTORS["vectors"]],
        )


def _pairs(results: list[dict[str, Any]], which: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(v, r) for v, r in zip(VECTORS["vectors"], results, strict=True) if which(v)]


def test_the_browser_agrees_with_the_server_on_every_browser_vector(browser_results: list[dict[str, Any]]) -> None:
    pairs = _pairs(browser_results, lambda v: v.get("browser"))
    assert len(pairs) >= 100
    wrong = [
        (vector["text"], result["kinds"], result["text"])
        for vector, result in pairs
        if result["kinds"] != vector["kinds"] or result["text"] != vector["masked"]
    ]
    assert wrong == []


def test_the_browser_flags_nothing_the_server_leaves(browser_results: list[dict[str, Any]]) -> None:
    pairs = _pairs(browser_results, lambda v: not v["kinds"])
    assert len(pairs) >= 60
    assert [(vector["text"], result["kinds"]) for vector, result in pairs if result["kinds"]] == []


def test_the_browser_finds_its_kinds_in_the_other_vectors(browser_results: list[dict[str, Any]]) -> None:
    """Full-width digits, cards with their expiry and code beside them..."""
    browser_kinds = set(VECTORS["browser_kinds"])
    missed = [
        (vector["text"], result["kinds"])
        for vector, result in _pairs(browser_results, lambda v: not v.get("browser"))
        if not browser_kinds & set(vector["kinds"]) <= set(result["kinds"])
    ]
    assert missed == []


def test_findings_are_spans_of_the_text_in_order(browser_results: list[dict[str, Any]]) -> None:
    """The widget selects a finding's span in the textarea when the customer chooses "Edit"."""
    for vector, result in zip(VECTORS["vectors"], browser_results, strict=True):
        at = 0
        for finding in result["findings"]:
            assert at <= finding["start"] < finding["end"] <= len(vector["text"].encode("utf-16-le")) // 2
            assert len(finding["masked"]) <= finding["end"] - finding["start"]
            at = finding["end"]
