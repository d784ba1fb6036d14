"""Webhook destinations: every spelling of a loopback or private address is refused."""

from __future__ import annotations

import pytest

from alertsite.netsafety import UnsafeDestination, address_allowed, url_check


@pytest.fixture(autouse=True)
def private_destinations_off(settings):
    settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE = False


EMBEDDING_A_PRIVATE_IPV4 = [
    "::127.0.0.1",  # IPv4-compatible
    "::a00:5",  # IPv4-compatible 10.0.0.5
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address 169.254.169.254
    "2002:7f00:1::",  # 6to4
    "2002:c0a8:10a::1",  # 6to4 of 192.168.1.10
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", EMBEDDING_A_PRIVATE_IPV4)
def test_an_ipv6_address_embedding_a_private_ipv4_is_refused(address):
    assert address_allowed(address) is False


def test_the_local_use_nat64_prefix_is_refused_whatever_it_embeds():
    assert address_allowed("64:ff9b:1::808:808") is False


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"])
def test_an_ipv6_address_embedding_a_public_ipv4_is_allowed(address):
    assert address_allowed(address) is True


@pytest.mark.parametrize("address", EMBEDDING_A_PRIVATE_IPV4)
def test_a_url_with_an_ipv6_literal_embedding_a_private_ipv4_is_refused(address):
    with pytest.raises(UnsafeDestination):
        url_check(f"http://[{address}]:8080/hook", resolve=False)


def test_embedded_private_addresses_are_allowed_when_the_setting_says_so(settings):
    settings.ALERTSITE_WEBHOOK_ALLOW_PRIVATE = True
    assert address_allowed("64:ff9b::7f00:1") is True
