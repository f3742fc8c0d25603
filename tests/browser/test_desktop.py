"""The agent desktop in a real browser, with the supervisor's live board watching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, open_page
from tests.browser.test_console import log_in as console_log_in

pytestmark = pytest.mark.browser


def desktop_log_in(context: Any, server: Server, agent: str, errors: list[str]) -> Any:
    page = open_page(context, f"{server.url}/desktop", errors)
    page.get_by_label("Agent id").fill(agent)
    page.get_by_label("Agent token").fill(f"demo-agent-{agent}-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#offers-state")).to_have_attribute("data-state", "open")
    return page


def ingest(server: Server, key: str, **fields: Any) -> str:
    with server.api("demo-ingest") as client:
        res = client.post("/interactions", json={"channel": "chat", "idempotency_key": key,
                                                 **fields})
    assert res.status_code == 202, res.text
    return str(res.json()["interaction_id"])


def test_agent_takes_a_pushed_chat_to_completion_and_the_board_follows(
    server: Server, context: Any, shots: Path, page_errors: list[str],
) -> None:
    board = console_log_in(context, server, "demo-supervisor-token", page_errors)
    expect(board.locator('[data-tile="completed"] .value')).to_have_text("0")

    desk = desktop_log_in(context, server, "alice", page_errors)
    expect(desk.locator("#agent-name")).to_have_text("Alice Martin")
    expect(desk.locator("#presence-badge")).to_have_attribute("data-presence", "offline")
    desk.get_by_label("Status").select_option("available")
    desk.get_by_role("button", name="Set presence").click()
    expect(desk.locator("#presence-badge")).to_have_attribute("data-presence", "available")

    iid = ingest(server, "browser-push-1", summary="My parcel never arrived",
                 customer_id="c-chloe-martin")
    offer = desk.locator(f'article[data-id="{iid}"]')
    expect(offer).to_have_attribute("data-status", "reserved")
    expect(offer).to_contain_text("My parcel never arrived")
    # The customer's profile is on the card.
    profile = offer.locator("section.customer")
    expect(profile).to_have_attribute("data-tier", "standard")
    expect(profile.locator('dd[data-field="name"]')).to_have_text("Chloé Martin")
    expect(profile.locator('dd[data-field="segment"]')).to_have_text("consumer")
    expect(offer.locator(".countdown")).to_contain_text("s to answer")
    desk.screenshot(path=shots / "desktop-offer.png", full_page=True)

    offer.get_by_role("button", name="Accept").click()
    expect(offer).to_have_attribute("data-status", "assigned")
    expect(desk.locator('.cap[data-channel="chat"]')).to_contain_text("1 / 3")
    offer.get_by_role("button", name="Wrap up").click()
    expect(offer).to_have_attribute("data-status", "wrap_up")
    # Wrap-up shows on the badge; the Status selector keeps what she set.
    expect(desk.locator("#presence-badge")).to_have_attribute("data-presence", "wrap_up")
    expect(desk.get_by_label("Status")).to_have_value("available")
    offer.get_by_label("Disposition").select_option("resolved")
    desk.screenshot(path=shots / "desktop-wrap-up.png", full_page=True)
    offer.get_by_role("button", name="Complete", exact=True).click()
    expect(offer).to_have_count(0)
    expect(desk.locator('.cap[data-channel="chat"]')).to_contain_text("0 / 3")

    # The board heard it over /events without a reload.
    expect(board.locator('[data-tile="completed"] .value')).to_have_text("1")
    expect(board.locator('#event-log li[data-kind="completed"]')).to_contain_text(iid)
    board.screenshot(path=shots / "board-after.png", full_page=True)
    assert page_errors == []


def pull_mode_desk(context: Any, server: Server, page_errors: list[str]) -> Any:
    """Alice's desktop, logged in available with pushed offers off (she pulls)."""
    desk = desktop_log_in(context, server, "alice", page_errors)
    desk.get_by_label("Status").select_option("available")
    desk.get_by_label("Push offers to me").uncheck()
    desk.get_by_role("button", name="Set presence").click()
    expect(desk.locator("#presence-badge")).to_have_attribute("data-presence", "available")
    return desk


def test_agent_pulls_with_next_and_rejects(
    server: Server, context: Any, shots: Path, page_errors: list[str],
) -> None:
    desk = pull_mode_desk(context, server, page_errors)
    iid = ingest(server, "browser-pull-1", summary="Can I change my plan?")
    desk.get_by_role("button", name="Next").click()
    card = desk.locator(f'article[data-id="{iid}"]')
    expect(card).to_have_attribute("data-status", "reserved")
    card.get_by_role("button", name="Reject").click()
    expect(card).to_have_count(0)

    desk.get_by_label("Status").select_option("not_ready")
    desk.get_by_label("Reason code").select_option("training")
    desk.get_by_role("button", name="Set presence").click()
    expect(desk.locator("#presence-badge")).to_have_text("not ready (training)")
    desk.screenshot(path=shots / "desktop-not-ready.png", full_page=True)
    assert page_errors == []


def test_complete_and_next_takes_the_next_interaction_from_the_card(
    server: Server, context: Any, page_errors: list[str],
) -> None:
    desk = pull_mode_desk(context, server, page_errors)
    first = ingest(server, "browser-chain-1", summary="First in line")
    second = ingest(server, "browser-chain-2", summary="Second in line")
    desk.get_by_role("button", name="Next").click()
    card = desk.locator(f'article[data-id="{first}"]')
    card.get_by_role("button", name="Accept").click()
    expect(card).to_have_attribute("data-status", "assigned")
    card.get_by_role("button", name="Complete & next").click()
    expect(card).to_have_count(0)
    expect(desk.locator(f'article[data-id="{second}"]')).to_have_attribute(
        "data-status", "reserved")
    assert page_errors == []
