"""The Integrations page: "My integrations" and "Explore integrations", with a search box.

The catalogue is built from the source registry: one card per kind of source, as the kind presents
itself (:attr:`hrsync.sources.kind.SourceKind.catalogue`: logo, category, summary, search words).
Its card opens the setup wizard (a push door's, its own set-up) or resumes the programme's unfinished draft.
A draft can be deleted here, after a confirmation page (only drafts: a published integration is revoked).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from hrsync.services.admins import may_change
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import delete_draft, integration_in_programme, kinds
from hrsync.services.queries import latest_run
from hrsync.store.models import ImportRun, Integration, IntegrationStatus
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class CatalogueEntry:
    kind: str
    name: str
    logo: str
    category: str
    summary: str
    keywords: tuple[str, ...]


def catalogue() -> list[CatalogueEntry]:
    """One card per kind of source in the registry, as the kind presents itself."""
    return [CatalogueEntry(kind=k.kind, name=k.display_name, logo=k.catalogue.logo, category=k.catalogue.category,
                           summary=k.catalogue.summary, keywords=(k.kind, *k.catalogue.keywords))
            for k in kinds()]


def search_catalogue(query: str) -> list[CatalogueEntry]:
    """Entries whose name, category or keywords contain every word of ``query`` (any case).

    A push door's card (SCIM) starts its own short set-up (:mod:`hrsync.web.scim_setup`) at the same
    ``/integrations/new/<kind>`` address, not the import wizard."""
    words = query.lower().split()
    found = []
    for entry in catalogue():
        haystack = " ".join((entry.name, entry.category, entry.summary, *entry.keywords)).lower()
        if all(word in haystack for word in words):
            found.append(entry)
    return found


def wizard_url(integration: Integration) -> str:
    return f"/integrations/{integration.id}/setup/{integration.wizard_step or 'initial'}"


def integration_url(integration: Integration) -> str:
    """Drafts open where the administrator left the wizard; the rest open their dashboard."""
    if integration.status == IntegrationStatus.DRAFT.value:
        return wizard_url(integration)
    return f"/integrations/{integration.id}"


@router.get("/")
def home() -> Response:
    return RedirectResponse("/integrations", status_code=303)


@router.get("/integrations")
def integrations_page(
    request: Request, session: SessionDep, admin: CurrentAdmin, tab: str | None = None, q: str = ""
) -> Response:
    mine = list(
        session.scalars(
            select(Integration).where(Integration.programme_id == admin.programme_id).order_by(Integration.id)
        )
    )
    changes = may_change(admin)
    if tab not in ("mine", "explore"):
        tab = "mine" if mine and not q else "explore"
    if not changes:  # a read-only administrator connects nothing: no catalogue of what to connect
        tab = "mine"
    last_runs: dict[int, ImportRun] = {}
    for integration in mine:
        run = latest_run(session, integration.id, dry_run=False)
        if run is not None:
            last_runs[integration.id] = run
    drafts = {i.kind: i for i in mine if i.status == IntegrationStatus.DRAFT.value}
    results = search_catalogue(q[:100])
    cards = [
        {
            "entry": entry,
            "href": wizard_url(drafts[entry.kind]) if entry.kind in drafts else f"/integrations/new/{entry.kind}",
            "resume": entry.kind in drafts,
        }
        for entry in results
    ]
    return render(request, "integrations/index.html", {
        "integration_url": integration_url if changes else (lambda i: f"/integrations/{i.id}"),
        "nav": "integrations", "tab": tab, "q": q[:100], "mine": mine, "cards": cards,
        "last_runs": last_runs, "catalogue": {e.kind: e for e in catalogue()},
        "example_search": kinds()[0].display_name,
        "push_kinds": {k.kind for k in kinds() if k.can("push")},
    })


@router.get("/integrations/{integration_id}/delete")
def delete_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_in_programme(session, admin.programme_id, integration_id)
    if integration.status != IntegrationStatus.DRAFT.value:
        flash(request, "Only a draft can be deleted. To stop a published integration, revoke its access.", "error")
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    return render(request, "integrations/delete.html", {"nav": "integrations", "integration": integration,
                                                        "continue_url": wizard_url(integration)})


@router.post("/integrations/{integration_id}/delete", dependencies=[CsrfForm])
def delete_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_in_programme(session, admin.programme_id, integration_id)
    try:
        with session.begin_nested():
            delete_draft(session, integration, admin)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration_id}", status_code=303)
    flash(request, "The draft was deleted.")
    return RedirectResponse("/integrations?tab=mine", status_code=303)
