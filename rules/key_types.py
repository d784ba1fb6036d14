"""What kind of value each filter key holds, and which operators the rule form offers for it.

The event catalog lists keys, not their types, so the kind is read off the key's last segment
(`auth_context.auth_methods.totp.success` is a boolean like `success`). The form uses it to pick
the value widget (a True/False choice, a number, text) and to offer only the operators that fit:
an IP address is compared, listed or placed in a network, never "greater than" anything.

This only shapes what the form offers. Validation (rules.validation) still accepts any operator
on any key, so a rule saved through the API, or before a key was typed, keeps its operator.
"""

from __future__ import annotations

from rules.operators import BOOLEAN, NONE, NUMBER, operators

BOOLEAN_KIND, NUMBER_KIND, IP_KIND, TEXT_KIND, ANY_KIND = "boolean", "number", "ip", "text", "any"

BOOLEAN_KEY_NAMES = frozenset(
    {"success", "mfa", "idp_initiated", "sso_token_success", "start_tls", "tls_established", "enabled", "suspended"}
)
NUMBER_KEY_NAMES = frozenset({"error_code", "number_of_results", "logon_type", "count"})
IP_KEY_NAMES = frozenset({"client_ip", "src_ip", "ip", "ip_address", "remote_ip", "source_ip"})

# The operators that only make sense on addresses, and those an address never takes.
NETWORK_OPERATORS = frozenset({"in_cidr", "not_in_cidr"})
IP_OPERATORS = frozenset({"eq", "neq", "in", "not_in", "in_cidr", "not_in_cidr", "starts_with", "matches"})


def key_kind(key: str) -> str:
    """The kind of value at `key`, by its last segment: boolean, number, ip or text."""
    name = key.rsplit(".", 1)[-1]
    if name in BOOLEAN_KEY_NAMES:
        return BOOLEAN_KIND
    if name in NUMBER_KEY_NAMES:
        return NUMBER_KIND
    if name in IP_KEY_NAMES:
        return IP_KIND
    return TEXT_KIND


def _fits(kind: str, key: str) -> bool:
    operator = operators.get(key)
    if NONE in operator.value_kinds or kind == ANY_KIND:
        return True  # exists / does not exist fit every key; a custom key may be anything
    if kind == BOOLEAN_KIND:
        return BOOLEAN in operator.value_kinds
    if kind == NUMBER_KIND:
        return NUMBER in operator.value_kinds
    if kind == IP_KIND:
        return key in IP_OPERATORS
    return key not in NETWORK_OPERATORS


def operators_for_kind(kind: str) -> list[str]:
    """The operator keys the form offers for a kind of key, in the registry's order.

    The change-aware operators (`changed`, ...) are left out: whether they fit depends on the
    event (does it carry `changes[]`), not on the key, so the form decides those itself.
    """
    return [key for key, operator in operators.items() if not operator.on_changes and _fits(kind, key)]


def form_key_types() -> dict[str, object]:
    """What the rule form's script needs: key names by kind, and the operators offered per kind."""
    return {
        "boolean_keys": sorted(BOOLEAN_KEY_NAMES),
        "number_keys": sorted(NUMBER_KEY_NAMES),
        "ip_keys": sorted(IP_KEY_NAMES),
        "kind_operators": {
            kind: operators_for_kind(kind) for kind in (BOOLEAN_KIND, NUMBER_KIND, IP_KIND, TEXT_KIND, ANY_KIND)
        },
    }
