"""The SSRF guard for fetch_url: allowed schemes, no credentials, public addresses only."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from code_assistant.errors import ToolError

# resolver(host, port) -> IP addresses as strings; injectable so tests need no real DNS.
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped (::ffff:a.b.c.d), 6to4 (2002::/16),
    Teredo (its client), NAT64 (64:ff9b::/96) or the old compatible form (::a.b.c.d)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or (int(ip) >> 32 == 0 and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(address: str) -> str | None:
    """Why an address is off limits (loopback, private, ...), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        reason = blocked_reason(str(inner)) if inner is not None else None
        if reason:  # 6to4, NAT64, Teredo ... of a blocked IPv4 address: the same verdict
            return reason
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.is_site_local:
            return "a site-local address (fec0::/10)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address (it reaches this machine)"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_private:
        return "a private network address"
    if ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses it may be fetched from, in the resolver's order."""

    url: httpx.URL
    addresses: tuple[str, ...]


def parse_url(raw: str) -> httpx.URL:
    """Parse a URL, refusing other schemes and embedded credentials."""
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ToolError(f"invalid URL {raw!r}: {exc}; give a full http(s) address") from None
    if url.scheme not in ALLOWED_SCHEMES:
        raise ToolError(
            f"refused URL {raw!r}: only http and https are fetched "
            f"(scheme {url.scheme or 'missing'!r}); give a full https://... address"
        )
    if not url.host:
        raise ToolError(f"invalid URL {raw!r}: it has no host; give a full https://... address")
    if not re.fullmatch(r"[A-Za-z0-9._\-:]+", url.raw_host.decode("ascii", "replace")):
        raise ToolError(f"invalid URL {raw!r}: {url.host!r} is not a host name")
    if url.userinfo:
        raise ToolError(
            "refused URL with credentials in it (user:password@host); "
            "fetch public pages without credentials"
        )
    return url


def _ip_literal(host: str) -> str | None:
    """The address a host names by itself, including the old forms 127.1, 0x7f000001, 2130706433."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", host) and host[-1] not in "xX":
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(raw: str | httpx.URL, *, allow_private: bool, resolver: Resolver) -> Target:
    """Check one URL (the first or a redirect hop) and pick the address to connect to.

    The host is resolved once here and the connection is pinned to that address, so a
    second DNS answer (rebinding) cannot point the request elsewhere. With the guard
    on, every address the host resolves to must be public.
    """
    url = parse_url(str(raw))
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _ip_literal(host)
    if literal:
        addresses = [literal]
    else:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise ToolError(
                f"could not resolve host {host!r} ({exc}); check the URL's spelling"
            ) from None
    if not addresses:
        raise ToolError(f"could not resolve host {host!r}; check the URL's spelling")
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                raise ToolError(
                    f"refused {url.scheme}://{host}/...: it resolves to {address}, {reason}. "
                    "fetch_url only reads public web pages (the user can set "
                    "web_allow_private = true for a local docs server)"
                )
    return Target(url, tuple(addresses))


def pinned_request(
    target: Target, address: str
) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """(url, headers, extensions) that connect to a checked address, not a fresh lookup."""
    host_header = target.url.netloc.decode("ascii")
    pinned = target.url.copy_with(host=address)
    # TLS still verifies the certificate against the real hostname via SNI.
    return pinned, {"Host": host_header}, {"sni_hostname": target.url.raw_host.decode("ascii")}
