"""The console with the keyboard alone (README "Accessibility"): Tab reaches every control of every
console page (the main ones first: home, alerts, an alert, the rule form, rules, channels) in the
order they are read, each with a focus ring that shows (3:1 against its surroundings); nothing that
looks clickable is out of reach; the skip link leads to the content; the menus (user menu, Snooze)
and the rule form's dialog open with Enter and close with Escape, giving the focus back; the bell
is a link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Alert
from rules.models import Rule
from tests.browser import test_accessibility as a11y
from tests.browser import test_console_flow as flow
from tests.browser.test_accessibility import Seeded, page_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

rules_and_channels = flow.rules_and_channels
console_data = flow.console_data
open_alert = flow.open_alert
seeded = a11y.seeded  # one object of every kind a console page shows

# Records, for each element that takes the focus, its place in the document and whether it shows a
# focus indicator (an outline or a box-shadow) while focused. An init script: the CSP does not apply.
FOCUS_RECORDER = """
window.__focusLog = [];
document.addEventListener("focusin", (event) => {
  const el = event.target, style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "none";
  window.__focusLog.push({
    key: Array.prototype.indexOf.call(document.getElementsByTagName("*"), el),
    name: window.__describe(el),
    indicator: outline || shadow,
    contrast: outline ? window.__ringContrast(el, style.outlineColor) : null,
  });
}, true);
// The outline's contrast with what shows just outside it: the first painted background under the
// middle of the ring's top edge (the element itself and what it holds left out).
window.__ringContrast = (el, color) => {
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const painted = (node) => { const c = rgba(getComputedStyle(node).backgroundColor); return c.length === 3 || c[3] > 0.5; };
  const box = el.getBoundingClientRect();
  const under = document.elementsFromPoint(box.left + box.width / 2, box.top - 3.5)
    .filter((node) => node !== el && !el.contains(node));
  const ground = under.find(painted) || [...(function* () { for (let up = el.parentElement; up; up = up.parentElement) yield up; })()].find(painted);
  const [a, b] = [luminance(rgba(color)), luminance(ground ? rgba(getComputedStyle(ground).backgroundColor) : [255, 255, 255])];
  return Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 10) / 10;
};
window.__describe = (el) => {
  const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim().replace(/\\s+/g, " ");
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? `[name=${el.name}]` : "")
    + (text ? ` "${text.slice(0, 40)}"` : "");
};
"""

# The elements Tab should reach, in document order: enabled, rendered controls and links, one radio
# per group, nothing inside a closed <details> but its summary, nothing with a negative tabindex.
TABBABLE = """() => {
  const all = document.getElementsByTagName("*");
  const selector = "a[href], button, input, select, textarea, summary, iframe, [tabindex], [contenteditable=true]";
  const groups = new Map();
  const reachable = [...document.querySelectorAll(selector)].filter((el) => {
    if (el.disabled || el.tabIndex < 0 || el.closest("[inert]")) return false;
    if (el.matches("input[type=hidden]")) return false;
    if (!el.checkVisibility({ visibilityProperty: true })) return false;
    if (el.matches("summary") && el.parentElement.tagName !== "DETAILS") return false;
    const closed = el.closest("details:not([open])");
    if (closed && !(el.matches("summary") && el.parentElement === closed)) return false;
    if (el.matches("input[type=radio]") && el.name) {
      const group = el.form ? `${el.name}@${[...document.forms].indexOf(el.form)}` : el.name;
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(el);
      return false;
    }
    return true;
  });
  for (const radios of groups.values()) reachable.push(radios.find((r) => r.checked) || radios[0]);
  const keyed = reachable.map((el) => ({ key: Array.prototype.indexOf.call(all, el), name: window.__describe(el) }));
  return keyed.sort((a, b) => a.key - b.key);
}"""

# Elements drawn as clickable (a pointer cursor) that neither take the focus nor sit inside (or
# label) something that does: a mouse-only action.
POINTER_ONLY = """() => {
  const focusable = "a[href], button, input, select, textarea, summary, label, [tabindex]:not([tabindex='-1'])";
  return [...document.querySelectorAll("body *")]
    .filter((el) => getComputedStyle(el).cursor === "pointer" && el.checkVisibility())
    .filter((el) => !el.closest(focusable))
    .map((el) => window.__describe(el)).slice(0, 10);
}"""
IN_DATE_FIELD = "() => document.activeElement.matches('input[type=date], input[type=time], input[type=datetime-local]')"
MIN_RING_CONTRAST = 3.0  # WCAG 1.4.11, non-text contrast
POSITIVE_TABINDEX = "() => [...document.querySelectorAll('[tabindex]')].filter((el) => el.tabIndex > 0).length"


@pytest.fixture
def admin_page(page: Page, login: Callable[..., None], make_user: Callable[..., Any]) -> Page:
    page.context.add_init_script(FOCUS_RECORDER)
    login(page, make_user("admin"))
    return page


def tab_through(page: Page, url: str) -> list[str]:
    """Open `url`, press Tab once per control it should reach, and say what went wrong."""
    page.goto(url)
    page.wait_for_load_state("load")
    if page.locator("[hx-trigger^='load']").count():
        page.wait_for_load_state("networkidle")  # the rule preview arrives after the page: let it settle
    return focus_problems(page)


def focus_problems(page: Page) -> list[str]:
    """From the top of the page as it is, Tab through it and list what is out of order, out of
    reach or focused invisibly."""
    page.evaluate("document.activeElement && document.activeElement.blur(); window.__focusLog = []")
    expected = page.evaluate(TABBABLE)
    reached: list[dict[str, Any]] = []
    # A date or time field takes one Tab per part (day, month, year, ...) without a new focus, so
    # Tab again for what is still missing until nothing moves (a keyboard trap would stop it here).
    for _round in range(20):
        if len(reached) >= len(expected):
            break
        for _ in range(len(expected) - len(reached)):
            page.keyboard.press("Tab")
        before, reached = len(reached), page.evaluate("window.__focusLog")
        if len(reached) == before and not page.evaluate(IN_DATE_FIELD):
            break
    problems: list[str] = []
    got = [entry["key"] for entry in reached]
    want = [entry["key"] for entry in expected]
    if got != want:
        names = {entry["key"]: entry["name"] for entry in [*expected, *reached]}
        at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        problems.append(
            f"Tab #{at + 1} reached {names.get(got[at]) if at < len(got) else 'nothing'}, expected "
            f"{names.get(want[at]) if at < len(want) else 'nothing'} ({len(got)} of {len(want)} reached)"
        )
    problems += [f"no visible focus on {entry['name']}" for entry in reached if not entry["indicator"]]
    problems += [
        f"focus ring contrast {entry['contrast']}:1 on {entry['name']}"
        for entry in reached
        if entry["contrast"] is not None and entry["contrast"] < MIN_RING_CONTRAST
    ]
    problems += [f"clickable but not reachable by keyboard: {name}" for name in page.evaluate(POINTER_ONLY)]
    if page.evaluate(POSITIVE_TABINDEX):
        problems.append("a positive tabindex reorders the page")
    return problems


def test_tab_reaches_every_control_of_every_console_page_in_order_with_a_visible_focus(
    admin_page: Page, seeded: Seeded
) -> None:
    """The main pages first (home, alerts, an alert, the rule form, rules, channels), then the rest."""
    main = [
        "/",
        "/insights/alerts/",
        f"/insights/alerts/{seeded.alert.pk}/",
        f"/insights/alerts/rules/{seeded.rule.pk}/edit/",
        "/insights/alerts/rules/",
        "/settings/notification-channels/",
    ]
    pages = main + [url for url in page_urls(seeded) if url not in main]
    report = {url: found for url in pages if (found := tab_through(admin_page, url))}
    assert not report, "\n".join(f"{url}\n    " + "\n    ".join(found) for url, found in report.items())


def test_the_checks_fail_on_an_invisible_focus_a_mouse_only_control_and_a_positive_tabindex(
    admin_page: Page,
) -> None:
    page = admin_page
    page.goto("/")
    # Through the CSSOM and the DOM, which the CSP allows, not an inline style attribute in markup.
    page.evaluate(
        """() => {
      const main = document.querySelector("main");
      const plain = main.appendChild(document.createElement("button"));
      plain.textContent = "No ring"; plain.id = "no-ring"; plain.style.outline = "none";
      const faint = main.appendChild(document.createElement("button"));
      faint.textContent = "Faint ring"; faint.style.outlineColor = "#dddddd";
      const div = main.appendChild(document.createElement("div"));
      div.textContent = "Mouse only"; div.style.cursor = "pointer";
      const jump = main.appendChild(document.createElement("a"));
      jump.href = "#"; jump.textContent = "Jumps the queue"; jump.tabIndex = 2;
    }"""
    )
    problems = focus_problems(page)
    assert any(problem.startswith("Tab #1 reached a") and "Jumps the queue" in problem for problem in problems)
    assert 'no visible focus on button#no-ring "No ring"' in problems
    assert any(problem.startswith("focus ring contrast 1.") and "Faint ring" in problem for problem in problems)
    assert 'clickable but not reachable by keyboard: div "Mouse only"' in problems
    assert "a positive tabindex reorders the page" in problems


def test_the_skip_link_comes_first_shows_itself_and_moves_the_focus_to_the_content(admin_page: Page) -> None:
    page = admin_page
    page.goto("/insights/alerts/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is the page's first control, not the top bar again
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_the_user_menu_opens_with_enter_and_escape_closes_it(admin_page: Page) -> None:
    page = admin_page
    page.goto("/")
    menu = page.locator("details.user-menu")
    summary = menu.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Django admin")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    page.keyboard.press("Space")  # Space opens it too; tabbing out of it closes it
    expect(menu).to_have_attribute("open", "")
    for _ in range(4):  # Django admin, API docs, Sign out, then out of the menu
        page.keyboard.press("Tab")
    expect(menu).not_to_have_attribute("open", "")


@pytest.mark.usefixtures("rules_and_channels")
def test_the_snooze_menu_opens_with_the_keyboard_and_escape_closes_it(admin_page: Page) -> None:
    page = admin_page
    page.goto("/insights/alerts/rules/")
    row = page.get_by_role("row").filter(has_text="Admin TOTP disabled")
    menu = row.get_by_test_id("snooze-menu")
    summary = menu.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(menu.get_by_label("Note")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()


def test_the_bell_is_a_link_the_keyboard_follows(admin_page: Page, open_alert: Alert) -> None:
    page = admin_page
    page.goto("/")
    bell = page.get_by_role("link", name="Alerts: 1 open")
    bell.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url("/insights/alerts/?status=open&snoozed=false")


@pytest.mark.usefixtures("rules_and_channels")
def test_the_switch_dialog_opens_with_the_keyboard_escape_closes_it_and_the_focus_returns(admin_page: Page) -> None:
    page = admin_page
    rule = Rule.objects.get(name="Admin TOTP disabled")
    page.goto(f"/insights/alerts/rules/{rule.pk}/edit/")
    entry = page.locator("#conditions li[data-entry='admin_totp_disable']")
    entry.get_by_role("button", name="+ Add", exact=True).focus()
    page.keyboard.press("Enter")
    opener = entry.get_by_role("button", name="Switch to Expression Language")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Switch to Expression Language?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Switch", exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
