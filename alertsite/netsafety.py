"""Webhook destinations: refuse loopback, private, link-local and metadata addresses.

IPv6 spellings of such an address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) are
refused too.

Checked when a channel is saved and again at send time after DNS resolution; the HTTP
connection then goes to the very address that was checked (no second lookup that a DNS
rebinding could answer differently). ALERTSITE_WEBHOOK_ALLOW_PRIVATE=true lifts the rule.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings

# Whitespace (any Unicode space, as str.isspace) and control characters: one regex, not a
# generator per character (this runs before every webhook).
UNSAFE_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f]")


class UnsafeDestination(ValueError):
    pass


# IPv6 ranges whose last 32 bits are an IPv4 address that the packets end up at.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, RFC 4291
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
# Local-use NAT64 (RFC 8215): the operator's own translators, the IPv4 anywhere in it.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, translated, NAT64, 6to4, Teredo."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in IPV4_COMPATIBLE or ip in IPV4_TRANSLATED or ip in NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # the Teredo server and the (de-obfuscated) client
    return found


def _global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def loopback_host(host: str) -> bool:
    """A URL's host that names this machine (where local stand-ins of services listen in tests)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_allowed(address: str, *, allow_private: bool | None = None) -> bool:
    """Whether a webhook may connect to `address`: a global unicast address, whatever way it is spelt.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped or -compatible, SIIT, NAT64, 6to4,
    Teredo) is allowed only when that IPv4 address is global too: `[64:ff9b::7f00:1]` or
    `[2002:7f00:1::]` reach 127.0.0.1 through a translator or relay just as `[::ffff:127.0.0.1]`
    does on the host itself. The local-use NAT64 prefix is refused as a whole.
    """
    if _private_allowed(allow_private):
        return True
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        embedded = embedded_ipv4(ip)
        if not all(_global(ipv4) for ipv4 in embedded):
            return False
        if ip.ipv4_mapped is not None:
            return True  # ::ffff:0:0/96 is never global itself; the host speaks IPv4 to the mapped address
    return _global(ip)


def _private_allowed(allow_private: bool | None) -> bool:
    """The caller's own switch (sources have one), else the webhooks' setting."""
    return settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private


PRIVATE_HINT = (
    " To deliver to receivers on this machine or your own network, start alertsite with"
    " ALERTSITE_WEBHOOK_ALLOW_PRIVATE=true."
)


def _refusal(message: str, allow_private: bool | None) -> UnsafeDestination:
    """The refusal, saying how to allow local receivers when the webhooks' setting is the switch
    (a caller with its own switch, such as sources, gets the bare reason)."""
    return UnsafeDestination(message + (PRIVATE_HINT if allow_private is None else ""))


def url_check(url: str, *, resolve: bool, allow_private: bool | None = None) -> None:
    """Raise UnsafeDestination for a URL that must not be called. Unresolvable names pass at save time."""
    if UNSAFE_CHARACTER.search(url):
        raise UnsafeDestination("The URL must not contain spaces or control characters (percent-encode them).")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("Only http and https URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeDestination("The URL has no host.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not address_allowed(str(literal), allow_private=allow_private):
            raise _refusal(f"{host} is a loopback, private, link-local or reserved address.", allow_private)
        return
    if host.lower() in ("localhost", "localhost.localdomain") and not _private_allowed(allow_private):
        raise _refusal(f"{host} is a loopback address.", allow_private)
    if resolve:
        try:
            addresses_resolve(host, parts.port or (443 if parts.scheme == "https" else 80), allow_private=allow_private)
        except socket.gaierror:
            return


def addresses_resolve(host: str, port: int, *, allow_private: bool | None = None) -> list[str]:
    """The host's addresses, every one of them allowed; raise UnsafeDestination otherwise."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [address for address in addresses if not address_allowed(address, allow_private=allow_private)]
    if refused:
        raise _refusal(f"{host} resolves to a loopback, private or link-local address ({refused[0]}).", allow_private)
    return addresses


def _connect(address: str, port: int, timeout: float | None) -> socket.socket:
    """A socket to the checked address, with Nagle off as http.client's own connect() does: the
    headers and the body go out in two writes, and on a kept connection the second would wait
    for the receiver's delayed ACK (~40 ms a request)."""
    sock = socket.create_connection((address, port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    return sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connect to a checked address while speaking HTTP to the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = _connect(self.address, self.port, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float, verify: bool) -> None:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        sock = _connect(self.address, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
