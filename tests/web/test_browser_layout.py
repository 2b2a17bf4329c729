"""Every page of the portal in Chromium at the sizes people use, failing on sideways overflow.

Administrator pages are opened at 1366×900 (a laptop), 1920×1080 and 390×844 (a phone, in the same
page object: no extra context or server); the member pages at 390×844; the sign-in,
forgotten-password and link pages at all three. A page fails when the document is wider than the
window, when any visible element ends beyond the window's right edge or starts left of its left edge
(also when an ancestor's hidden overflow cuts it off), or when anything inside the page scrolls
sideways (a table scrolling inside its card counts: wide tables must wrap or stack, not scroll).

The pages come from the application's own routes: every GET route is either opened here (with a
concrete address made from the seeded state) or listed in :data:`SKIPPED` with the reason, so a new
page cannot be forgotten. Screenshots of every page at every size land in the artifacts folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select
from tests.web.conftest import _free_port, browser
from tests.web.conftest_b import PASSWORD, World, post_form, wait_for_run, world

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.services.integrations import create_integration
from hrsync.services.scim import create_scim_integration, start_scim_integration
from hrsync.sources.membership_file.kind import KIND as MEMBERSHIP_FILE
from hrsync.sources.registry import REGISTRY
from hrsync.store import session_factory, session_scope
from hrsync.store.models import AdminUser, ImportRun, Member, OutboxEmail, Programme
from hrsync.web.member_portal import ACCOUNT_PAGES, PROGRAMME_PAGES

__all__ = ["browser", "world"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = (1366, 900)
DESKTOP = (1920, 1080)
PHONE = (390, 844)
ADMIN_SIZES = (LAPTOP, DESKTOP, PHONE)
MEMBER_SIZES = (PHONE,)
SIGN_IN_SIZES = (PHONE, LAPTOP, DESKTOP)

# GET routes that are not pages a person reads, each with the reason.
SKIPPED: dict[str, str] = {
    # the JSON API, its schema and its documentation (a third-party UI, tested on its own)
    "/api/v1/openapi.json": "API schema (JSON)",
    "/scim/v2/ResourceTypes": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/ResourceTypes/{name}": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/Schemas": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/Schemas/{urn}": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/ServiceProviderConfig": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/Users": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/Users/{user_id}": "SCIM JSON for identity providers (tests/scim)",
    "/scim/v2/{rest:path}": "SCIM JSON for identity providers (tests/scim)",
    "/api/docs": "Swagger UI of the JSON API (tests/web/test_browser_api_docs.py)",
    "/docs": "redirects to /api/docs",
    "/api/v1/integrations": "API JSON",
    "/api/v1/integrations/{integration_id}": "API JSON",
    "/api/v1/integrations/{integration_id}/runs": "API JSON",
    "/api/v1/integrations/{integration_id}/trace": "API JSON",
    "/api/v1/runs/{run_id}": "API JSON",
    "/api/v1/runs/{run_id}/errors.csv": "API download",
    "/api/v1/runs/{run_id}/warnings.csv": "API download",
    "/api/v1/members": "API JSON",
    "/api/v1/members/{member_id}": "API JSON",
    # operations endpoints
    "/healthz": "health check (JSON)",
    "/readyz": "readiness check (JSON)",
    "/metrics": "Prometheus metrics (text)",
    # downloads and JSON the pages' scripts fetch
    "/integrations/{integration_id}/runs/{run_id}/errors.csv": "download",
    "/integrations/{integration_id}/runs/{run_id}/warnings.csv": "download",
    "/integrations/{integration_id}/runs/{run_id}/progress": "the progress bar's JSON",
    "/integrations/{integration_id}/authorize/{setting}": "the authorize dialog's JSON (a setting's live preview)",
    "/integrations/{integration_id}/setup/mapping/values": "the mapping step's JSON (a scoping rule's suggested "
                                                           "values; test_browser_scoping.py)",
    "/integrations/{integration_id}/setup/settings": "the Connect step: test_browser_bamboohr.py and the throwaway "
                                                     "kind's browser test check it at 1366x900 and 390x844",
    "/members/export.csv": "download",
    # redirects to a page opened here under its own address
    "/": "redirects to /integrations",
    "/integrations/{integration_id}/setup": "redirects to the wizard's current step",
    "/tokens": "redirects to /settings/api-tokens",
    "/sent-emails": "redirects to /emails",
    "/member": "redirects to /me",
}


def get_routes(app: Any) -> set[str]:
    """The paths of every GET route of the application (included routers flattened)."""

    def walk(routes: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a mounted sub-app
                continue
            else:
                yield prefix + getattr(route, "path", ""), route

    return {path for path, route in walk(app.routes, "") if "GET" in (getattr(route, "methods", None) or ())}


# ------------------------------------------------------------------------------------------------
# the overflow check, run in the page
# ------------------------------------------------------------------------------------------------

OVERFLOW_JS = """
() => {
  const root = document.documentElement;
  const edge = root.clientWidth;
  const problems = [];
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`the page is ${root.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.classList.length) s += '.' + [...el.classList].join('.');
    const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
    return text ? `${s} "${text}"` : s;
  };
  // inside a scrolling container the element is reported as that container's sideways scroll;
  // a hidden or clipped overflow hides it (cut off), so it is still reported
  const insideScroller = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const reported = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.closest('.visually-hidden, .skip-link')) continue;
    const formControl = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
    if (!formControl && ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} scrolls sideways: ${el.scrollWidth}px of content in ${el.clientWidth}px`);
    }
    if ((box.right > edge + 1 || box.left < -1) && !insideScroller(el)) {
      reported.add(el);
      if (!reported.has(el.parentElement)) {
        problems.push(box.right > edge + 1
          ? `${name(el)} ends at ${Math.round(box.right)}px, beyond the ${edge}px window`
          : `${name(el)} starts at ${Math.round(box.left)}px, left of the window`);
      }
    }
  }
  return problems;
}
"""


def overflow_of(page: Any) -> list[str]:
    return list(page.evaluate(OVERFLOW_JS))


def shots_at_both_sizes(page: Any, folder: Path, name: str) -> None:
    """Full-page screenshots of ``page`` at 1366x900 and 390x844 (``<name>-<width>x<height>.png``), each
    checked for sideways overflow, then back at 1366x900. A wide table may scroll inside its own frame on a
    phone (as on every list page); nothing else may."""
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{width}x{height}.png"), full_page=True)
        problems = [p for p in overflow_of(page) if not p.startswith("div.table-wrap")]
        assert problems == [], (name, width, problems)
    page.set_viewport_size({"width": 1366, "height": 900})


def slug(url: str) -> str:
    """A file name for a page's screenshot; a single-use link's token (a long path segment) is
    left out, so no secret lands in the artifacts, even a test's."""
    shown = re.sub(r"([/=])[A-Za-z0-9_\-]{32,}", r"\1link", url)
    return re.sub(r"[^A-Za-z0-9]+", "-", shown).strip("-")[:80] or "root"


def check_pages(context: Any, urls: list[str], sizes: tuple[tuple[int, int], ...], folder: Path,
                prefix: str, failures: list[str]) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for url in urls:
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{url}: {response and response.status}"
            assert not errors, f"{url}: script errors {errors}"
            page.screenshot(path=str(folder / f"{prefix}-{width}x{height}-{slug(url)}.png"), full_page=True)
            failures.extend(f"{url} at {width}×{height}: {problem}" for problem in overflow_of(page))
    page.close()


# ------------------------------------------------------------------------------------------------
# the seeded state
# ------------------------------------------------------------------------------------------------


def _outbox_link(kind: str, to: str, pattern: str) -> str:
    with session_factory()() as session:
        bodies = list(session.scalars(select(OutboxEmail.body_text).where(
            OutboxEmail.kind == kind, OutboxEmail.to_address == to).order_by(OutboxEmail.id.desc())))
    for body in bodies:
        match = re.search(pattern, body or "")
        if match:
            return match.group(0)
    raise AssertionError(f"no {kind} e-mail with a link to {to}")


def _invitation_link(programme_id: int) -> tuple[str, str]:
    """(member e-mail, /welcome/<token>) of an invitation as the member receives it over SMTP."""
    with MailCatcher("127.0.0.1", _free_port()) as mail:
        send_due(session_factory(), smtp_url=mail.url, limit=100_000)
        for message in mail.messages:
            match = re.search(r"/welcome/[A-Za-z0-9_\-]{20,}", message.text())
            if (message.message.get("X-Hrsync-Kind") == "invitation" and match
                    and message.message.get("X-Hrsync-Programme") == str(programme_id)):
                return message.recipients[0], match.group(0)
    raise AssertionError("no invitation was sent")


def _sign_in_admin(context: Any, base_url: str, email: str) -> None:
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")
    page.close()


def test_no_page_overflows_at_laptop_desktop_and_phone_sizes(world: World, browser: Any,
                                                             artifacts_dir: Path) -> None:
    acme = world.acme
    integration = acme.integration_id
    run_id = acme.run_ids[0]
    admin = world.admin_client(acme)
    with session_scope() as session:
        programme = session.get(Programme, acme.programme_id)
        owner = session.get(AdminUser, acme.admin_id)
        assert programme is not None and owner is not None
        file_integration = create_integration(session, programme, owner, kind=MEMBERSHIP_FILE.kind).id
        scim_live = create_scim_integration(session, programme, owner, label="Entra ID, head office")[0].id
        scim_draft = start_scim_integration(session, programme, owner).id
        member = session.scalars(select(Member).where(Member.programme_id == acme.programme_id)
                                 .order_by(Member.id)).first()
        assert member is not None
        member_id = member.id
        traced_id, traced_name = member.employee_id or "", member.last_name or ""
    # the wizard's preview of the first import, so Review has content
    preview = post_form(admin, f"/integrations/{integration}/setup/review",
                        f"/integrations/{integration}/setup/preview")
    assert preview.status_code == 303, preview.text[:300]
    with session_factory()() as session:
        preview_id = session.scalars(select(ImportRun.id).where(ImportRun.integration_id == integration)
                                     .order_by(ImportRun.id.desc())).first()
    assert preview_id is not None and preview_id != run_id
    wait_for_run(preview_id)
    # a member added by hand, for its edit form (and the detail page's manual-member buttons)
    added = post_form(admin, "/members/new", "/members/new",
                      {"employee_id": "BY-HAND-1", "email": "someone.added.by.hand@acme-perks-programme.example",
                       "first_name": "Maximiliane", "last_name": "Handley-Wetherington"})
    assert added.status_code == 303, added.text[:300]
    manual_id = int(added.headers["location"].rsplit("/", 1)[1])
    # an administrator invitation and a password reset, for the link pages
    invited = "a.colleague.with.a-rather-long-address@acme-perks-programme.example"
    assert post_form(admin, "/admins", "/admins", {"email": invited, "name": "Cole League"}).status_code == 303
    accept_link = _outbox_link("admin_invite", invited, r"/admin/accept-invite/[A-Za-z0-9_\-]+")
    world.portal.reset_throttle()
    outsider = world.client()
    assert post_form(outsider, "/forgot-password", "/forgot-password", {"email": acme.admin_email}).status_code == 200
    admin_reset = _outbox_link("password_reset", acme.admin_email, r"/admin/reset-password/[A-Za-z0-9_\-]+")
    member_email, welcome = _invitation_link(acme.programme_id)
    token = welcome.rsplit("/", 1)[1]
    assert post_form(outsider, "/member/forgot-password", "/member/forgot-password",
                     {"email": member_email}).status_code == 200
    member_reset = _outbox_link("password_reset", member_email, r"/reset-password/[A-Za-z0-9_\-]{20,}")

    admin_pages: dict[str, list[str]] = {
        "/admins": ["/admins"],
        "/integrations": ["/integrations?tab=mine", "/integrations?tab=explore"],
        "/integrations/new/{kind}": [f"/integrations/new/{kind}" for kind in REGISTRY
                                     if not REGISTRY[kind].can("push")],  # a push door's: its own route
        "/integrations/new/scim": ["/integrations/new/scim"],
        "/integrations/{integration_id}/setup/scim": [f"/integrations/{scim_live}/setup/scim",
                                                      f"/integrations/{scim_draft}/setup/scim"],
        "/integrations/{integration_id}/scim/review": [f"/integrations/{scim_draft}/scim/review"],
        "/integrations/{integration_id}/scim/rotate": [f"/integrations/{scim_live}/scim/rotate"],
        "/integrations/{integration_id}/setup/initial": [f"/integrations/{integration}/setup/initial"],
        "/integrations/{integration_id}/setup/authorize": [f"/integrations/{integration}/setup/authorize"],
        "/integrations/{integration_id}/reauthorize": [f"/integrations/{integration}/reauthorize"],
        "/integrations/{integration_id}/authorize": [f"/integrations/{integration}/authorize"],
        "/integrations/{integration_id}/setup/file": [f"/integrations/{file_integration}/setup/file"],
        "/integrations/{integration_id}/setup/mapping": [f"/integrations/{integration}/setup/mapping",
                                                         f"/integrations/{scim_draft}/setup/mapping"],
        "/integrations/{integration_id}/setup/review": [f"/integrations/{integration}/setup/review"],
        "/integrations/{integration_id}": [f"/integrations/{integration}", f"/integrations/{file_integration}",
                                           f"/integrations/{scim_live}"],
        "/integrations/{integration_id}/revoke": [f"/integrations/{integration}/revoke",
                                                  f"/integrations/{scim_live}/revoke"],
        "/integrations/{integration_id}/delete": [f"/integrations/{file_integration}/delete"],
        "/integrations/{integration_id}/runs": [f"/integrations/{integration}/runs"],
        "/integrations/{integration_id}/runs/{run_id}": [f"/integrations/{integration}/runs/{run_id}",
                                                         f"/integrations/{integration}/runs/{preview_id}"],
        "/integrations/{integration_id}/runs/{run_id}/undo": [f"/integrations/{integration}/runs/{run_id}/undo",
                                                              f"/integrations/{integration}/runs/{preview_id}/undo"],
        "/integrations/{integration_id}/import": [f"/integrations/{integration}/import",
                                                  f"/integrations/{integration}/import?run={run_id}"],
        "/integrations/{integration_id}/trace": [f"/integrations/{integration}/trace",  # the form, a search, a person
                                                 f"/integrations/{integration}/trace?q={quote(traced_name)}",
                                                 f"/integrations/{integration}/trace?employee_id={quote(traced_id)}"],
        "/members": ["/members"],
        "/members/{member_id}": [f"/members/{member_id}", f"/members/{manual_id}"],
        "/members/new": ["/members/new"],
        "/members/{member_id}/edit": [f"/members/{manual_id}/edit"],
        "/settings/api-tokens": ["/settings/api-tokens"],
        "/emails": ["/emails"],
    }
    sign_in_pages: dict[str, list[str]] = {
        "/login": ["/login"],
        "/forgot-password": ["/forgot-password"],
        "/admin/reset-password/{token}": [admin_reset],
        "/admin/accept-invite/{token}": [accept_link],
        "/member/login": ["/member/login"],
        "/member/forgot-password": ["/member/forgot-password"],
        "/welcome/{token}": [welcome],
        "/reset-password/{token}": [member_reset],
        "/member/set-password": [f"/member/set-password?token={token}"],
    }
    member_pages: dict[str, list[str]] = {
        "/me": ["/me"],
        "/me/{page}": [f"/me/{page}" for page in {**PROGRAMME_PAGES, **ACCOUNT_PAGES}],
    }
    visited = set(admin_pages) | set(sign_in_pages) | set(member_pages)
    routes = get_routes(world.portal.app)
    forgotten = sorted(routes - visited - set(SKIPPED))
    assert not forgotten, f"GET routes neither visited nor skipped: {forgotten}"
    assert not (set(SKIPPED) - routes), f"skipped routes that no longer exist: {set(SKIPPED) - routes}"
    assert not (visited & set(SKIPPED)), "a route is both visited and skipped"

    failures: list[str] = []
    base = world.base_url
    # signed out first: the links still work (the member's welcome link is used below)
    public = browser.new_context(base_url=base)
    check_pages(public, [u for urls in sign_in_pages.values() for u in urls], SIGN_IN_SIZES, artifacts_dir,
                "sign-in", failures)
    public.close()

    staff = browser.new_context(base_url=base)
    _sign_in_admin(staff, base, acme.admin_email)
    check_pages(staff, [u for urls in admin_pages.values() for u in urls], ADMIN_SIZES, artifacts_dir,
                "admin", failures)
    # a menu opened on a phone stays inside the window (the dashboard's Tools opened beyond its left edge)
    page = staff.new_page()
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"/integrations/{integration}")
    page.get_by_text("Tools").click()
    page.get_by_role("menuitem", name="Import history").wait_for()
    page.screenshot(path=str(artifacts_dir / "admin-390x844-dashboard-tools-open.png"))
    failures.extend(f"the dashboard's open Tools menu at 390×844: {problem}" for problem in overflow_of(page))
    page.close()
    staff.close()

    phone = browser.new_context(base_url=base, viewport={"width": PHONE[0], "height": PHONE[1]},
                                is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(welcome)
    page.get_by_label("Password", exact=True).fill("a long and memorable password")
    page.get_by_label("Type it again").fill("a long and memorable password")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url("**/me")
    page.close()
    check_pages(phone, [u for urls in member_pages.values() for u in urls], MEMBER_SIZES, artifacts_dir,
                "member", failures)
    phone.close()

    assert not failures, "pages overflow sideways:\n" + "\n".join(failures)


def test_the_overflow_check_catches_a_wide_table_and_a_long_address(browser: Any) -> None:
    """The check itself: a table scrolling in its wrapper, an unbreakable address and a wide page
    are each reported, and a page that fits is not."""
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    page = context.new_page()
    page.set_content("<main><p>Short text that wraps nicely on a phone.</p></main>")
    assert overflow_of(page) == []
    page.set_content('<div style="overflow-x:auto"><table><tr>' + "<td>column&nbsp;of&nbsp;text</td>" * 12
                     + "</tr></table></div>")
    assert any("scrolls sideways" in p for p in overflow_of(page))
    page.set_content("<p><strong>somebody.with.a.very.long.name@anevenlongerdomain.example.com</strong></p>")
    problems = overflow_of(page)
    assert any("the page is" in p for p in problems) and any("beyond the 390px window" in p for p in problems)
    context.close()

