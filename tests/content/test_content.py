"""The real content: it loads, every message fits in a Telegram message, every link is
https, and no text writes a phone number or web address itself (they live in routes).

Broken content (each kind of mistake and where it is reported) is in test_broken.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.content.text import render_node_text, render_response
from tests.support import REPO

TELEGRAM_LIMIT = 4096


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


# ---------------------------------------------------------------- the real content


def test_real_content_validates(content) -> None:
    assert content.responses and content.intents and content.flows and content.routes


def test_every_response_renders_within_telegram_limit(content) -> None:
    for resp in content.responses.values():
        size = len(render_response(content, resp))
        assert size <= TELEGRAM_LIMIT, f"response {resp.id} renders to {size} characters"
    for flow in content.flows.values():
        for node in flow.nodes.values():
            size = len(render_node_text(content, node, None))
            assert size <= TELEGRAM_LIMIT, f"{flow.id}/{node.id} renders to {size} characters"


def _raw(folder: str, top_key: str) -> dict:
    out: dict = {}
    for path in _yaml_files(REPO / folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get(top_key), dict):
            out.update(data[top_key])
    return out


def test_every_route_url_is_https() -> None:
    routes = _raw("responses", "routes")
    assert routes, "no routes found in responses/"
    urls = {rid: r["url"] for rid, r in routes.items() if r.get("url")}
    assert urls, "no route has a url"
    for rid, url in urls.items():
        assert str(url).startswith("https://"), f"route {rid}: {url}"


def _all_texts() -> list[tuple[str, str]]:
    """(where, text) for every response text and every flow node / section text."""
    out = [
        (f"response {rid}", r.get("text") or "")
        for rid, r in _raw("responses", "responses").items()
    ]
    for fid, flow in _raw("flows", "flows").items():
        for nid, node in (flow.get("nodes") or {}).items():
            out.append((f"flow {fid}/{nid}", node.get("text") or ""))
            for i, section in enumerate(node.get("sections") or []):
                out.append((f"flow {fid}/{nid} section {i}", section.get("text") or ""))
    return out


URLISH = re.compile(r"https?://|\bwww\.|\b[\w-]+\.(?:org|com|uk|net|gov|police)\b|@[\w-]+\.")
PHONEISH = re.compile(r"\b0\d{2,4} ?\d{3} ?\d{3,4}\b|\b999\b|\b101\b|\b111\b|\b116 ?123\b")


def test_no_text_writes_a_phone_number_or_url() -> None:
    """Numbers and links live in routes.yaml; texts insert them with {route_id}."""
    routes = _raw("responses", "routes")
    phones = {" ".join(str(r["phone"]).split()) for r in routes.values() if r.get("phone")}
    texts = _all_texts()
    assert len(texts) > 30
    for where, text in texts:
        bare = re.sub(r"\{[a-z0-9_]+\}", "", text)
        flat = " ".join(bare.split())
        assert not URLISH.search(bare), f"{where} writes a web address: {URLISH.search(bare)}"
        assert not PHONEISH.search(bare), f"{where} writes a number: {PHONEISH.search(bare)}"
        for phone in phones:
            assert not re.search(rf"(?<!\d){re.escape(phone)}(?!\d)", flat), (
                f"{where} writes the phone number {phone}"
            )
