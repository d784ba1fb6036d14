"""Generate realistic Directory Insights events for demos, load tests and benchmarks.

Everything comes from one seeded `random.Random`, so a seed and a start time always give
the same stream: a test can pin what it sees and a bench can be re-run with the same load.
The traffic imitates a mid-sized organisation: a population of users, admins, devices,
applications and groups; logins dominate, directory changes are rare; about 8% of logins
fail, and now and then one user is hit by a burst of brute-force failures that ends in a
lockout. Every address is from the documentation ranges (RFC 5737 / RFC 3849) and every
e-mail is at example.com, so generated data can never point at a real person or network.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Event = dict[str, Any]

ORGANIZATION_ID = "5f0c1a2b3c4d5e6f7a8b9c0d"
EMAIL_DOMAIN = "example.com"
IPV4_NETWORKS = ("192.0.2.", "198.51.100.", "203.0.113.")
IPV6_PREFIX = "2001:db8:"

# Data tables -----------------------------------------------------------------------------------

FIRST_NAMES = (
    "jane", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
    "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "amara", "bruno", "chen", "dmitri",
    "elena", "farah", "gustavo", "hana", "ines", "jonas", "kofi", "lucia", "mateo", "nadia", "omar", "priya",
    "quinn", "rosa", "sanjay", "tomas", "uma", "yusuf", "zoe",
)  # fmt: skip
LAST_NAMES = (
    "doe", "smith", "ng", "jones", "garcia", "miller", "davis", "martinez", "lopez", "wilson", "anderson",
    "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "white", "harris", "clark", "lewis",
    "walker", "hall", "young", "king", "wright", "scott", "nguyen", "hill", "adams", "baker", "nelson",
    "carter", "mitchell", "roberts", "okafor", "kowalski", "schmidt", "rossi", "tanaka", "silva",
)  # fmt: skip
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "Support", "Operations", "Legal", "People")
TITLES = ("Engineer", "Senior Engineer", "Account Executive", "Analyst", "Manager", "Director", "Specialist")


def _geo(cc: str, rc: str, region: str, continent: str, tz: str, lat: float, lon: float) -> dict[str, Any]:
    return {
        "country_code": cc,
        "region_code": rc,
        "region_name": region,
        "continent_code": continent,
        "timezone": tz,
        "latitude": lat,
        "longitude": lon,
    }


# (weight, geoip): where the workforce lives and logs in from.
HOME_LOCATIONS: tuple[tuple[float, dict[str, Any]], ...] = (
    (30, _geo("US", "CO", "Colorado", "NA", "America/Denver", 39.7392, -104.9903)),
    (14, _geo("US", "CA", "California", "NA", "America/Los_Angeles", 37.7749, -122.4194)),
    (10, _geo("US", "NY", "New York", "NA", "America/New_York", 40.7128, -74.006)),
    (6, _geo("US", "TX", "Texas", "NA", "America/Chicago", 30.2672, -97.7431)),
    (5, _geo("CA", "ON", "Ontario", "NA", "America/Toronto", 43.6532, -79.3832)),
    (6, _geo("GB", "ENG", "England", "EU", "Europe/London", 51.5072, -0.1276)),
    (5, _geo("DE", "BE", "Land Berlin", "EU", "Europe/Berlin", 52.5244, 13.4105)),
    (3, _geo("FR", "IDF", "Île-de-France", "EU", "Europe/Paris", 48.8566, 2.3522)),
    (3, _geo("IE", "L", "Leinster", "EU", "Europe/Dublin", 53.3498, -6.2603)),
    (3, _geo("IN", "KA", "Karnataka", "AS", "Asia/Kolkata", 12.9716, 77.5946)),
    (2, _geo("BR", "SP", "São Paulo", "SA", "America/Sao_Paulo", -23.5475, -46.6361)),
    (2, _geo("JP", "13", "Tokyo", "AS", "Asia/Tokyo", 35.6762, 139.6503)),
    (2, _geo("AU", "NSW", "New South Wales", "OC", "Australia/Sydney", -33.8688, 151.2093)),
    (2, _geo("NL", "NH", "North Holland", "EU", "Europe/Amsterdam", 52.3676, 4.9041)),
    (1, _geo("MX", "CMX", "Mexico City", "NA", "America/Mexico_City", 19.4326, -99.1332)),
)
# Where attackers and the odd surprising login come from: rare in ordinary traffic.
UNUSUAL_LOCATIONS: tuple[tuple[float, dict[str, Any]], ...] = (
    (3, _geo("RU", "MOW", "Moscow", "EU", "Europe/Moscow", 55.7558, 37.6173)),
    (3, _geo("CN", "BJ", "Beijing", "AS", "Asia/Shanghai", 39.9042, 116.4074)),
    (2, _geo("NG", "LA", "Lagos", "AF", "Africa/Lagos", 6.5244, 3.3792)),
    (2, _geo("RO", "B", "Bucharest", "EU", "Europe/Bucharest", 44.4268, 26.1025)),
    (2, _geo("VN", "HN", "Hanoi", "AS", "Asia/Bangkok", 21.0278, 105.8342)),
    (1, _geo("IR", "23", "Tehran", "AS", "Asia/Tehran", 35.6892, 51.389)),
    (1, _geo("KP", "01", "Pyongyang", "AS", "Asia/Pyongyang", 39.0392, 125.7625)),
)

# (weight, browser, version, os, os_full, os_version, device)
USER_AGENTS: tuple[tuple[float, str, str, str, str, str, str], ...] = (
    (30, "Chrome", "126.0.0.0", "Mac OS X", "Mac OS X 10.15.7", "10.15.7", "Mac"),
    (20, "Chrome", "126.0.0.0", "Windows", "Windows 10", "10", "Other"),
    (12, "Edge", "125.0.0.0", "Windows", "Windows 10", "10", "Other"),
    (10, "Safari", "17.5", "Mac OS X", "Mac OS X 10.15.7", "10.15.7", "Mac"),
    (8, "Firefox", "127.0", "Windows", "Windows 10", "10", "Other"),
    (4, "Firefox", "127.0", "Ubuntu", "Ubuntu", "", "Other"),
    (8, "Mobile Safari", "17.5", "iOS", "iOS 17.5.1", "17.5.1", "iPhone"),
    (6, "Chrome Mobile", "126.0.6478.71", "Android", "Android 14", "14", "Pixel 8"),
)
API_AGENTS: tuple[tuple[float, str, str, str, str, str, str], ...] = (
    (3, "curl", "8.5.0", "Other", "Other", "", "Other"),
    (2, "python-requests", "2.32.3", "Other", "Other", "", "Other"),
    (1, "Go-http-client", "1.1", "Other", "Other", "", "Other"),
)

# (kind, os, version, hostname suffix, login processes)
DEVICE_KINDS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("mac", "Mac OS X", "14.5", "MBP", ("loginwindow", "sshd", "screensharingd")),
    ("windows", "Windows", "11 Pro", "LAPTOP", ("winlogon.exe", "svchost.exe")),
    ("windows", "Windows", "10 Pro", "DESKTOP", ("winlogon.exe",)),
    ("linux", "Ubuntu", "22.04", "WS", ("sshd", "gdm-password")),
)
WINDOWS_LOGON_TYPES = ("Interactive", "RemoteInteractive", "CachedInteractive", "Unlock")

# (name, display label, sso type)
APPLICATIONS: tuple[tuple[str, str, str], ...] = (
    ("salesforce", "Salesforce", "saml"),
    ("zendesk", "Zendesk SSO", "saml"),
    ("slack", "Slack", "saml"),
    ("github", "GitHub Enterprise", "saml"),
    ("aws", "AWS IAM Identity Center", "saml"),
    ("google_workspace", "Google Workspace", "saml"),
    ("office365", "Microsoft 365", "saml"),
    ("atlassian", "Atlassian Cloud", "saml"),
    ("zoom", "Zoom", "saml"),
    ("workday", "Workday", "saml"),
    ("datadog", "Datadog", "oidc"),
    ("notion", "Notion", "oidc"),
)
SSO_ERRORS = ("not authorized", "application unreachable", "invalid SAML request", "user not assigned")

USER_GROUPS = (
    "All Users", "Engineering", "Sales", "Marketing", "Finance", "Support", "Contractors", "Domain Admins",
    "VPN Users", "Wi-Fi Users", "On-call", "Executives",
)  # fmt: skip
SYSTEM_GROUPS = ("All Windows Laptops", "All Macs", "Linux Servers", "Kiosks", "Executive Devices", "Lab Machines")
# (name, template name, OS family)
POLICIES: tuple[tuple[str, str, str], ...] = (
    ("BitLocker Full Disk Encryption", "bitlocker_windows", "windows"),
    ("FileVault 2", "filevault_darwin", "darwin"),
    ("Screen Lock After 10 Minutes", "screensaver_lock_windows", "windows"),
    ("Disable USB Storage", "usb_storage_disable_windows", "windows"),
    ("macOS Software Updates", "software_updates_darwin", "darwin"),
    ("Lock Screen Linux", "lock_screen_linux", "linux"),
    ("Require MFA for User Portal", "mfa_user_portal", "all"),
)
CONDITIONAL_POLICIES = ("Require MFA for User Portal", "Block Unknown Countries", "Global Policy", "Trusted Devices")
# (username, LDAP server address last octet): service accounts binding from fixed hosts.
LDAP_SERVICE_ACCOUNTS = (("svc-wiki", 5), ("svc-jira", 6), ("svc-printer", 7), ("svc-vpn", 8), ("svc-gitlab", 9))
LDAP_SEARCH_FILTERS = ("(objectClass=inetOrgPerson)", "(&(objectClass=groupOfNames)(cn=*))", "(uid={user})")
ADMIN_ROLES = ("Administrator with Billing", "Administrator", "Manager", "Help Desk", "Read Only")
ADMIN_HANDLES = ("it.admin", "helpdesk", "secops", "sysadmin", "it.manager", "helpdesk2", "cloud.ops", "audit")
MDM_REQUESTS: tuple[tuple[float, str], ...] = (
    (30, "DeviceInformation"),
    (20, "InstalledApplicationList"),
    (15, "SecurityInfo"),
    (12, "InstallProfile"),
    (8, "ScheduleOSUpdate"),
    (6, "RemoveProfile"),
    (5, "RestartDevice"),
    (3, "DeviceLock"),
    (1, "EraseDevice"),
)
SOFTWARE = (
    ("Google Chrome", "126.0.6478.127"), ("Slack", "4.39.90"), ("Zoom", "6.1.1"), ("Visual Studio Code", "1.90.2"),
    ("1Password", "8.10.33"), ("Docker Desktop", "4.31.1"), ("TeamViewer", "15.54.3"), ("Firefox", "127.0.2"),
)  # fmt: skip
VAULT_ITEMS = ("AWS root", "Wi-Fi guest", "Stripe dashboard", "Printer admin", "GitHub deploy key", "Bank portal")

LOGIN_FAILURES: tuple[tuple[float, str], ...] = (
    (70, "invalid credentials"),
    (15, "incorrect TOTP code"),
    (6, "user is suspended"),
    (5, "password expired"),
    (4, "access denied by policy"),
)
RADIUS_FAILURES = ("mschap: MS-CHAP2-Response is incorrect", "user not found", "MFA rejected", "no matching policy")
LOCKOUT_AFTER = 6

# Traffic mix: (event type, relative weight). Brute-force bursts and their lockouts come on top.
TRAFFIC_MIX: tuple[tuple[str, float], ...] = (
    ("user_login_attempt", 360),
    ("sso_auth", 150),
    ("user_login", 90),
    ("radius_auth_attempt", 60),
    ("ldap_bind", 50),
    ("ldap_search", 25),
    ("admin_login_attempt", 30),
    ("mdm_command_result", 30),
    ("association_change", 35),
    ("user_update", 25),
    ("software_add", 14),
    ("software_remove", 5),
    ("passwordmanager_item_reveal", 14),
    ("passwordmanager_item_copy", 12),
    ("user_password_change", 12),
    ("system_update", 8),
    ("user_create", 6),
    ("system_create", 4),
    ("passwordmanager_folder_create", 4),
    ("totp_finish_enrollment", 3),
    ("user_group_update", 3),
    ("user_delete", 2.5),
    ("user_unlocked", 2),
    ("user_lockout", 1.5),
    ("policy_update", 2),
    ("system_fde_key_decrypt", 2),
    ("application_update", 2),
    ("user_group_create", 1),
    ("policy_create", 1),
    ("admin_update", 1),
    ("admin_totp_disable", 0.5),
    ("passwordmanager_enable", 0.5),
    ("passwordmanager_items_export", 0.5),
    ("organization_update", 0.3),
)


# Population ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    hostname: str
    kind: str
    os: str
    version: str
    processes: tuple[str, ...]

    def context(self) -> dict[str, Any]:
        return {"id": self.id, "hostname": self.hostname, "displayName": self.hostname}


@dataclass(frozen=True, slots=True)
class Person:
    """A user or an admin, with the place, address and browser they usually log in from."""

    id: str
    username: str
    email: str
    first: str
    last: str
    department: str
    home: dict[str, Any]
    ip: str
    agent: dict[str, Any]
    device: Device | None
    role: str = ""

    def as_user(self) -> dict[str, Any]:
        return {"id": self.id, "type": "user", "username": self.username, "email": self.email}

    def as_admin(self) -> dict[str, Any]:
        return {"id": self.id, "type": "admin", "email": self.email}


@dataclass(frozen=True, slots=True)
class Named:
    """An application, group or policy: something an association or a change points at."""

    id: str
    name: str
    label: str = ""
    extra: str = ""


@dataclass(slots=True)
class Burst:
    """A brute-force attack on one user from one address, in progress."""

    victim: Person
    ip: str
    geoip: dict[str, Any]
    agent: dict[str, Any]
    attempts_left: int
    failures: int = 0


def rfc3339(at: datetime) -> str:
    """Format like DI does: UTC, milliseconds, a Z."""
    at = at.astimezone(UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"


def useragent(name: str, version: str, os: str, os_full: str, os_version: str, device: str) -> dict[str, Any]:
    """Build the parsed user-agent object DI stores, splitting versions the way its parser does."""
    major, minor, patch = ([*version.split("."), "0", "0"])[:3]
    agent: dict[str, Any] = {"name": name, "version": version, "major": major, "minor": minor, "patch": patch}
    agent.update({"os": os, "os_name": os, "os_full": os_full})
    if os_version:
        parts = os_version.split(".")
        agent["os_version"] = os_version
        for key, part in zip(("os_major", "os_minor", "os_patch"), parts, strict=False):
            agent[key] = part
    agent["device"] = device
    return agent


# The simulator ---------------------------------------------------------------------------------


class EventSimulator:
    """Produce a deterministic stream of Directory-Insights-shaped events.

    - `event(at)` returns one event stamped `at`; `events(...)` yields many, spaced like a
      Poisson process when a rate is given.
    - The same seed, population size and timestamps give the same events, ids included.
    - Ids look like the real ones: a 24-hex ObjectId (4 bytes of time, 5 per-simulator
      bytes, a 3-byte counter), or an upper-case UUID for RADIUS.
    """

    def __init__(
        self,
        seed: int = 0,
        users: int = 200,
        *,
        admins: int = 5,
        organization: str = ORGANIZATION_ID,
        login_failure_rate: float = 0.065,
        burst_rate: float = 1 / 2000,
        unusual_location_rate: float = 0.01,
    ) -> None:
        if users < 1 or admins < 1:
            raise ValueError("A simulated organisation needs at least one user and one admin.")
        self.seed = seed
        self.organization = organization
        self.login_failure_rate = login_failure_rate
        self.burst_rate = burst_rate
        self.unusual_location_rate = unusual_location_rate
        self._rng = random.Random(seed)
        self._process = self._rng.getrandbits(40)
        self._counter = self._rng.getrandbits(24)
        self._burst: Burst | None = None
        self._build_population(users, admins)
        self._builders: dict[str, Callable[[datetime, str], Event]] = self._builder_table()
        self._mix_types = [name for name, _ in TRAFFIC_MIX]
        self._mix_weights = [weight for _, weight in TRAFFIC_MIX]

    @property
    def event_types(self) -> list[str]:
        """Every event type this simulator can produce."""
        return list(self._mix_types)

    # Public API -------------------------------------------------------------------------------

    def event(self, at: datetime) -> Event:
        """Return the next event, stamped `at` (an aware datetime)."""
        if at.tzinfo is None:
            raise ValueError("EventSimulator needs timezone-aware datetimes.")
        rng = self._rng
        if self._burst is None and rng.random() < self.burst_rate:
            self._burst = self._burst_start()
        if self._burst is not None and rng.random() < 0.35:
            return self._burst_event(at)
        event_type = rng.choices(self._mix_types, self._mix_weights)[0]
        return self._builders[event_type](at, event_type)

    def events(self, count: int, *, start: datetime, rate_per_second: float | None = None) -> Iterator[Event]:
        """Yield `count` events from `start`; with a rate, gaps are exponential (a Poisson stream).

        Without a rate every event is stamped `start`, for callers that assign time themselves.
        """
        if count < 0:
            raise ValueError("count must not be negative.")
        if rate_per_second is not None and rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive.")
        at = start
        for _ in range(count):
            yield self.event(at)
            if rate_per_second is not None:
                at += timedelta(seconds=self._rng.expovariate(rate_per_second))

    # Population ---------------------------------------------------------------------------------

    def _build_population(self, users: int, admins: int) -> None:
        rng = self._rng
        taken: set[str] = set()
        self.users = [self._person(taken, with_device=rng.random() < 0.9) for _ in range(users)]
        self.admins = [
            self._person(taken, with_device=False, handle=ADMIN_HANDLES[i % len(ADMIN_HANDLES)], number=i)
            for i in range(admins)
        ]
        self.devices = [user.device for user in self.users if user.device is not None]
        self._device_owners = [user for user in self.users if user.device is not None] or self.users
        self.applications = [Named(self._oid(), name, label, sso) for name, label, sso in APPLICATIONS]
        self.user_groups = [Named(self._oid(), name) for name in USER_GROUPS]
        self.system_groups = [Named(self._oid(), name) for name in SYSTEM_GROUPS]
        self.policies = [Named(self._oid(), name, template, family) for name, template, family in POLICIES]
        self.radius_servers = [Named(self._oid(), name) for name in ("Office Wi-Fi", "VPN RADIUS")]
        self.ldap_servers = [Named(self._oid(), "JumpCloud LDAP")]
        self.commands = [Named(self._oid(), name) for name in ("Rotate local admin", "Collect logs", "Restart agent")]
        # A handful of people log in from an IPv6 address.
        self._ipv6 = {user.id: self._ipv6_address() for user in rng.sample(self.users, k=max(1, users // 10))}

    def _person(self, taken: set[str], *, with_device: bool, handle: str = "", number: int = 0) -> Person:
        rng = self._rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = handle if handle and number < len(ADMIN_HANDLES) else f"{first}.{last}"
        base, suffix = username, 2
        while username in taken:
            username, suffix = f"{base}{suffix}", suffix + 1
        taken.add(username)
        device = self._device(first, last) if with_device else None
        return Person(
            id=self._oid(),
            username=username,
            email=f"{username}@{EMAIL_DOMAIN}",
            first=first.capitalize(),
            last=last.capitalize(),
            department=rng.choice(DEPARTMENTS),
            home=self._weighted(HOME_LOCATIONS),
            ip=self._ipv4(),
            agent=useragent(*self._weighted(USER_AGENTS)),
            device=device,
            role=rng.choice(ADMIN_ROLES[:4]) if handle else "",
        )

    def _device(self, first: str, last: str) -> Device:
        kind, os, version, suffix, processes = self._rng.choice(DEVICE_KINDS)
        hostname = f"{first[0]}{last}"[:8].upper() + f"-{suffix}"
        return Device(self._oid(), hostname, kind, os, version, processes)

    # Small helpers ------------------------------------------------------------------------------

    def _weighted(self, table: tuple[tuple[Any, ...], ...]) -> Any:
        """Pick a row of a (weight, value...) table; a two-column table gives the value itself."""
        row = self._rng.choices(table, [r[0] for r in table])[0]
        return row[1] if len(row) == 2 else row[1:]

    def _oid(self) -> str:
        """An ObjectId for a directory object created some time in 2021-2024."""
        return f"{self._rng.randint(1_609_459_200, 1_735_689_599):08x}{self._rng.getrandbits(64):016x}"

    def _event_id(self, at: datetime) -> str:
        self._counter = (self._counter + 1) % (1 << 24)
        return f"{int(at.timestamp()) & 0xFFFFFFFF:08x}{self._process:010x}{self._counter:06x}"

    def _radius_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4)).upper()

    def _ipv4(self) -> str:
        return f"{self._rng.choice(IPV4_NETWORKS)}{self._rng.randint(1, 254)}"

    def _ipv6_address(self) -> str:
        r = self._rng
        return f"{IPV6_PREFIX}{r.getrandbits(16):x}:{r.getrandbits(16):x}::{r.getrandbits(16):x}"

    def _unusual(self) -> dict[str, Any]:
        return self._weighted(UNUSUAL_LOCATIONS)

    def _base(self, at: datetime, event_type: str, service: str, *, event_id: str | None = None) -> Event:
        return {
            "id": event_id or self._event_id(at),
            "event_type": event_type,
            "service": service,
            "organization": self.organization,
            "timestamp": rfc3339(at),
            "@version": "1",
        }

    def _whereabouts(self, person: Person) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Client IP, geoip and user agent of one request: usually home, sometimes surprising."""
        rng = self._rng
        if rng.random() < self.unusual_location_rate:
            return self._ipv4(), self._unusual(), person.agent
        if rng.random() < 0.03:  # travelling, or on a phone
            return self._ipv4(), self._weighted(HOME_LOCATIONS), useragent(*self._weighted(USER_AGENTS))
        return self._ipv6.get(person.id, person.ip), person.home, person.agent

    def _admin_context(self, admin: Person | None = None) -> tuple[Person, Event]:
        """An admin and the request fields of a console or API call they made."""
        admin = admin or self._rng.choice(self.admins)
        api = self._rng.random() < 0.15
        agent = useragent(*self._weighted(API_AGENTS)) if api else admin.agent
        fields: Event = {
            "initiated_by": admin.as_admin(),
            "auth_method": "api key" if api else "session",
            "client_ip": admin.ip,
            "geoip": admin.home,
            "useragent": agent,
        }
        return admin, fields

    def _admin_change(
        self, at: datetime, event_type: str, resource: dict[str, Any], changes: list[dict[str, Any]] | None
    ) -> Event:
        """An admin changed a directory object: the shape shared by most `<object>_<verb>` events."""
        event = self._base(at, event_type, "directory")
        _admin, fields = self._admin_context()
        if self._rng.random() < 0.1 and event_type.startswith("user_"):
            fields["initiated_by"] = {**fields["initiated_by"], "source": "scim"}
        event["initiated_by"] = fields.pop("initiated_by")
        event["resource"] = resource
        if changes is not None:
            event["changes"] = changes
        event.update(fields)
        event["success"] = True
        return event

    def _user_resource(self, user: Person) -> dict[str, Any]:
        return {"id": user.id, "type": "user", "username": user.username, "email": user.email}

    # Families -----------------------------------------------------------------------------------

    def _builder_table(self) -> dict[str, Callable[[datetime, str], Event]]:
        table: dict[str, Callable[[datetime, str], Event]] = {
            "user_login_attempt": self._user_login_attempt,
            "admin_login_attempt": self._admin_login_attempt,
            "sso_auth": self._sso_auth,
            "radius_auth_attempt": self._radius_auth_attempt,
            "ldap_bind": self._ldap,
            "ldap_search": self._ldap,
            "user_login": self._systems_user_login,
            "mdm_command_result": self._mdm_command_result,
            "association_change": self._association_change,
            "user_lockout": self._user_lockout,
            "admin_update": self._admin_account_change,
            "admin_totp_disable": self._admin_account_change,
            "system_create": self._system_create,
            "system_update": self._device_change,
            "system_fde_key_decrypt": self._device_change,
            "software_add": self._software,
            "software_remove": self._software,
            "organization_update": self._organization_update,
        }
        for name in ("user_create", "user_update", "user_delete", "user_unlocked", "user_password_change"):
            table[name] = self._user_change
        table["totp_finish_enrollment"] = self._user_change
        for name in ("user_group_create", "user_group_update", "policy_create", "policy_update", "application_update"):
            table[name] = self._object_change
        for name in (
            "passwordmanager_enable",
            "passwordmanager_folder_create",
            "passwordmanager_item_reveal",
            "passwordmanager_item_copy",
            "passwordmanager_items_export",
        ):
            table[name] = self._password_manager
        return table

    # -- logins

    def _login_failure(self) -> str:
        return self._weighted(LOGIN_FAILURES)

    def _auth_context(self, *, password_ok: bool, mfa: str, mfa_ok: bool, denied: bool) -> dict[str, Any]:
        methods: dict[str, Any] = {"password": {"success": password_ok}}
        if password_ok and mfa != "none":
            methods[mfa if mfa != "push" else "jumpcloud_protect"] = {"success": mfa_ok}
        policy = self._rng.choice(CONDITIONAL_POLICIES)
        action = "DENY" if denied else ("MFA" if mfa != "none" else "ALLOW")
        if action == "ALLOW" and self._rng.random() < 0.5:
            return {"auth_methods": methods, "policies_applied": []}
        return {
            "auth_methods": methods,
            "policies_applied": [
                {"id": self._oid(), "name": policy, "metadata": {"action": action, "resource_type": "USER_PORTAL"}}
            ],
        }

    def _user_login_attempt(
        self, at: datetime, event_type: str, *, burst: Burst | None = None, error: str | None = None
    ) -> Event:
        rng = self._rng
        if burst is not None:
            user, (ip, geoip, agent) = burst.victim, (burst.ip, burst.geoip, burst.agent)
            success = False
        else:
            user = rng.choice(self.users)
            ip, geoip, agent = self._whereabouts(user)
            success = rng.random() >= self.login_failure_rate
            error = None if success else self._login_failure()
        mfa = rng.choices(("totp", "push", "webauthn", "none"), (45, 25, 10, 20))[0]
        password_ok = error not in ("invalid credentials", "user is suspended", "password expired")
        mfa_ok = error != "incorrect TOTP code"
        event = self._base(at, event_type, "directory")
        event["initiated_by"] = user.as_user()
        if rng.random() < 0.3:  # older agents still send the resource, too
            event["resource"] = self._user_resource(user)
        event.update(
            {
                "client_ip": ip,
                "geoip": geoip,
                "useragent": agent,
                "success": success,
                "mfa": success and mfa != "none",
                "mfa_meta": {"type": mfa if password_ok else "none"},
                "auth_method": "session",
                "provider": None,
                "error_message": error,
                "auth_context": self._auth_context(
                    password_ok=password_ok, mfa=mfa, mfa_ok=mfa_ok, denied=error == "access denied by policy"
                ),
            }
        )
        return event

    def _admin_login_attempt(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        admin = rng.choice(self.admins)
        success = rng.random() >= 0.05
        unusual = rng.random() < 0.02
        event = self._base(at, event_type, "directory")
        event["initiated_by"] = admin.as_admin()
        event["resource"] = admin.as_admin()
        event.update(
            {
                "client_ip": self._ipv4() if unusual else admin.ip,
                "geoip": self._unusual() if unusual else admin.home,
                "useragent": admin.agent,
                "success": success,
                "mfa": success,
                "mfa_meta": {"type": rng.choice(("webauthn", "totp", "duo")) if success else "none"},
                "provider": None,
            }
        )
        if not success:
            event["error_message"] = rng.choice(("incorrect password", "mfa required", "account locked"))
        return event

    def _sso_auth(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self.users)
        app = rng.choice(self.applications)
        ip, geoip, agent = self._whereabouts(user)
        success = rng.random() >= 0.03
        event = self._base(at, event_type, "sso")
        event["initiated_by"] = {"id": user.id, "type": "user", "username": user.username}
        event.update(
            {
                "application": {
                    "id": app.id,
                    "name": app.name,
                    "display_label": app.label,
                    "sso_type": app.extra,
                    "sso_url": f"https://sso.jumpcloud.com/{'saml2' if app.extra == 'saml' else 'oauth2'}/{app.name}",
                },
                "client_ip": ip,
                "geoip": geoip,
                "useragent": agent,
                "success": success,
                "sso_token_success": success,
                "idp_initiated": rng.random() < 0.6,
                "mfa": success and rng.random() < 0.3,
                "error_message": "" if success else rng.choice(SSO_ERRORS),
                "provider": "",
            }
        )
        context: dict[str, Any] = {"auth_methods": {}}
        if success:
            if user.device is not None and rng.random() < 0.5:
                context["system"] = {**user.device.context(), "os": user.device.os, "version": user.device.version}
            context["policies_applied"] = [
                {"id": "", "name": "Global Policy", "metadata": {"action": "ALLOW", "resource_type": "APPLICATION"}}
            ]
        event["auth_context"] = context
        return event

    def _radius_auth_attempt(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self.users)
        success = rng.random() >= 0.08
        eap, outer = rng.choice((("MSCHAPv2", "PEAP"), ("PAP", "TTLS"), ("TLS", "")))
        event = self._base(at, event_type, "radius", event_id=self._radius_id())
        event["initiated_by"] = {"type": "user", "username": user.username}
        error = "" if success else rng.choice(RADIUS_FAILURES)
        event.update(
            {
                "username": user.username,
                "auth_type": "eap",
                "eap_type": eap,
                "nas_mfa_state": rng.choices(("DISABLED", "ENABLED", "REQUIRED", "ALWAYS"), (50, 20, 20, 10))[0],
                "outer": {"eap_type": outer, "username": user.username, "error_message": error},
                "mfa": rng.random() < 0.3,
                "auth_meta": {
                    "user_password_enabled": eap != "TLS",
                    "device_cert_enabled": eap == "TLS",
                    "user_cert_enabled": False,
                    "auth_idp": "JUMPCLOUD",
                    "userid_type": "USERNAME",
                },
                "client_ip": f"198.51.100.{rng.randint(20, 23)}",  # the office access points
                "geoip": user.home,
                "success": success,
            }
        )
        if not success:
            event["error_message"] = error
        return event

    def _ldap(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        username, host = rng.choice(LDAP_SERVICE_ACCOUNTS)
        bind = event_type == "ldap_bind"
        success = rng.random() >= (0.02 if bind else 0.01)
        event = self._base(at, event_type, "ldap")
        event["initiated_by"] = {"type": "user", "username": username}
        event.update(
            {
                "username": username,
                "dn": f"uid={username},ou=Users,o={self.organization},dc=jumpcloud,dc=com",
                "mech": "SIMPLE",
                "auth_method": "simple",
                "start_tls": False,
                "tls_established": True,
                "connection_id": rng.randint(1000, 99999),
                "operation_number": 0 if bind else rng.randint(1, 6),
                "operation_type": "bind" if bind else "search",
                "error_code": 0 if success else (49 if bind else 32),
            }
        )
        if not bind:
            target = rng.choice(self.users).username
            event.update(
                {
                    "base": f"ou=Users,o={self.organization},dc=jumpcloud,dc=com",
                    "filter": rng.choice(LDAP_SEARCH_FILTERS).format(user=target),
                    "scope": rng.choice(("sub", "one")),
                    "deref": "never",
                    "attr": ["uid", "mail", "memberOf"],
                    "number_of_results": rng.randint(1, 200) if success else 0,
                }
            )
        event["client_ip"] = f"198.51.100.{host}"
        event["geoip"] = HOME_LOCATIONS[0][1]
        event["success"] = success
        return event

    def _systems_user_login(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self._device_owners)
        device = user.device
        event = self._base(at, event_type, "systems")
        ip, geoip, _agent = self._whereabouts(user)
        local = at.astimezone(ZoneInfo(geoip["timezone"]))
        process = rng.choice(device.processes) if device else "sshd"
        success = rng.random() >= 0.05
        event["system_timestamp"] = local.isoformat(timespec="seconds")
        if device is not None:
            event["system"] = device.context()
        event.update(
            {
                "username": user.username,
                "process_name": process,
                "src_ip": ip if process == "sshd" else "",
                "client_ip": ip,
                "message": f"User {user.username} {'logged in' if success else 'failed to log in'}, "
                f"process name: {process}",
                "initiated_by": {"type": "systemuser", "id": user.id, "username": user.username},
                "success": success,
                "geoip": geoip,
            }
        )
        if device is not None and device.kind == "windows":
            event["windows_meta"] = {"elevated": rng.random() < 0.1, "logon_type": rng.choice(WINDOWS_LOGON_TYPES)}
        return event

    # -- brute force

    def _burst_start(self) -> Burst:
        rng = self._rng
        return Burst(
            victim=rng.choice(self.users),
            ip=f"203.0.113.{rng.randint(1, 254)}",
            geoip=self._unusual(),
            agent=useragent(*self._weighted(API_AGENTS)) if rng.random() < 0.5 else useragent(*USER_AGENTS[1][1:]),
            attempts_left=rng.randint(8, 25),
        )

    def _burst_event(self, at: datetime) -> Event:
        """The next step of the attack: failed logins, then one lockout after LOCKOUT_AFTER failures."""
        burst = self._burst
        assert burst is not None
        if burst.failures == LOCKOUT_AFTER:
            burst.failures += 1
            return self._user_lockout(at, "user_lockout", burst=burst)
        error = "invalid credentials" if burst.failures < LOCKOUT_AFTER else "account locked"
        burst.failures += 1
        burst.attempts_left -= 1
        if burst.attempts_left <= 0:
            self._burst = None
        return self._user_login_attempt(at, "user_login_attempt", burst=burst, error=error)

    def _user_lockout(self, at: datetime, event_type: str, *, burst: Burst | None = None) -> Event:
        user = burst.victim if burst else self._rng.choice(self.users)
        ip, geoip, agent = (burst.ip, burst.geoip, burst.agent) if burst else self._whereabouts(user)
        event = self._base(at, event_type, "directory")
        event["initiated_by"] = {"id": user.id, "type": "user", "username": user.username}
        event["resource"] = self._user_resource(user)
        event.update({"client_ip": ip, "geoip": geoip, "useragent": agent, "success": True})
        event["changes"] = [{"field": "account_locked", "from": False, "to": True}]
        event["message"] = f"user locked out after {LOCKOUT_AFTER} failed login attempts"
        return event

    # -- directory changes

    def _user_change(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self.users)
        resource = self._user_resource(user)
        changes: list[dict[str, Any]] | None
        if event_type == "user_create":
            changes = [
                {"field": "username", "to": user.username},
                {"field": "email", "to": user.email},
                {"field": "firstname", "to": user.first},
                {"field": "lastname", "to": user.last},
                {"field": "department", "to": user.department},
                {"field": "state", "to": rng.choice(("STAGED", "ACTIVATED"))},
                {"field": "password"},
            ]
        elif event_type == "user_update":
            changes = self._user_update_changes(user)
        elif event_type == "user_unlocked":
            changes = [{"field": "account_locked", "from": True, "to": False}]
        elif event_type == "user_password_change":
            return self._self_service(at, event_type, user, [{"field": "password"}, self._expiry_change(at)])
        elif event_type == "totp_finish_enrollment":
            return self._self_service(at, event_type, user, [{"field": "totp_enabled", "from": False, "to": True}])
        else:  # user_delete
            changes = None
        return self._admin_change(at, event_type, resource, changes)

    def _user_update_changes(self, user: Person) -> list[dict[str, Any]]:
        rng = self._rng
        kind = rng.choices(("suspend", "unsuspend", "profile", "mfa", "sudo", "expiry"), (20, 10, 40, 15, 8, 7))[0]
        if kind == "suspend":
            return [
                {"field": "state", "from": "ACTIVATED", "to": "SUSPENDED"},
                {"field": "suspended", "from": False, "to": True},
            ]
        if kind == "unsuspend":
            return [
                {"field": "state", "from": "SUSPENDED", "to": "ACTIVATED"},
                {"field": "suspended", "from": True, "to": False},
            ]
        if kind == "mfa":
            enabled = rng.random() < 0.7
            return [{"field": "enableUserPortalMultifactor", "from": not enabled, "to": enabled}]
        if kind == "sudo":
            return [
                {"field": "sudo", "from": False, "to": True},
                {"field": "passwordless_sudo", "from": False, "to": False},
            ]
        if kind == "expiry":
            return [{"field": "password_never_expires", "from": False, "to": True}]
        department = rng.choice([d for d in DEPARTMENTS if d != user.department])
        return [
            {"field": "department", "from": user.department, "to": department},
            {"field": "jobTitle", "from": rng.choice(TITLES), "to": rng.choice(TITLES)},
        ]

    def _expiry_change(self, at: datetime) -> dict[str, Any]:
        old = at.date() + timedelta(days=self._rng.randint(-3, 10))
        return {
            "field": "password_expiration_date",
            "from": f"{old.isoformat()}T00:00:00Z",
            "to": f"{(at.date() + timedelta(days=90)).isoformat()}T00:00:00Z",
        }

    def _self_service(self, at: datetime, event_type: str, user: Person, changes: list[dict[str, Any]]) -> Event:
        """A user changed something about themselves in the user portal."""
        ip, geoip, agent = self._whereabouts(user)
        event = self._base(at, event_type, "directory")
        event["initiated_by"] = user.as_user()
        event["resource"] = self._user_resource(user)
        event["changes"] = changes
        event.update({"auth_method": "session", "client_ip": ip, "geoip": geoip, "useragent": agent, "success": True})
        return event

    def _admin_account_change(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        actor, target = rng.sample(self.admins, 2) if len(self.admins) > 1 else (self.admins[0], self.admins[0])
        event = self._base(at, event_type, "directory")
        _admin, fields = self._admin_context(actor)
        event["initiated_by"] = fields.pop("initiated_by")
        event["resource"] = target.as_admin()
        if event_type == "admin_totp_disable":
            event["changes"] = [
                {"field": "enableMultiFactor", "from": True, "to": False},
                {"field": "totpEnrolled", "from": True, "to": False},
            ]
        else:
            new_role = rng.choice([role for role in ADMIN_ROLES if role != target.role])
            event["changes"] = [{"field": "roleName", "from": target.role, "to": new_role}]
        event.update(fields)
        event["success"] = True
        event["mfa"] = True
        return event

    def _object_change(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        kind, verb = event_type.rsplit("_", 1)
        changes: list[dict[str, Any]]
        if kind == "user_group":
            group = rng.choice(self.user_groups)
            resource = {"id": group.id, "type": "user_group", "name": group.name}
            if verb == "create":
                changes = [{"field": "name", "to": group.name}, {"field": "description", "to": f"{group.name} team"}]
            else:
                changes = [{"field": "attributes.sudo.enabled", "from": False, "to": rng.random() < 0.5}]
        elif kind == "policy":
            policy = rng.choice(self.policies)
            resource = {"id": policy.id, "type": "policy", "name": policy.name}
            template = {"id": self._oid(), "name": policy.label, "osMetaFamily": policy.extra}
            if verb == "create":
                changes = [{"field": "name", "to": policy.name}, {"field": "template", "to": template}]
            else:
                changes = [{"field": "values", "from": [{"configFieldName": "timeout", "value": 600}],
                            "to": [{"configFieldName": "timeout", "value": rng.choice((300, 900))}]}]  # fmt: skip
        else:  # application_update
            app = rng.choice(self.applications)
            resource = {"id": app.id, "type": "application", "name": app.name, "displayName": app.label}
            changes = [
                {
                    "field": "config.idpEntityId.value",
                    "from": f"https://sso.{EMAIL_DOMAIN}/old",
                    "to": f"https://sso.{EMAIL_DOMAIN}/saml",
                },
                {"field": "displayLabel", "from": app.name, "to": app.label},
            ]
        return self._admin_change(at, event_type, resource, changes)

    def _organization_update(self, at: datetime, event_type: str) -> Event:
        resource = {"id": self.organization, "type": "organization", "displayName": "Example Inc"}
        changes = [
            {
                "field": "settings.passwordPolicy",
                "from": {"maxLoginAttempts": 6, "lockoutTimeInSeconds": 600},
                "to": {"maxLoginAttempts": self._rng.choice((5, 10)), "lockoutTimeInSeconds": 900},
            }
        ]
        return self._admin_change(at, event_type, resource, changes)

    def _association_change(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self.users)
        device = rng.choice(self.devices) if self.devices else None

        def ref(kind: str, item: Named | Person | Device) -> dict[str, Any]:
            name = item.username if isinstance(item, Person) else getattr(item, "name", None) or item.hostname
            return {"type": kind, "object_id": item.id, "name": name}

        pairs: list[tuple[float, dict[str, Any], dict[str, Any]]] = [
            (35, ref("user_group", rng.choice(self.user_groups)), ref("user", user)),
            (10, ref("user_group", rng.choice(self.user_groups)), ref("application", rng.choice(self.applications))),
            (8, ref("user_group", rng.choice(self.user_groups)), ref("system_group", rng.choice(self.system_groups))),
            (8, ref("system_group", rng.choice(self.system_groups)), ref("policy", rng.choice(self.policies))),
            (4, ref("user_group", rng.choice(self.user_groups)), ref("radius_server", rng.choice(self.radius_servers))),
            (3, ref("user_group", rng.choice(self.user_groups)), ref("ldap_server", self.ldap_servers[0])),
            (4, ref("user", user), {"type": "g_suite", "object_id": self._oid(), "name": "Google Workspace"}),
            (4, ref("user", user), {"type": "office_365", "object_id": self._oid(), "name": "Microsoft 365"}),
        ]
        if device is not None:
            pairs.append((20, ref("system", device), ref("user", user)))
            pairs.append((4, ref("system", device), ref("command", rng.choice(self.commands))))
        _weight, source, target = rng.choices(pairs, [p[0] for p in pairs])[0]
        op = rng.choices(("add", "remove", "update"), (60, 35, 5))[0]
        attributes: dict[str, Any] | None = None
        if source["type"] == "system" and target["type"] == "user" and op != "remove":
            attributes = {"sudo": {"enabled": rng.random() < 0.3, "withoutPassword": rng.random() < 0.05}}
        event = self._base(at, event_type, "directory")
        _admin, fields = self._admin_context()
        event["initiated_by"] = fields.pop("initiated_by")
        event["association"] = {
            "op": op,
            "action_source": rng.choices(("manual", "scim", "api", "group_sync"), (70, 10, 12, 8))[0],
            "connection": {"from": source, "to": target},
            "attributes": attributes,
        }
        if source["type"] == "system_group":
            event["system_group"] = source
        event.update(fields)
        event["success"] = True
        return event

    # -- devices

    def _system_create(self, at: datetime, event_type: str) -> Event:
        device = self._rng.choice(self.devices) if self.devices else self._device("new", "device")
        owner = next((u for u in self.users if u.device is device), self.users[0])
        event = self._base(at, event_type, "directory")
        event["initiated_by"] = {"id": device.id, "type": "system"}
        event["resource"] = {
            "id": device.id,
            "type": "system",
            "hostname": device.hostname,
            "displayName": device.hostname,
        }
        event["changes"] = [
            {"field": "hostname", "to": device.hostname},
            {"field": "os", "to": device.os},
            {"field": "version", "to": device.version},
            {"field": "agentVersion", "to": "2.12.0"},
        ]
        event.update({"client_ip": owner.ip, "geoip": owner.home, "success": True})
        return event

    def _device_change(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        device = rng.choice(self.devices) if self.devices else self._device("new", "device")
        resource = {"id": device.id, "type": "system", "hostname": device.hostname, "displayName": device.hostname}
        if event_type == "system_fde_key_decrypt":
            changes = None
        elif rng.random() < 0.15:
            changes = [{"field": "allowSshPasswordAuthentication", "from": False, "to": True}]
        else:
            changes = [{"field": "agentVersion", "from": "2.11.0", "to": "2.12.0"}]
        event = self._admin_change(at, event_type, resource, changes)
        event["system"] = device.context()
        return event

    def _software(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        device = rng.choice(self.devices) if self.devices else self._device("new", "device")
        name, version = rng.choice(SOFTWARE)
        event = self._base(at, event_type, "software")
        event["initiated_by"] = {"id": device.id, "type": "system"}
        event["system"] = device.context()
        event["resource"] = {"type": "software", "name": name, "version": version}
        event["changes"] = [
            {"field": "version", "to": version}
            if event_type == "software_add"
            else {"field": "version", "from": version}
        ]
        event["success"] = True
        return event

    def _mdm_command_result(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        request = self._weighted(MDM_REQUESTS)
        status = rng.choices(("Acknowledged", "Error", "NotNow"), (88, 5, 7))[0]
        device = rng.choice(self.devices) if self.devices else None
        event = self._base(at, event_type, "mdm")
        event.update(
            {
                "mdm_type": "apple" if device is None or device.kind == "mac" else "windows",
                "request_type": request,
                "mdm_device_id": device.id if device else self._oid(),
                "mdm_device_manager_id": "63aa00000000000000000fff",
                "command": {"request_type": request},
                "command_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "error_chain": None
                if status != "Error"
                else [{"error_code": 12021, "localized_description": "MDM error"}],
                "status": status,
            }
        )
        return event

    # -- password manager

    def _password_manager(self, at: datetime, event_type: str) -> Event:
        rng = self._rng
        user = rng.choice(self.users)
        ip, geoip, agent = self._whereabouts(user)
        event = self._base(at, event_type, "password_manager")
        if event_type == "passwordmanager_enable":
            admin = rng.choice(self.admins)
            event["initiated_by"] = {**admin.as_admin(), "source": "system"}
            event["resource"] = self._user_resource(user)
            event["changes"] = [{"field": "status", "from": "invited", "to": "active"}]
        else:
            event["initiated_by"] = user.as_user()
            if event_type == "passwordmanager_folder_create":
                folder = f"{user.department} shared"
                event["resource"] = {"id": self._oid(), "type": "folder", "name": folder}
                event["changes"] = [{"field": "folder name", "from": "", "to": folder}]
            elif event_type == "passwordmanager_items_export":
                event["resource"] = {"id": self._oid(), "type": "vault", "name": "Private vault"}
                event["changes"] = [{"field": "items exported", "to": rng.randint(5, 300)}]
            else:
                event["resource"] = {"id": self._oid(), "type": "item", "name": rng.choice(VAULT_ITEMS)}
        # Password Manager spells the user agent with an underscore.
        event.update({"user_agent": agent, "client_ip": ip, "geoip": geoip, "success": True, "provider": None})
        return event
