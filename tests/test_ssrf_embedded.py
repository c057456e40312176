"""The SSRF guard sees through IPv6 forms that lead to an IPv4 address, and site-local ones."""

from __future__ import annotations

import pytest

from code_assistant.tools.ssrf import blocked_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::1", "a loopback address"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::1", "a private network address"),  # 6to4 of 10.0.0.1
        ("2002:a9fe:a9fe::", "a link-local address"),  # 6to4 of 169.254.169.254
        ("64:ff9b::7f00:1", "a loopback address"),  # NAT64
        ("64:ff9b:1::a00:1", "a private network address"),  # local-use NAT64
        ("::127.0.0.1", "a loopback address"),  # IPv4-compatible
        ("::ffff:127.0.0.1", "a loopback address"),  # mapped
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address"),  # Teredo
        ("fec0::1", "site-local"),
        ("fec0:1234::5%eth0", "site-local"),
    ],
)
def test_embedded_and_site_local_addresses_are_blocked(address: str, reason: str) -> None:
    found = blocked_reason(address)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "address", ["2002:808:808::1", "2606:4700:4700::1111", "8.8.8.8"]
)
def test_public_addresses_stay_allowed(address: str) -> None:
    assert blocked_reason(address) is None
