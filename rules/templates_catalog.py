"""The built-in Rule Management templates: pre-filled rule bodies grouped in tabs (spec 8, api.md §4).

These definitions are loaded into the `BuiltInTemplate` table by a migration and brought up to
date on every migrate (`builtin_templates_sync`), so the table is what the API, the console
and `POST /api/v1/rules` with a `template` read; admins add their own templates beside them.

- Every `rule` is a complete body in the contract's shape; `template_rule` hands out a deep
  copy, so callers may edit it freely.
- `event_based` is the vendor's blank "Rule For Event Based Alerts": its conditions are empty on
  purpose (the admin picks the events), so it is not a savable rule as it stands.
- The other templates are ready-made rules for identity events; all of them use filters rather
  than expressions, so the engine can index them and they read well in the filter editor.
- Some carry a `detection` (api.md section 12): a first-seen value ("new country for this user")
  or an ordered sequence of their conditions ("TOTP disabled, then password changed").
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Group names that usually hold admins; the admin edits the list to suit the directory.
PRIVILEGED_GROUP_NAMES: tuple[str, ...] = ("Domain Admins", "Administrators", "IT Admins")
# Countries logins are expected from; the admin edits the list to suit the organization.
ALLOWED_COUNTRY_CODES: tuple[str, ...] = ("US", "CA")

TEMPLATE_TABS: list[tuple[str, str]] = [("insights", "Insights"), ("devices", "Devices")]


@dataclass(frozen=True)
class BuiltInTemplate:
    """One built-in template as the code defines it (the `rules.RuleTemplate` rows are its copies)."""

    slug: str
    tab: str
    name: str
    description: str
    rule: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the shape `GET /api/v1/rule-templates` lists, with a copy of the rule body."""
        return {
            "slug": self.slug,
            "tab": self.tab,
            "name": self.name,
            "description": self.description,
            "rule": copy.deepcopy(self.rule),
        }


def _template(
    slug: str,
    tab: str,
    name: str,
    description: str,
    *,
    priority: str,
    conditions: list[dict[str, Any]],
    group_by: list[str] | None = None,
    group_window_minutes: int = 0,
    threshold: dict[str, int] | None = None,
    detection: dict[str, Any] | None = None,
    rule_name: str | None = None,
) -> BuiltInTemplate:
    rule = {
        "name": name if rule_name is None else rule_name,
        "description": description if rule_name is None else "",
        "enabled": True,
        "priority": priority,
        "template": slug,
        "conditions": conditions,
        "generate_alerts": True,
        "send_notifications": False,
        "channels": [],
        "notify_on_acknowledge": False,
        "notify_on_resolve": False,
        "existing_conditions": False,
        "group_by": group_by or [],
        "group_window_minutes": group_window_minutes,
        "threshold": threshold,
        "detection": detection,
        "remind_every_minutes": None,
        "remind_max": 3,
        "escalation": None,
    }
    return BuiltInTemplate(slug=slug, tab=tab, name=name, description=description, rule=rule)


def _event(event_type: str, *filters: dict[str, Any], match: str = "all", action: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"event_type": event_type}
    if action is not None:
        condition["action"] = action
    condition["match"] = match
    condition["filters"] = list(filters)
    return condition


def _filter(key: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"key": key, "operator": operator} if value is None else {"key": key, "operator": operator, "value": value}


RULE_TEMPLATES: tuple[BuiltInTemplate, ...] = (
    # -- Insights -------------------------------------------------------------------------------
    _template(
        "event_based",
        "insights",
        "Rule For Event Based Alerts",
        "Start from a blank rule and pick the Directory Insights events that should raise an alert.",
        priority="low",  # spec 2.1: start low; the admin raises it
        conditions=[],
        # The admin names the rule; the template's own name would clash on the second use.
        rule_name="",
    ),
    _template(
        "failed_admin_logins",
        "insights",
        "Failed admin logins",
        "An admin console login failed. Repeated failures for one admin within an hour add to the same alert.",
        priority="high",
        conditions=[_event("admin_login_attempt", _filter("success", "eq", False))],
        group_by=["initiated_by.email"],
        group_window_minutes=60,
    ),
    _template(
        "admin_totp_disabled",
        "insights",
        "Admin MFA disabled",
        "The TOTP (MFA) requirement of an admin account was disabled, leaving it protected by a password only.",
        priority="high",
        conditions=[_event("admin_totp_disable")],
    ),
    _template(
        "admin_lockout",
        "insights",
        "Admin account locked out",
        "An admin account was locked after repeated failed logins: a possible attack on a privileged account.",
        priority="high",
        conditions=[_event("admin_lockout")],
    ),
    _template(
        "user_lockout",
        "insights",
        "User lockout",
        "A user account was locked out after repeated failed logins. Lockouts of one user within an hour "
        "add to the same alert.",
        priority="medium",
        conditions=[_event("user_lockout")],
        group_by=["resource.id"],
        group_window_minutes=60,
    ),
    _template(
        "admin_created_or_deleted",
        "insights",
        "Admin created or deleted",
        "An admin account was created or deleted. New admins are a common persistence step for an attacker.",
        priority="high",
        conditions=[_event("admin_create"), _event("admin_delete")],
    ),
    _template(
        "admin_privilege_granted",
        "insights",
        "Admin privilege changes",
        "An admin was granted additional privileges, or an admin's role was changed.",
        priority="high",
        conditions=[
            _event("admin_privilege_grant"),
            # The audit log names the field `roleName`; `role` covers older payloads.
            _event("admin_update", _filter("roleName", "changed"), _filter("role", "changed"), match="any"),
        ],
    ),
    _template(
        "user_granted_admin_sudo",
        "insights",
        "User granted admin (sudo) on devices",
        "A user or user group was granted admin (sudo) privileges on a device, directly or through an "
        "association whose sudo attribute was turned on.",
        priority="high",
        conditions=[
            _event("user_admin_granted"),
            _event(
                "association_change",
                _filter("association.op", "in", ["add", "update"]),
                _filter("association.attributes.sudo.enabled", "eq", True),
            ),
            _event("user_group_admin_grant"),
        ],
    ),
    _template(
        "user_added_to_privileged_group",
        "insights",
        "User added to a privileged group",
        "A user was added to a user group that grants admin access. Edit the group names to match your directory.",
        priority="high",
        conditions=[
            # The vendor records a membership from whichever side was edited (user -> group or
            # group -> user), so the group's name may be on either end of the connection.
            _event(
                "association_change",
                _filter("association.connection.from.name", "in", list(PRIVILEGED_GROUP_NAMES)),
                _filter("association.connection.to.name", "in", list(PRIVILEGED_GROUP_NAMES)),
                match="any",
                action="user_added_to_user_group",
            )
        ],
    ),
    _template(
        "user_suspended",
        "insights",
        "User suspended",
        "A user account was suspended, by an admin or by an identity provider through SCIM.",
        priority="medium",
        conditions=[
            _event("user_update", _filter("suspended", "changed_to", True)),
            _event("systemuser_update", _filter("suspended", "changed_to", True)),
            _event("user_suspended"),
        ],
    ),
    _template(
        "user_totp_enrollment_deleted",
        "insights",
        "User MFA enrollment deleted",
        "A user's TOTP (MFA) enrollment was deleted, so their next login may go without a second factor.",
        priority="medium",
        conditions=[_event("totp_delete_enrollment")],
    ),
    _template(
        "brute_force_user_logins",
        "insights",
        "Brute-force user logins",
        "Five failed User Portal logins by one user within 10 minutes: a password-guessing attempt.",
        priority="high",
        conditions=[_event("user_login_attempt", _filter("success", "eq", False))],
        group_by=["initiated_by.email"],
        threshold={"count": 5, "window_minutes": 10},
    ),
    _template(
        "alertsite_failed_logins",
        "insights",
        "Repeated failed logins to alertsite",
        "Five failed logins to alertsite itself (console, admin or API token) for one username within 10 minutes, "
        "refusals by the login throttle included: someone is guessing a password.",
        priority="high",
        conditions=[_event("alertsite_login_attempt", _filter("success", "eq", False))],
        group_by=["initiated_by.username"],
        threshold={"count": 5, "window_minutes": 10},
    ),
    _template(
        "login_outside_allowed_countries",
        "insights",
        "Login from a country not in the list",
        "A successful user or admin login came from a country outside the allowed list. Edit the country "
        "codes to match where your people work.",
        priority="high",
        conditions=[
            # `exists`: a login without geolocation (private addresses) is unknown, not "elsewhere";
            # without it `not_in` would be true for a missing key.
            _event(
                "user_login_attempt",
                _filter("success", "eq", True),
                _filter("geoip.country_code", "exists"),
                _filter("geoip.country_code", "not_in", list(ALLOWED_COUNTRY_CODES)),
            ),
            _event(
                "admin_login_attempt",
                _filter("success", "eq", True),
                _filter("geoip.country_code", "exists"),
                _filter("geoip.country_code", "not_in", list(ALLOWED_COUNTRY_CODES)),
            ),
        ],
        group_by=["initiated_by.email"],
        group_window_minutes=60,
    ),
    _template(
        "login_without_mfa",
        "insights",
        "User login without MFA",
        "A user logged in to the User Portal without a second factor. Logins of one user within a day add to "
        "the same alert.",
        priority="medium",
        conditions=[_event("user_login_attempt", _filter("success", "eq", True), _filter("mfa", "eq", False))],
        group_by=["initiated_by.email"],
        group_window_minutes=24 * 60,
    ),
    _template(
        "sso_failures",
        "insights",
        "SSO failures",
        "A user failed to sign in to an SSO application. Failures of one user within an hour add to the same alert.",
        priority="medium",
        conditions=[_event("sso_auth", _filter("success", "eq", False))],
        # SSO events often carry only a username; grouping by both keeps one alert per user either way.
        group_by=["initiated_by.email", "initiated_by.username"],
        group_window_minutes=60,
    ),
    _template(
        "password_manager_items_exported",
        "insights",
        "Password Manager items exported",
        "A user exported items from the Password Manager app or browser extension.",
        priority="high",
        conditions=[_event("passwordmanager_items_export")],
    ),
    _template(
        "fde_key_decrypted",
        "insights",
        "Full disk encryption key decrypted",
        "A device's full disk encryption recovery key was decrypted (revealed) in the console.",
        priority="high",
        conditions=[_event("system_fde_key_decrypt")],
    ),
    _template(
        "conditional_access_policy_changed",
        "insights",
        "Conditional access policy changed",
        "A conditional access policy was updated or deleted, which may weaken how logins are checked.",
        priority="high",
        conditions=[_event("authpolicy_update"), _event("authnpolicy_delete")],
    ),
    _template(
        "insights_source_failing",
        "insights",
        "Directory Insights source failing",
        "A source that pulls events from a JumpCloud organisation keeps failing or was refused "
        "(a rotated API key, say): until it is fixed, no rule sees that organisation's events.",
        priority="high",
        conditions=[_event("insights_source_failed")],
    ),
    # -- Detections beyond one event (api.md section 12) ---------------------------------------
    _template(
        "login_new_country",
        "insights",
        "First login from a new country for this user",
        "A user logged in successfully from a country none of their logins came from in the last 30 days: "
        "a stolen password used from abroad, or travel worth knowing about.",
        priority="medium",
        conditions=[
            # `exists`: a login without geolocation (private addresses) says nothing about the country.
            _event("user_login_attempt", _filter("success", "eq", True), _filter("geoip.country_code", "exists")),
        ],
        detection={"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30},
    ),
    _template(
        "first_admin_privilege_grant",
        "insights",
        "First admin privilege grant to a user",
        "A user was granted admin (sudo) privileges on devices, or an admin additional privileges, for the first "
        "time in a year: new standing access worth a second look.",
        priority="high",
        conditions=[_event("user_admin_granted"), _event("admin_privilege_grant")],
        detection={"type": "new_value", "fields": ["resource.id"], "history_days": 365},
    ),
    _template(
        "totp_disabled_then_password_changed",
        "insights",
        "TOTP disabled then password changed within 10 minutes",
        "An admin account's TOTP (MFA) requirement was disabled and then its password was changed within 10 "
        "minutes: the usual first steps of an account takeover.",
        priority="high",
        conditions=[_event("admin_totp_disable"), _event("admin_password_change")],
        detection={"type": "sequence", "steps": [0, 1], "by": ["resource.email"], "within_minutes": 10},
    ),
    _template(
        "password_reset_then_login_new_country",
        "insights",
        "Password reset then login from a new country",
        "A user asked for a password reset and then logged in within an hour from a country outside the "
        "allowed list: someone who took over the mailbox may have reset the password. Edit the country codes "
        "to match where your people work.",
        priority="high",
        conditions=[
            _event("user_password_reset_request"),
            _event(
                "user_login_attempt",
                _filter("success", "eq", True),
                _filter("geoip.country_code", "exists"),
                _filter("geoip.country_code", "not_in", list(ALLOWED_COUNTRY_CODES)),
            ),
        ],
        detection={"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 60},
    ),
    _template(
        "admin_privilege_granted_then_revoked",
        "insights",
        "Admin privilege granted then revoked within an hour",
        "A user was granted admin (sudo) privileges on devices and lost them again within an hour: "
        "short-lived access is a way to act with privileges and cover the tracks.",
        priority="high",
        conditions=[_event("user_admin_granted"), _event("user_admin_revoked")],
        detection={"type": "sequence", "steps": [0, 1], "by": ["resource.id"], "within_minutes": 60},
    ),
    _template(
        "admin_login_new_device_type",
        "insights",
        "Login from a new device type for an admin",
        "An admin logged in successfully from a kind of device (Mac, iPhone, Windows PC, ...) none of their logins "
        "came from in the last 30 days.",
        priority="medium",
        conditions=[
            _event("admin_login_attempt", _filter("success", "eq", True), _filter("useragent.device", "exists")),
        ],
        detection={"type": "new_value", "fields": ["initiated_by.email", "useragent.device"], "history_days": 30},
    ),
    # -- Devices --------------------------------------------------------------------------------
    _template(
        "device_deleted",
        "devices",
        "Device deleted",
        "A device was deleted from the directory, so its policies and user access no longer apply.",
        priority="medium",
        conditions=[_event("system_delete")],
    ),
    _template(
        "remote_session_started",
        "devices",
        "Remote assist session started",
        "An admin started a remote assist session on a device.",
        priority="low",
        conditions=[_event("remote_session_start")],
    ),
)

TEMPLATES_BY_SLUG: dict[str, BuiltInTemplate] = {template.slug: template for template in RULE_TEMPLATES}


def builtin_templates_sync(model: Any) -> int:
    """Bring `model`'s table (the migration passes its historical model) in line with the
    built-ins: insert the missing, rewrite only the changed. An admin's own template that
    already holds a built-in's slug keeps it (the built-in is skipped, with a warning).
    Answers how many built-ins are stored."""
    stored = {row.slug: row for row in model.objects.filter(slug__in=list(TEMPLATES_BY_SLUG))}
    synced = 0
    for position, template in enumerate(RULE_TEMPLATES):
        wanted = {**template.as_dict(), "position": position}  # as_dict hands out a copy of the rule
        row = stored.get(template.slug)
        if row is None:
            model.objects.create(built_in=True, **wanted)
        elif not row.built_in:
            logger.warning("an admin's template holds the built-in slug %r; the built-in is skipped", template.slug)
            continue
        elif any(getattr(row, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(row, field, value)
            row.save()
        synced += 1
    return synced
