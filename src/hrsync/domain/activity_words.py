"""The activity log in words: ONE table with a sentence for every action any layer writes.

Every row of the activity log is written through :func:`hrsync.store.activity.record`, which
refuses an action this table does not know, so a new action cannot reach a page as a bare code.
The dashboard's *Activity* card and the *Administrators* page's *Recent changes* both read their
sentences from :func:`sentence`.

A sentence follows the person who acted ("Demo Administrator <sentence>", or "Reward Manager" for
the scheduler and the workers). ``source`` is the integration's source in the kind's own words;
``number`` turns a run id stored in the detail into the number people know that import by (#1, #2,
… per integration), so a sentence never shows an internal id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Detail = Mapping[str, Any]
RunNumber = Callable[[Any], str]

SETTING_LABELS = {
    "frequency": "frequency", "schedule_time": "time", "schedule_day": "day", "date_format": "date format",
    "welcome_email": "welcome e-mail", "leaver_threshold_pct": "leaver safeguard",
    "blanks_clear_values": "blank values", "vanished_are_leavers": "missing people",
}

ROLE_WORDS = {"owner": "an owner", "administrator": "an administrator", "read_only": "a read-only administrator"}


def _plural(count: Any, word: str) -> str:
    try:
        n = int(count)
    except (TypeError, ValueError):
        return f"some {word}s"
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _import_started(detail: Detail, source: str, number: RunNumber) -> str:
    via = str(detail.get("via") or "")
    what = "a dry run (nothing changed)" if detail.get("dry_run") else "an import"
    if via == "upload":
        return f"uploaded a membership file and started {what}"
    if via == "retry_now":
        return f"started {what} to retry the quarantined integration"
    if via.startswith("api token"):
        return f"started {what} through the API"
    return f"started {what} (Import data now)"


def _settings(detail: Detail, source: str, number: RunNumber) -> str:
    changed = ", ".join(SETTING_LABELS.get(k, k.replace("_", " ")) for k in detail) or "the settings"
    return f"changed the settings ({changed})"


def _mapping(detail: Detail, source: str, number: RunNumber) -> str:
    mapping = detail.get("mapping") or {}
    return f"edited the mapping ({_plural(len(mapping), 'field')} mapped)" if mapping else "edited the mapping"


def _shape(detail: Detail, source: str, number: RunNumber) -> str:
    parts = []
    if "scope_rules" in detail:
        rules = detail.get("scope_rules") or []
        parts.append(f"who is imported ({_plural(len(rules), 'rule')})" if rules else "who is imported (everyone)")
    if "transforms" in detail:
        transforms = detail.get("transforms") or {}
        parts.append(f"how values are changed on the way in ({_plural(len(transforms), 'field')})"
                     if transforms else "how values are changed on the way in (no changes)")
    return "changed " + (" and ".join(parts) if parts else "who is imported and how values are changed")


def _reauthorized(detail: Detail, source: str, number: RunNumber) -> str:
    last4 = detail.get("key_last4")
    text = f"authorized {source} with an API key ending …{last4}" if last4 else f"authorized {source}"
    restored = {"live": ": live again, scheduled imports resumed",
                "paused": ": paused, as before access was revoked"}.get(str(detail.get("restored")), "")
    return text + restored


def _lifted(detail: Detail, source: str, number: RunNumber) -> str:
    if detail.get("how") == "reauthorized":
        return "lifted the quarantine by re-authorizing: scheduled imports resumed"
    return "lifted the quarantine: an import succeeded, scheduled imports resumed"


def _skipped(detail: Detail, source: str, number: RunNumber) -> str:
    reason = detail.get("reason")
    return f"skipped a scheduled import: {reason}" if reason else "skipped a scheduled import"


def _stopped(detail: Detail, source: str, number: RunNumber) -> str:
    reason = detail.get("reason")
    return f"stopped the schedule: {reason}" if reason else "stopped the schedule"


def _one_person(detail: Detail, source: str, number: RunNumber) -> str:
    run = f" ({number(detail['run_id'])})" if detail.get("run_id") else ""
    return f"imported one person from {source}{run}"


def _admin(verb: str) -> Callable[[Detail, str, RunNumber], str]:
    def say(detail: Detail, source: str, number: RunNumber) -> str:
        who = detail.get("email") or "an administrator"
        role = ROLE_WORDS.get(str(detail.get("role") or ""), "")
        if verb == "invited":
            return f"invited {who} as {role}" if role else f"invited {who}"
        if verb == "role":
            return f"made {who} {role}" if role else f"changed the role of {who}"
        return {"reinvited": f"sent {who} a new invitation", "deactivated": f"deactivated {who}",
                "reactivated": f"reactivated {who}"}[verb]
    return say


def _member(verb: str) -> Callable[[Detail, str, RunNumber], str]:
    def say(detail: Detail, source: str, number: RunNumber) -> str:
        who = f"member {detail['employee_id']}" if detail.get("employee_id") else "a member"
        if verb == "added":
            return f"added {who}" + (" and sent an invitation" if detail.get("invited") else "")
        if verb == "edited":
            fields = [str(f).replace("_", " ") for f in detail.get("fields") or []]
            return f"edited {who}" + (f" ({', '.join(fields)})" if fields else "")
        return {"ineligible": f"marked {who} as no longer eligible",
                "eligible": f"marked {who} as eligible again"}[verb]
    return say


def _fixed(text: str) -> Callable[[Detail, str, RunNumber], str]:
    return lambda detail, source, number: text.format(source=source)


def _about_run(text: str, key: str = "run_id") -> Callable[[Detail, str, RunNumber], str]:
    return lambda detail, source, number: text.format(run=number(detail.get(key)), source=source)


SENTENCES: dict[str, Callable[[Detail, str, RunNumber], str]] = {
    # setting up and changing an integration
    "created": _fixed("started setting up the integration"),
    "edited_settings": _settings,
    "edited_mapping": _mapping,
    "edited_shape": _shape,
    "reauthorized": _reauthorized,
    "published": _fixed("published the integration: it is live"),
    "paused": lambda d, s, n: ("paused the integration: its SCIM token is refused until it is resumed"
                               if d.get("push") else "paused scheduled imports"),
    "resumed": lambda d, s, n: ("resumed the integration: its SCIM token works again" if d.get("push")
                                else "resumed scheduled imports"),
    "revoked": lambda d, s, n: ("revoked access: the SCIM token was deleted" if d.get("push")
                                else "revoked access: the API key was deleted and imports paused"),
    "deleted_draft": lambda d, s, n: "deleted a draft integration" + (f" ({d['address']})" if d.get("address") else ""),
    "rotated_scim_token": lambda d, s, n: ("rotated the SCIM token (" + (f"the new one starts {d['prefix']}…; "
                                                                          if d.get("prefix") else "")
                                           + "the old one stopped at once)"),
    # imports
    "imported_now": _import_started,
    "previewed": _fixed("previewed the first import (a preview changes nothing)"),
    "applied_one_person": _one_person,
    "undo_requested": lambda d, s, n: f"undid {n(d.get('undo_of'))}",
    "import_retried": lambda d, s, n: (f"started {n(d.get('failed_run_id'))} again after its worker stopped "
                                       f"(attempt {d.get('attempt') or 2})"),
    "scheduled_import_skipped": _skipped,
    "schedule_stopped": _stopped,
    "webhook_full_import": lambda d, s, n: (f"started a full import instead of more one-person imports: "
                                            f"{s} sent more than {d.get('cap') or 'the allowed number of'} "
                                            "changes in an hour"),
    # held imports
    "approved_run": _about_run("approved held {run}"),
    "rejected_run": _about_run("rejected held {run}"),
    "approval_requested": _about_run("approved held {run} (it is being applied)"),
    "rejection_requested": _about_run("rejected held {run} (it is being discarded)"),
    "decision_failed": _about_run("could not apply the decision on held {run}: it is held again"),
    # failures and the quarantine
    "quarantined": lambda d, s, n: (f"stopped scheduled imports after {_plural(d.get('failures'), 'failed import')} "
                                    "in a row (quarantined); every owner and administrator was e-mailed"),
    "quarantine_lifted": _lifted,
    "quarantine_retry": _fixed("retried the quarantined integration (Retry now)"),
    "retry_brought_forward": lambda d, s, n: (f"brought the next import forward after a temporary failure "
                                              f"({_plural(d.get('failures'), 'failure')} in a row)"),
    # webhooks
    "webhooks_registered": lambda d, s, n: f"subscribed to {_plural(d.get('events'), s + ' webhook event')}",
    "webhooks_failed": lambda d, s, n: f"could not subscribe to {s} webhooks: {d.get('reason') or 'no reason given'}",
    "webhooks_removed": lambda d, s, n: (f"removed the {s} webhook subscriptions"
                                         + {"paused": " (imports paused)", "revoked": " (access revoked)",
                                            "deleted": " (draft deleted)"}.get(str(d.get("why")), "")),
    # members changed between integrations and by hand
    "adopted_members": lambda d, s, n: (f"took over {_plural(d.get('count'), 'member')} "
                                        f"from {d.get('from') or 'another integration'}"),
    "members_handed_over": lambda d, s, n: (f"handed {_plural(d.get('count'), 'member')} "
                                            f"over to {d.get('to') or 'another integration'}"),
    "member_added": _member("added"),
    "member_edited": _member("edited"),
    "member_ineligible": _member("ineligible"),
    "member_eligible": _member("eligible"),
    "reinvited_member": lambda d, s, n: (f"sent member {d['employee_id']} a new invitation" if d.get("employee_id")
                                         else "sent a member a new invitation"),
    # administrators and API tokens
    "invited_admin": _admin("invited"),
    "reinvited_admin": _admin("reinvited"),
    "changed_admin_role": _admin("role"),
    "deactivated_admin": _admin("deactivated"),
    "reactivated_admin": _admin("reactivated"),
    "created_api_token": lambda d, s, n: f"created the API token \u201c{d.get('name') or 'unnamed'}\u201d",
    "revoked_api_token": lambda d, s, n: f"revoked the API token \u201c{d.get('name') or 'unnamed'}\u201d",
}

ACTIONS: frozenset[str] = frozenset(SENTENCES)


def _plain_number(run_id: Any) -> str:
    return "an import" if run_id in (None, "") else f"import #{run_id}"


def sentence(action: str, detail: Detail | None, source: str = "the source",
             number: RunNumber | None = None) -> str:
    """The sentence for one activity row; an action unknown to the table (only an old row could hold
    one) reads as its words, never as a code with underscores."""
    say = SENTENCES.get(action)
    if say is None:
        return action.replace("_", " ")
    return say(detail if isinstance(detail, Mapping) else {}, source, number or _plain_number)


__all__ = ["ACTIONS", "SENTENCES", "sentence"]
