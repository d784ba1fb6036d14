"""The built-in event-type catalog and the association actions of `association_change`.

Plain data so that data migrations, the rule engine and the API can share it without importing
models. Sources: the vendor's "Insight Alert Events" and "association_change Events" tables
(shared seed), the event families of spec 3.5 and the documented names of spec 10.4, plus the
audit events alertsite itself emits (spec 9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

# Services of the Directory Insights log, as the console and admin filters offer them.
SERVICES = ("directory", "sso", "radius", "ldap", "systems", "mdm", "password_manager", "software", "alerts")
# The `service` names the vendor's Directory Insights query API knows (vendor/directory-insights.swagger.json),
# besides "all": what a source may pull and what the compatible query API accepts.
VENDOR_SERVICES: tuple[str, ...] = (
    "access_management",
    "alerts",
    "asset_management",
    "directory",
    "ldap",
    "mdm",
    "notifications",
    "object_storage",
    "password_manager",
    "radius",
    "reports",
    "saas_app_management",
    "software",
    "sso",
    "systems",
)
ALL_SERVICES = "all"

# Keys -----------------------------------------------------------------------------------------

# Offered for every event type, known or not (spec 3.5 "All events").
COMMON_KEYS: tuple[str, ...] = (
    "event_type",
    "service",
    "success",
    "client_ip",
    "geoip.country_code",
    "geoip.region_code",
    "geoip.region_name",
    "geoip.continent_code",
    "geoip.timezone",
    "initiated_by.id",
    "initiated_by.type",
    "initiated_by.email",
    "initiated_by.username",
    "auth_method",
    "useragent.name",
    "useragent.os_name",
    "useragent.device",
)

# The spec writes `auth_context.auth_methods.<factor>.success`; a key must be a concrete path,
# so it is spelled out for each factor DI records (spec 10.1).
AUTH_FACTORS: tuple[str, ...] = ("password", "totp", "duo", "webauthn", "jumpcloud_protect")

PORTAL_LOGIN_KEYS: tuple[str, ...] = (
    "mfa",
    "mfa_meta.type",
    "error_message",
    *(f"auth_context.auth_methods.{factor}.success" for factor in AUTH_FACTORS),
    "auth_context.policies_applied.name",
    "auth_context.system.hostname",
)

SSO_AUTH_KEYS: tuple[str, ...] = (
    "application.name",
    "application.display_label",
    "application.sso_type",
    "application.id",
    "idp_initiated",
    "sso_token_success",
    "error_message",
    "mfa",
)

RADIUS_KEYS: tuple[str, ...] = (
    "username",
    "auth_type",
    "eap_type",
    "nas_mfa_state",
    "outer.eap_type",
    "outer.username",
    "error_message",
    "mfa",
)

LDAP_KEYS: tuple[str, ...] = (
    "username",
    "dn",
    "base",
    "filter",
    "scope",
    "mech",
    "error_code",
    "start_tls",
    "tls_established",
    "number_of_results",
)

SYSTEMS_KEYS: tuple[str, ...] = (
    "system.id",
    "system.hostname",
    "system.displayName",
    "username",
    "process_name",
    "src_ip",
    "windows_meta.logon_type",
    "message",
)

# `changes` is an array; filters on `changes.field` match when any element matches (spec 3.5).
OBJECT_CHANGE_KEYS: tuple[str, ...] = (
    "resource.type",
    "resource.id",
    "resource.username",
    "resource.name",
    "resource.email",
    "changes.field",
    "changes.from",
    "changes.to",
    "correlation.type",
)

ASSOCIATION_KEYS: tuple[str, ...] = (
    "association.op",
    "association.action_source",
    "association.connection.from.type",
    "association.connection.from.object_id",
    "association.connection.from.name",
    "association.connection.to.type",
    "association.connection.to.object_id",
    "association.connection.to.name",
)

# What alertsite's alert_* audit events carry (alerts.services `_alert_resource`, `_alert_extra`)
# and the vendor's alert_created / alert_status_updated samples: severity and category are
# labels ("High", "Directory"); the source is the user or device the alert is about.
ALERT_KEYS: tuple[str, ...] = (
    "severity",
    "category",
    "correlation.id",
    "correlation.type",
    "resource.id",
    "resource.reference_id",
    "resource.source_type",
    "resource.source_id",
)

# Ours: spec 3.5 has no MDM row, and an MDM result carries none of the directory fields.
MDM_KEYS: tuple[str, ...] = (
    "mdm_type",
    "request_type",
    "status",
    "mdm_device_id",
    "command.request_type",
)

# Ours: events about something happening on a device carry the device context object (spec 10.1).
DEVICE_CONTEXT_KEYS: tuple[str, ...] = ("system.id", "system.hostname", "system.displayName")

# Ours: notification delivery/test audit events report why they failed (spec 9).
NOTIFICATION_KEYS: tuple[str, ...] = ("error_message",)

# Ours: a source's failed/recovered events say which source and why (api.md §8).
SOURCE_KEYS: tuple[str, ...] = ("source.name", "source.id", "error_message", "status_code", "consecutive_failures")

# Ours: alertsite's own logins (api.md §13, events/login_audit.py), beside the common login keys.
ALERTSITE_LOGIN_KEYS: tuple[str, ...] = (
    "throttled",
    "interface",
    "error_message",
    "auth_context.auth_methods.password.success",
    "resource.id",
    "resource.username",
)

FAMILY_KEYS: dict[str, tuple[str, ...]] = {
    "portal_login": PORTAL_LOGIN_KEYS,
    "sso_auth": SSO_AUTH_KEYS,
    "radius": RADIUS_KEYS,
    "ldap": LDAP_KEYS,
    "systems": SYSTEMS_KEYS,
    "object_change": OBJECT_CHANGE_KEYS,
    "association": ASSOCIATION_KEYS,
    "alerts": ALERT_KEYS,
    "mdm": MDM_KEYS,
    "device_context": DEVICE_CONTEXT_KEYS,
    "notification": NOTIFICATION_KEYS,
    "source": SOURCE_KEYS,
    "alertsite_login": ALERTSITE_LOGIN_KEYS,
}

# Event types -----------------------------------------------------------------------------------

ASSOCIATION_EVENT_TYPE = "association_change"

# Most DI events describe a change to a directory object, so that is the default family.
_DEFAULT_FAMILIES: tuple[str, ...] = ("object_change",)

# (name, category, description, families). Empty families means the default. Descriptions are the
# vendor's wording where the vendor lists the type; the three names the vendor lists twice keep
# the wording that covers both admin- and user-initiated cases.
_RAW_EVENT_TYPES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # Vendor "Insight Alert Events" table.
    ("access_management_access_request", "other", "An Access Management request is created", ()),
    ("admin_apikey_expired", "admin", "An admin's API key has expired", ()),
    ("admin_create", "admin", "An admin account is created", ()),
    ("admin_delete", "admin", "An admin account is deleted", ()),
    ("admin_lockout", "admin", "An admin account is locked due to multiple login failures", ()),
    ("admin_login_attempt", "authentication", "An admin attempted to login", ("portal_login",)),
    ("admin_password_change", "admin", "An admin's password is changed", ()),
    ("admin_password_reset_request", "admin", "An admin requests a password reset", ()),
    ("admin_suspended", "admin", "An admin account is suspended", ()),
    ("admin_totp_disable", "admin", "An admin's TOTP requirement is disabled", ()),
    ("admin_totp_finish_enrollment", "admin", "An admin's TOTP enrollment is completed", ()),
    ("admin_totp_start_enrollment", "admin", "An admin's TOTP enrollment is initiated", ()),
    ("admin_unlocked", "admin", "An admin's account is unlocked", ()),
    ("admin_unsuspend", "admin", "An admin account is unsuspended", ()),
    ("admin_update", "admin", "An admin's account is updated", ()),
    ("application_create", "application", "An application is added", ()),
    ("application_delete", "application", "An application is removed", ()),
    ("application_update", "application", "An application is updated", ()),
    (
        ASSOCIATION_EVENT_TYPE,
        "association",
        "A user or device association / membership is updated",
        ("association",),
    ),
    ("authnpolicy_create", "policy", "A conditional access policy is created", ()),
    ("authnpolicy_delete", "policy", "A conditional access policy is deleted", ()),
    ("authpolicy_update", "policy", "A conditional access policy is updated", ()),
    ("command_create", "device", "A command is created", ()),
    ("command_delete", "device", "A command is deleted", ()),
    ("command_update", "device", "A command is updated", ()),
    ("configuration_file_download", "device", "A Microsoft MDM configuration file is downloaded", ()),
    ("device_command", "device", "An admin ran a command on the device", ("object_change", "device_context")),
    ("device_enrollment", "device", "A device is enrolled with Microsoft MDM", ()),
    ("group_create", "group", "A device or user group is created", ()),
    ("group_delete", "group", "A device or user group is deleted", ()),
    ("group_update", "group", "A device or user group is updated", ()),
    ("iplist_create", "policy", "An IP address list is created", ()),
    ("iplist_delete", "policy", "The IP address list is deleted", ()),
    ("iplist_update", "policy", "The IP address list is updated", ()),
    ("mdm_command_result", "device", "A command execution result from MDM enrolled device", ("mdm",)),
    ("msp_ticket_create", "organization", "A ticket for a partner integration is created", ()),
    (
        "os_major_rollback",
        "device",
        "A major operating system (OS) rollback is applied to the device",
        ("object_change", "device_context"),
    ),
    (
        "os_major_upgrade",
        "device",
        "A major operating system (OS) upgrade is applied to the device",
        ("object_change", "device_context"),
    ),
    (
        "os_minor_rollback",
        "device",
        "A minor operating system (OS) rollback is applied to the device",
        ("object_change", "device_context"),
    ),
    (
        "os_minor_upgrade",
        "device",
        "A minor operating system (OS) upgrade is applied to the device",
        ("object_change", "device_context"),
    ),
    ("passwordmanager_backup_create", "password_manager", "A user created a Password Manager cloud backup", ()),
    ("passwordmanager_backup_disable", "password_manager", "A user disabled a Password Manager cloud backup", ()),
    ("passwordmanager_backup_key_regenerate", "password_manager", "A new backup key is generated", ()),
    ("passwordmanager_backup_request", "password_manager", "A cloud backup request is created", ()),
    ("passwordmanager_backup_request_approve", "password_manager", "A cloud backup request is approved", ()),
    ("passwordmanager_backup_request_cancel", "password_manager", "A cloud backup request is canceled", ()),
    ("passwordmanager_backup_request_reject", "password_manager", "A cloud backup request is rejected", ()),
    (
        "passwordmanager_backup_request_restore",
        "password_manager",
        "An approved cloud backup request is restored",
        (),
    ),
    ("passwordmanager_disable", "password_manager", "Password Manager is disabled for an organization", ()),
    ("passwordmanager_enable", "password_manager", "Password Manager is enabled for an organization", ()),
    (
        "passwordmanager_item_copy",
        "password_manager",
        "A user copied an item in Password Manager app/browser extension",
        (),
    ),
    (
        "passwordmanager_item_reveal",
        "password_manager",
        "A user revealed an item in the Password Manager app/browser extension",
        (),
    ),
    (
        "passwordmanager_items_export",
        "password_manager",
        "A user exported items in the Password Manager app/browser extension",
        (),
    ),
    (
        "passwordmanager_local_backup_create",
        "password_manager",
        "A user created a Password Manager local backup",
        (),
    ),
    (
        "passwordmanager_local_backup_path_update",
        "password_manager",
        "A user updated the Password Manager local backup path",
        (),
    ),
    ("passwordmanager_user_activate", "password_manager", "A user activated Password Manager", ()),
    ("passwordmanager_user_deactivate", "password_manager", "A user deactivated Password Manager", ()),
    ("passwordmanager_user_device_pair", "password_manager", "A user paired a new device", ()),
    ("passwordmanager_user_device_unpair", "password_manager", "A user unpaired an existing device", ()),
    ("passwordmanager_user_disable", "password_manager", "Password Manager is disabled for a user", ()),
    ("passwordmanager_user_enable", "password_manager", "Password Manager is enabled for a user", ()),
    ("passwordmanager_user_reactivate", "password_manager", "A user reactivated Password Manager", ()),
    ("policy_create", "policy", "A policy is created", ()),
    ("policy_delete", "policy", "A policy is deleted", ()),
    ("policy_update", "policy", "A policy is updated", ()),
    ("provider_update", "organization", "An admin updated the billing information", ()),
    ("remote_session_end", "device", "An admin ended a remote assist session", ("object_change", "device_context")),
    ("remote_session_join", "device", "A user joined a remote assist session", ("object_change", "device_context")),
    ("remote_session_start", "device", "An admin started a remote assist session", ("object_change", "device_context")),
    (
        "saas_management_application_access_restriction_update",
        "saas_management",
        "A SaaS Management application's access restriction is updated",
        (),
    ),
    (
        "saas_management_application_discover",
        "saas_management",
        "A SaaS Management application is discovered",
        (),
    ),
    (
        "saas_management_application_license_update",
        "saas_management",
        "A SaaS Management application's license is updated",
        (),
    ),
    ("saas_management_application_update", "saas_management", "A SaaS Management application is updated", ()),
    ("saas_management_disable", "saas_management", "SaaS Management is disabled", ()),
    ("saas_management_enable", "saas_management", "SaaS Management is enabled", ()),
    (
        "saas_management_event_application_review",
        "saas_management",
        "A SaaS Management application event is reviewed",
        (),
    ),
    ("saas_management_settings_update", "saas_management", "SaaS Management settings are updated", ()),
    ("software_add", "software", "A new software is added", ("object_change", "device_context")),
    ("software_add_request", "software", "A software is added from admin portal", ()),
    ("software_change", "software", "A software is updated", ("object_change", "device_context")),
    ("software_change_request", "software", "A software is updated from admin portal", ()),
    ("software_remove", "software", "An existing software is removed", ("object_change", "device_context")),
    ("software_remove_request", "software", "A software is removed from admin portal", ()),
    ("sso_auth", "authentication", "A user authenticated to an SSO application", ("sso_auth",)),
    ("system_create", "device", "A device is added", ()),
    ("system_delete", "device", "A device is deleted", ()),
    ("system_fde_key_decrypt", "device", "A device's full disk encryption key is decrypted", ()),
    ("system_fde_key_update", "device", "A device's full disk encryption key is updated", ()),
    ("system_update", "device", "A device is updated", ()),
    ("totp_delete_enrollment", "user", "A user's TOTP enrollment is deleted", ()),
    ("totp_finish_enrollment", "user", "A user's TOTP enrollment is completed", ()),
    ("totp_start_enrollment", "user", "A user's TOTP enrollment is initiated", ()),
    ("user_activated", "user", "A user account is activated", ()),
    ("user_admin_granted", "user", "A user is granted admin sudo privileges to device(s)", ()),
    ("user_admin_revoked", "user", "A user's admin access is revoked", ()),
    ("user_create", "user", "A user account is created", ()),
    ("user_create_provision", "user", "User creation in an external application has failed", ()),
    ("user_delete", "user", "A user account is deleted", ()),
    ("user_delete_provision", "user", "User deletion in an external application has failed", ()),
    ("user_deprovision", "user", "User deprovisioning in an external application has failed", ()),
    ("user_group_admin_grant", "group", "A user group is granted admin privileges to device(s)", ()),
    ("user_group_admin_revoke", "group", "A user group's admin access is revoked", ()),
    ("user_lockout", "user", "A user account is locked out", ()),
    ("user_login_attempt", "authentication", "A user attempted to login", ("portal_login",)),
    ("user_mfa_exclusion_expired", "user", "A user's MFA enrollment has expired", ()),
    ("user_password_change", "user", "A user's password is updated", ()),
    ("user_password_expired", "user", "A user's password has expired", ()),
    ("user_password_reset_request", "user", "A user requests a password reset", ()),
    ("user_password_set", "user", "A user sets their password", ()),
    ("user_suspended", "user", "A user account is suspended", ()),
    ("user_unlocked", "user", "A user's account is unlocked", ()),
    ("user_update", "user", "A user account is updated", ()),
    ("user_update_provision", "user", "User update in an external application has failed", ()),
    # Documented elsewhere (spec 10.3 / 10.4) but missing from the vendor table.
    ("admin_privilege_grant", "admin", "An admin is granted additional privileges", ()),
    ("alert_created", "alerts", "An alert is raised by an Insights rule", ("alerts",)),
    ("alert_status_updated", "alerts", "An alert's status is changed", ("alerts", "object_change")),
    ("alert_updated", "alerts", "An alert's assignee or remark is updated", ("alerts", "object_change")),
    ("ldap_bind", "authentication", "A client attempted to bind to the LDAP directory", ("ldap",)),
    ("ldap_search", "authentication", "A client searched the LDAP directory", ("ldap",)),
    ("organization_create", "organization", "An organization is created", ()),
    ("organization_update", "organization", "An organization's settings are updated", ()),
    (
        "passwordmanager_folder_create",
        "password_manager",
        "A user created a folder in Password Manager",
        (),
    ),
    (
        "radius_auth",
        "authentication",
        "A user attempted to authenticate to a RADIUS server (legacy name of radius_auth_attempt)",
        ("radius",),
    ),
    ("radius_auth_attempt", "authentication", "A user attempted to authenticate to a RADIUS server", ("radius",)),
    ("system_group_create", "group", "A device group is created", ()),
    ("system_group_delete", "group", "A device group is deleted", ()),
    ("system_group_update", "group", "A device group is updated", ()),
    ("systemuser_update", "user", "A user account is updated (legacy name of user_update)", ()),
    ("user_group_create", "group", "A user group is created", ()),
    ("user_group_delete", "group", "A user group is deleted", ()),
    ("user_group_update", "group", "A user group is updated", ()),
    ("user_login", "authentication", "A user attempted to log in to a device", ("systems",)),
    # alertsite's own audit events (spec 9).
    (
        "alertsite_login_attempt",
        "authentication",
        "Someone attempted to log in to alertsite (console, admin or API token)",
        ("alertsite_login",),
    ),
    ("alert_rule_create", "alerts", "An alert rule is created", ()),
    ("alert_rule_delete", "alerts", "An alert rule is deleted", ()),
    ("alert_rule_update", "alerts", "An alert rule is updated", ()),
    ("notification_channel_create", "alerts", "A notification channel is created", ()),
    ("notification_channel_delete", "alerts", "A notification channel is deleted", ()),
    ("notification_channel_update", "alerts", "A notification channel is updated", ()),
    (
        "notification_delivery_failed",
        "alerts",
        "A notification could not be delivered after all retries",
        ("object_change", "notification"),
    ),
    ("maintenance_window_create", "alerts", "A maintenance window is created", ()),
    ("maintenance_window_delete", "alerts", "A maintenance window is deleted", ()),
    ("maintenance_window_update", "alerts", "A maintenance window is updated", ()),
    ("insights_source_create", "alerts", "A Directory Insights source is created", ()),
    ("insights_source_delete", "alerts", "A Directory Insights source is deleted", ()),
    ("insights_source_update", "alerts", "A Directory Insights source is updated", ()),
    (
        "insights_source_failed",
        "alerts",
        "A Directory Insights source stopped pulling events (refused, or failing again and again)",
        ("object_change", "source"),
    ),
    (
        "insights_source_recovered",
        "alerts",
        "A failing Directory Insights source pulls events again",
        ("object_change", "source"),
    ),
    (
        "notification_test_sent",
        "alerts",
        "A test notification is sent to a channel",
        ("object_change", "notification"),
    ),
)

_FAMILIES_BY_NAME: dict[str, tuple[str, ...]] = {
    name: families or _DEFAULT_FAMILIES for name, _category, _description, families in _RAW_EVENT_TYPES
}


def _dedupe(keys: Iterable[str]) -> tuple[str, ...]:
    """Return the keys once each, first occurrence wins, so the editor lists them in a stable order."""
    return tuple(dict.fromkeys(keys))


def keys_for(name: str) -> tuple[str, ...]:
    """Return the filter keys offered for an event type: the common keys, then its families' keys.

    Unknown types (first seen at ingest) get the common keys only, as nothing is known of their shape.
    """
    families = _FAMILIES_BY_NAME.get(name, ())
    return _dedupe([*COMMON_KEYS, *(key for family in families for key in FAMILY_KEYS[family])])


@dataclass(frozen=True)
class EventTypeSpec:
    """One catalog entry, shaped like `events.models.EventType` so it can be upserted as is."""

    name: str
    description: str
    category: str
    keys: tuple[str, ...]


EVENT_TYPES: tuple[EventTypeSpec, ...] = tuple(
    EventTypeSpec(name=name, description=description, category=category, keys=keys_for(name))
    for name, category, description, _families in sorted(_RAW_EVENT_TYPES)
)

CATALOG_BY_NAME: dict[str, EventTypeSpec] = {spec.name: spec for spec in EVENT_TYPES}


def catalog_sync(EventTypeModel: Any, specs: Iterable[EventTypeSpec] = EVENT_TYPES) -> int:
    """Upsert the catalog into `EventTypeModel` and return how many entries were written.

    Takes the model class as an argument so a data migration can pass its historical model.
    Rows are matched by `name`; a type first seen at ingest (`known=False`) becomes known.
    """
    count = 0
    for spec in specs:
        EventTypeModel.objects.update_or_create(
            name=spec.name,
            defaults={
                "description": spec.description,
                "category": spec.category,
                "known": True,
                "keys": list(spec.keys),
            },
        )
        count += 1
    return count


def catalog_keys_outdated(stored: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the keys to store for catalog types whose stored keys lack some of the catalog's.

    `stored` maps an event type's name to its stored keys (a JSON list; anything else counts as
    none). When a release adds keys to a type, its row gets the catalog's keys, in catalog order,
    followed by any other keys it stored (an admin's additions are kept). Types that offer every
    catalog key, and names the catalog does not know, are left out, so an unchanged catalog asks
    for no writes.
    """
    updates: dict[str, list[str]] = {}
    for name, keys in stored.items():
        spec = CATALOG_BY_NAME.get(name)
        current = [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []
        if spec is not None and not set(spec.keys) <= set(current):
            updates[name] = list(_dedupe([*spec.keys, *current]))
    return updates


def catalog_keys_refresh(EventTypeModel: Any, using: str = "default") -> int:
    """Give stored catalog types the keys a newer catalog added; return how many rows changed.

    For existing databases, whose rows `catalog_sync` wrote with an older catalog: run after
    migrate next to the missing-types check. Takes the model class like `catalog_sync`. One
    query when nothing changed; one UPDATE per outdated type otherwise.
    """
    manager = EventTypeModel.objects.using(using)
    stored = dict(manager.filter(name__in=list(CATALOG_BY_NAME)).values_list("name", "keys"))
    updates = catalog_keys_outdated(stored)
    for name, keys in updates.items():
        manager.filter(name=name).update(keys=keys)
    return len(updates)


# Association actions ---------------------------------------------------------------------------

# Connection types of `association.connection.{from,to}.type` (spec 10.2). Software uses
# "software_app", the graph type JumpCloud's v2 API gives software apps; spec 10.2 lists none.
USER = "user"
USER_GROUP = "user_group"
SYSTEM = "system"  # a device
SYSTEM_GROUP = "system_group"  # a device group
APPLICATION = "application"
POLICY = "policy"
POLICY_GROUP = "policy_group"
RADIUS_SERVER = "radius_server"
LDAP_SERVER = "ldap_server"
G_SUITE = "g_suite"
OFFICE_365 = "office_365"
ACTIVE_DIRECTORY = "active_directory"
COMMAND = "command"
SOFTWARE_APP = "software_app"

CONNECTION_TYPES: tuple[str, ...] = (
    USER,
    USER_GROUP,
    SYSTEM,
    SYSTEM_GROUP,
    APPLICATION,
    POLICY,
    POLICY_GROUP,
    RADIUS_SERVER,
    LDAP_SERVER,
    G_SUITE,
    OFFICE_365,
    ACTIVE_DIRECTORY,
    COMMAND,
    SOFTWARE_APP,
)

AssociationOp = Literal["add", "remove", "update"]
ASSOCIATION_OPS: tuple[str, ...] = ("add", "remove", "update")

_USERS = (USER, USER_GROUP)
_DEVICES = (SYSTEM, SYSTEM_GROUP)


@dataclass(frozen=True)
class AssociationAction:
    """One of the vendor's pre-filtered kinds of `association_change`.

    - An empty `from_types` / `to_types` means that side is not filtered.
    - `bidirectional`: DI records a connection from whichever side the admin edited (adding a
      user to a group is stored as user_group -> user), so the action also matches swapped.
    """

    slug: str
    description: str
    op: AssociationOp
    from_types: tuple[str, ...] = ()
    to_types: tuple[str, ...] = ()
    bidirectional: bool = True

    @property
    def filters(self) -> list[dict[str, Any]]:
        """Return the built-in filters in the contract's shape, for the stated direction.

        A flat AND of filters cannot say "or swapped"; `filter_alternatives` can, and
        `association_action_matches` is the exact test.
        """
        return self._filters(self.from_types, self.to_types)

    @property
    def filter_alternatives(self) -> list[list[dict[str, Any]]]:
        """Return filter lists of which any one matching means the action matches."""
        alternatives = [self._filters(self.from_types, self.to_types)]
        if self.bidirectional and self.from_types != self.to_types:
            alternatives.append(self._filters(self.to_types, self.from_types))
        return alternatives

    def as_dict(self) -> dict[str, Any]:
        """Return the shape the catalog API lists under `association_change`'s `actions`."""
        return {"slug": self.slug, "description": self.description, "filters": self.filters}

    def _filters(self, from_types: tuple[str, ...], to_types: tuple[str, ...]) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = [{"key": "association.op", "operator": "eq", "value": self.op}]
        if from_types:
            filters.append({"key": "association.connection.from.type", "operator": "in", "value": list(from_types)})
        if to_types:
            filters.append({"key": "association.connection.to.type", "operator": "in", "value": list(to_types)})
        return filters


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _connection_type(connection: Mapping[str, Any], side: str) -> str | None:
    end = connection.get(side)
    return _lower(end.get("type")) if isinstance(end, Mapping) else None


def association_action_matches(action: AssociationAction, event: Mapping[str, Any]) -> bool:
    """Tell whether an `association_change` event is an instance of `action`.

    Pure and total: malformed payloads are no match, never an exception. Op and types compare
    ignoring case because older DI data spells types upper-case (`USER_GROUP`). The caller checks
    `event_type`.
    """
    association = event.get("association")
    if not isinstance(association, Mapping) or _lower(association.get("op")) != action.op:
        return False
    connection = association.get("connection")
    if not isinstance(connection, Mapping):
        connection = {}
    source, target = _connection_type(connection, "from"), _connection_type(connection, "to")

    def fits(types: tuple[str, ...], value: str | None) -> bool:
        return not types or value in types

    if fits(action.from_types, source) and fits(action.to_types, target):
        return True
    return action.bidirectional and fits(action.from_types, target) and fits(action.to_types, source)


def association_actions_for(event: Mapping[str, Any]) -> list[AssociationAction]:
    """Return every action an event is an instance of (the generic "update" one overlaps others)."""
    return [action for action in ASSOCIATION_ACTIONS if association_action_matches(action, event)]


def _grant(slug: str, description: str, target: str) -> AssociationAction:
    return AssociationAction(slug, description, "add", _USERS, (target,))


def _revoke(slug: str, description: str, target: str) -> AssociationAction:
    return AssociationAction(slug, description, "remove", _USERS, (target,))


# In the vendor table's order. Device access also covers device groups, since binding a user
# group to a device group is how access to many devices is granted.
ASSOCIATION_ACTIONS: tuple[AssociationAction, ...] = (
    AssociationAction(
        "command_applied_to_device", "A command is applied to a device or device group", "add", (COMMAND,), _DEVICES
    ),
    AssociationAction(
        "command_removed_from_device",
        "A command is removed from a device or device group",
        "remove",
        (COMMAND,),
        _DEVICES,
    ),
    AssociationAction(
        "device_added_to_device_group", "A device is added to a device group", "add", (SYSTEM,), (SYSTEM_GROUP,)
    ),
    AssociationAction(
        "device_removed_from_device_group",
        "A device is removed from a device group",
        "remove",
        (SYSTEM,),
        (SYSTEM_GROUP,),
    ),
    AssociationAction(
        "password_policy_assigned_to_user_group",
        "A password policy is assigned to a user group",
        "add",
        (POLICY,),
        (USER_GROUP,),
    ),
    AssociationAction(
        "password_policy_unassigned_from_user_group",
        "A password policy is unassigned from a user group",
        "remove",
        (POLICY,),
        (USER_GROUP,),
    ),
    AssociationAction(
        "policy_group_assigned_to_device",
        "A policy group is assigned to a device or device group",
        "add",
        (POLICY_GROUP,),
        _DEVICES,
    ),
    AssociationAction(
        "policy_group_unassigned_from_device",
        "A policy group is unassigned from a device or device group",
        "remove",
        (POLICY_GROUP,),
        _DEVICES,
    ),
    # A policy group's membership (which policies it holds) changing.
    AssociationAction("policy_group_updated", "A policy group is updated", "update", (POLICY_GROUP,), (POLICY,)),
    AssociationAction(
        "policy_assigned_to_device", "A policy is assigned to a device or device group", "add", (POLICY,), _DEVICES
    ),
    AssociationAction(
        "policy_unassigned_from_device",
        "A policy is unassigned from a device or device group",
        "remove",
        (POLICY,),
        _DEVICES,
    ),
    AssociationAction(
        "software_added_to_device",
        "A software is added to a device or device group",
        "add",
        (SOFTWARE_APP,),
        _DEVICES,
    ),
    AssociationAction(
        "software_removed_from_device",
        "A software is removed from a device or device group",
        "remove",
        (SOFTWARE_APP,),
        _DEVICES,
    ),
    AssociationAction("user_added_to_user_group", "A user is added to a user group", "add", (USER,), (USER_GROUP,)),
    AssociationAction(
        "user_removed_from_user_group", "A user is removed from a user group", "remove", (USER,), (USER_GROUP,)
    ),
    # Any connection whose attributes (e.g. sudo on a device) change: no type filter.
    AssociationAction(
        "association_updated",
        "A user or device association / membership is updated",
        "update",
        bidirectional=False,
    ),
    _grant(
        "user_granted_access_to_active_directory",
        "A user or user group is granted access to Active Directory",
        ACTIVE_DIRECTORY,
    ),
    _grant(
        "user_granted_access_to_application", "A user or user group is granted access to an application", APPLICATION
    ),
    AssociationAction(
        "user_granted_access_to_device", "A user or user group is granted access to a device", "add", _USERS, _DEVICES
    ),
    _grant("user_granted_access_to_g_suite", "A user or user group is granted access to G Suite", G_SUITE),
    _grant("user_granted_access_to_ldap_server", "A user or user group is granted access to LDAP server", LDAP_SERVER),
    _grant(
        "user_granted_access_to_microsoft_365", "A user or user group is granted access to Microsoft 365", OFFICE_365
    ),
    _grant(
        "user_granted_access_to_radius_server", "A user or user group is granted access to RADIUS server", RADIUS_SERVER
    ),
    _revoke(
        "user_access_to_active_directory_revoked",
        "A user or user group's access to Active Directory is revoked",
        ACTIVE_DIRECTORY,
    ),
    _revoke(
        "user_access_to_application_revoked", "A user or user group's access to an application is revoked", APPLICATION
    ),
    AssociationAction(
        "user_access_to_device_revoked",
        "A user or user group's access to a device is revoked",
        "remove",
        _USERS,
        _DEVICES,
    ),
    _revoke("user_access_to_g_suite_revoked", "A user or user group's access to GSuite is revoked", G_SUITE),
    _revoke(
        "user_access_to_ldap_server_revoked", "A user or user group's access to LDAP server is revoked", LDAP_SERVER
    ),
    _revoke(
        "user_access_to_microsoft_365_revoked", "A user or user group's access to Microsoft 365 is revoked", OFFICE_365
    ),
    _revoke(
        "user_access_to_radius_server_revoked",
        "A user or user group's access to RADIUS server is revoked",
        RADIUS_SERVER,
    ),
)

ASSOCIATION_ACTIONS_BY_SLUG: dict[str, AssociationAction] = {action.slug: action for action in ASSOCIATION_ACTIONS}
