"""The supervisor console in a real browser: rules editing end to end, viewer limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, open_page

pytestmark = pytest.mark.browser

NEW_RULE = """\
- name: refunds
  description: Refund requests go straight to billing.
  when: interaction.summary.contains("refund") && customer.tier > 3
  then:
    queue: billing
    priority: 8
    tags:
    - refunds
"""


def log_in(context: Any, server: Server, token: str, errors: list[str]) -> Any:
    page = open_page(context, f"{server.url}/console", errors)
    page.get_by_label("Supervisor or viewer token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "open")
    return page


def with_new_rule(published: str, rule: str) -> str:
    head, sep, tail = published.partition("rules:\n")
    assert sep, "canonical YAML has a top-level rules: list"
    return head + sep + rule + tail


def test_supervisor_edits_validates_dry_runs_publishes_and_routing_follows(
    server: Server, context: Any, shots: Path, page_errors: list[str],
) -> None:
    page = log_in(context, server, "demo-supervisor-token", page_errors)
    expect(page.locator("#role-badge")).to_have_text("supervisor")
    page.screenshot(path=shots / "board.png", full_page=True)

    page.get_by_role("tab", name="Rules").click()
    expect(page.locator("#published-title")).to_have_text("Published v1")
    draft = page.locator("#draft-yaml")
    expect(draft).not_to_have_value("")

    # A type error (string compared with an int) is reported at its rule, line, column.
    broken = with_new_rule(draft.input_value(), NEW_RULE)
    line = broken.splitlines().index('  when: interaction.summary.contains("refund") && '
                                     "customer.tier > 3") + 1
    draft.fill(broken)
    page.get_by_role("button", name="Validate").click()
    finding = page.locator(".findings li.error").first
    expect(finding).to_contain_text(f"line {line}, column")
    expect(finding).to_contain_text("rule “refunds”")
    expect(finding).to_have_attribute("data-line", str(line))
    expect(page.locator(f'#draft-yaml-editor .gutter [data-line="{line}"]')).to_have_class("error")
    expect(page.locator(f'#draft-yaml-editor .band[data-line="{line}"]')).to_have_count(1)
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_enabled()
    finding.get_by_role("button", name=f"Go to line {line}").click()
    caret_line = page.evaluate(
        "() => { const t = document.querySelector('#draft-yaml');"
        " return t.value.slice(0, t.selectionStart).split('\\n').length; }")
    assert caret_line == line
    page.screenshot(path=shots / "rules-type-error.png", full_page=True)

    # Fixed: valid, and a dry-run of a refund request matches the new first rule.
    draft.fill(broken.replace(" && customer.tier > 3", ""))
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#findings")).to_contain_text("Valid")
    form = page.locator("#dryrun-form")
    form.get_by_label("Channel").select_option("chat")
    form.get_by_label("Customer message").fill("I want a refund for order 81")
    form.get_by_role("button", name="Dry-run").click()
    expect(page.locator("#dryrun-match")).to_contain_text("refunds")
    expect(page.locator("#dryrun-result table.plan")).to_contain_text("billing")
    # Something that is not a refund shows why each rule before the match did not apply.
    form.get_by_label("Customer message").fill("hola")
    form.get_by_label("Language").fill("es")
    form.get_by_role("button", name="Dry-run").click()
    expect(page.locator("#dryrun-match")).to_contain_text("spanish")
    expect(page.locator('#dryrun-result tr[data-outcome="false"]').first).to_contain_text(
        "refunds")
    page.screenshot(path=shots / "rules-dry-run.png", full_page=True)

    page.get_by_label("Publish comment").fill("refund requests to billing")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#publish-result")).to_contain_text("Published v2")
    expect(page.locator("#published-title")).to_have_text("Published v2")

    # The next interaction is classified by the rule just published.
    with server.api("demo-ingest") as ingest:
        accepted = ingest.post("/interactions", json={
            "channel": "chat", "idempotency_key": "browser-refund-1",
            "summary": "Where is my refund?"})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["rule"] == "refunds"
    assert accepted.json()["rule_version"] == 2

    page.get_by_role("button", name="Diff v1→v2").click()
    expect(page.locator("#versions-detail .diff-add").first).to_be_visible()
    expect(page.locator("#versions-detail")).to_contain_text("name: refunds")

    # Someone else publishes v3; publishing the v2-based edit is refused and explained.
    with server.api("demo-supervisor") as other:
        theirs = other.post("/rules/publish?comment=night%20shift", content=draft.input_value()
                            .replace("priority: 8", "priority: 9"),
                            headers={"Content-Type": "application/yaml", "If-Match": '"2"'})
    assert theirs.status_code == 201, theirs.text
    page.get_by_role("button", name="Publish", exact=True).click()
    conflict = page.locator("#conflict-notice")
    expect(conflict).to_contain_text("v3 was published by demo-supervisor")
    expect(conflict).to_contain_text("night shift")
    expect(page.locator("#published-title")).to_have_text("Published v3")
    page.screenshot(path=shots / "rules-conflict.png", full_page=True)

    # Roll back to v1: a new version v4 equal to v1.
    page.locator('tr[data-version="1"]').get_by_role("button", name="Roll back to v1").click()
    expect(page.locator("#published-title")).to_have_text("Published v4")
    assert page_errors == []


def test_viewer_sees_rules_but_cannot_publish(
    server: Server, context: Any, shots: Path, page_errors: list[str],
) -> None:
    page = log_in(context, server, "demo-viewer-token", page_errors)
    expect(page.locator("#role-badge")).to_have_text("viewer (read-only)")
    page.get_by_role("tab", name="Rules").click()
    expect(page.locator("#published-title")).to_have_text("Published v1")
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Save draft")).to_be_disabled()
    expect(page.get_by_label("Publish comment")).to_be_disabled()
    expect(page.get_by_role("button", name="Validate")).to_be_enabled()
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#findings")).to_contain_text("Valid")
    page.screenshot(path=shots / "viewer-rules.png", full_page=True)

    # The controls are only a courtesy: the API itself refuses the viewer's token.
    status = page.evaluate("""async () => {
        const res = await fetch('/rules/publish', {method: 'POST', headers: {
            Authorization: 'Bearer demo-viewer-token', 'Content-Type': 'application/yaml',
            'If-Match': '"1"'}, body: document.querySelector('#draft-yaml').value});
        return res.status; }""")
    assert status == 403

    page.get_by_role("tab", name="Teams & agents").click()
    expect(page.locator('tr[data-agent="alice"] select')).to_be_disabled()
    expect(page.get_by_role("button", name="Edit alice")).to_be_disabled()
    expect(page.get_by_role("button", name="Save SLA policies")).to_be_disabled()
    page.get_by_role("tab", name="What-if").click()
    expect(page.locator("#whatif-body")).not_to_contain_text("Looking for")
    # A viewer may run the what-if (nothing changes): the editor's text, one hour.
    page.get_by_label("Hours").fill("1")
    page.get_by_role("button", name="Compare").click()
    row = page.locator('#whatif-result tr[data-team="csr"][data-channel="chat"]')
    expect(row.locator("td.published")).to_contain_text("%")
    expect(row.locator("td.draft")).to_contain_text("%")
    expect(row.locator("td.delta")).to_have_text("±0 pts")  # editor text = published
    expect(page.locator("#whatif-result thead")).to_contain_text("published v1")
    page.screenshot(path=shots / "viewer-whatif.png", full_page=True)
    assert page_errors == []


def test_supervisor_fixes_staffing_and_sla_from_the_console(
    server: Server, context: Any, shots: Path, page_errors: list[str],
) -> None:
    page = log_in(context, server, "demo-supervisor-token", page_errors)
    page.get_by_role("tab", name="Teams & agents").click()
    alice = page.locator('tr[data-agent="alice"]')
    expect(alice).to_contain_text("offline")

    alice.get_by_label("Presence for alice").select_option("available")
    alice.get_by_role("button", name="Set").click()
    expect(page.locator('tr[data-agent="alice"]')).to_contain_text("available")

    page.get_by_role("button", name="Edit alice").click()
    editor = page.get_by_role("form", name="Edit alice")
    editor.get_by_label("Skills").fill("billing:5, english:5, spanish:4")
    editor.get_by_label("Capacity").fill("voice:1, chat:2, sms:3, social:3, email:5")
    editor.get_by_role("button", name="Save agent").click()
    expect(page.locator('tr[data-agent="alice"]')).to_contain_text("spanish 4")
    expect(page.locator('tr[data-agent="alice"]')).to_contain_text("chat 0/2")

    threshold = page.get_by_label("answer within (s) for csr voice", exact=False).first
    threshold.fill("25")
    page.get_by_role("button", name="Save SLA policies").click()
    expect(page.locator("#topology-status")).to_contain_text("SLA policies saved")
    page.screenshot(path=shots / "topology.png", full_page=True)

    with server.api("demo-supervisor") as api:
        agent = api.get("/agents/alice").json()
        policies = api.get("/sla/policies").json()
    assert agent["skills"] == {"billing": 5, "english": 5, "spanish": 4}
    assert agent["capacity"]["chat"] == 2
    assert agent["presence"] == "available"
    voice = [p for p in policies if p["team"] == "csr" and p["channel"] == "voice"]
    assert voice[0]["threshold"] == 25
    assert page_errors == []
