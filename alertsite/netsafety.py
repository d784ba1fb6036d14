"""Webhook destinations: refuse loopback, private, link-local and metadata addresses.

Checked when a channel is saved and again at send time after DNS resolution; the HTTP
connection then goes to the very address that was checked (no second lookup that a DNS
rebinding could answer differently). ALERTSITE_WEBHOOK_ALLOW_PRIVATE=true lifts the rule.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeDestination(ValueError):
    pass


def address_allowed(address: str) -> bool:
    if settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE:
        return True
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_check(url: str, *, resolve: bool) -> None:
    """Raise UnsafeDestination for a URL that must not be called. Unresolvable names pass at save time."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
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
        if not address_allowed(str(literal)):
            raise UnsafeDestination(f"{host} is a loopback, private, link-local or reserved address.")
        return
    if host.lower() in ("localhost", "localhost.localdomain") and not settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE:
        raise UnsafeDestination(f"{host} is a loopback address.")
    if resolve:
        try:
            addresses_resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
        except socket.gaierror:
            return


def addresses_resolve(host: str, port: int) -> list[str]:
    """The host's addresses, every one of them allowed; raise UnsafeDestination otherwise."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [address for address in addresses if not address_allowed(address)]
    if refused:
        raise UnsafeDestination(f"{host} resolves to a loopback, private or link-local address ({refused[0]}).")
    return addresses


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connect to a checked address while speaking HTTP to the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


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
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
