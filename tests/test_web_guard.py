"""The SSRF guard: schemes, credentials, private addresses after DNS and on every redirect hop."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.backends.base import ToolCall
from code_assistant.config import Config
from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext, ToolRegistry
from code_assistant.tools.ssrf import blocked_reason, check_url, parse_url, system_resolver
from code_assistant.tools.web import fetch_markdown, web_tools
from code_assistant.tools.web_fetch import fetch_page
from tests.fakes.web_server import RouteTo, WebServer

PUBLIC = "93.184.216.34"  # a public address; RouteTo sends its connections to the local server
PUBLIC_2 = "93.184.216.35"

GUARDED = Config(web_timeout=5.0)
PAGE = "<html><head><title>Docs</title></head><body><main><p>public docs</p></main></body></html>"


def resolver_for(names: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in names:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return names[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        server.page("/docs", PAGE)
        server.page("/secret", "<p>internal admin panel</p>")
        yield server


@pytest.mark.parametrize(
    "url, message",
    [
        ("file:///etc/passwd", r"only http and https .*scheme 'file'"),
        ("ftp://example.com/x", r"scheme 'ftp'"),
        ("gopher://example.com:70/", r"scheme 'gopher'"),
        ("javascript:alert(1)", r"scheme 'javascript'"),
        ("example.com/page", r"scheme 'missing'"),
        ("http://user:pass@example.com/", r"credentials in it"),
        ("https://token@example.com/", r"credentials in it"),
        ("http:///nohost", r"no host"),
        ("http://exa mple.com/", r"invalid URL .*not a host name"),
        ("http://[zz]/", r"invalid URL .*IPv6"),
    ],
)
def test_bad_schemes_and_credentials_are_refused(url: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        parse_url(url)


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("127.45.6.7", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.100.100.200", "non-public"),  # Alibaba metadata, shared address space
        ("224.0.0.1", "non-public"),
        ("240.0.0.1", "private"),  # reserved; Python files it under private
    ],
)
def test_non_public_addresses_are_blocked(address: str, reason: str) -> None:
    assert reason in (blocked_reason(address) or "")


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(address) is None


@given(st.ip_addresses())
def test_an_allowed_address_is_always_global(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    if blocked_reason(str(ip)) is None:
        assert ip.is_global and not ip.is_private and not ip.is_multicast


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_ipv6_gets_the_verdict_of_its_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    assert blocked_reason(f"::ffff:{ip}") == blocked_reason(str(ip))


@given(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
                        "169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"]),
       st.integers(min_value=0))
def test_every_address_of_a_private_range_is_blocked(network: str, offset: int) -> None:
    net = ipaddress.ip_network(network)
    assert blocked_reason(str(net[offset % net.num_addresses])) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:22/",
    ],
)
def test_loopback_in_any_spelling_is_refused(url: str) -> None:
    with pytest.raises(ToolError, match=r"refused .*resolves to"):
        check_url(url, allow_private=False, resolver=system_resolver)


def test_hostname_resolving_to_a_private_address_is_refused() -> None:
    resolve = resolver_for({
        "intranet.example.com": ["10.0.0.1"],
        "metadata.google.internal": ["169.254.169.254"],
        "mixed.example.com": [PUBLIC, "192.168.0.10"],
    })
    with pytest.raises(ToolError, match=r"resolves to 10\.0\.0\.1, a private network address"):
        check_url("https://intranet.example.com/wiki", allow_private=False, resolver=resolve)
    with pytest.raises(ToolError, match=r"169\.254\.169\.254, a link-local .*metadata"):
        check_url("http://metadata.google.internal/computeMetadata/v1/",
                  allow_private=False, resolver=resolve)
    # One private answer among public ones is enough to refuse.
    with pytest.raises(ToolError, match=r"192\.168\.0\.10"):
        check_url("http://mixed.example.com/", allow_private=False, resolver=resolve)
    with pytest.raises(ToolError, match=r"could not resolve host 'nowhere\.invalid'"):
        check_url("http://nowhere.invalid/", allow_private=False, resolver=resolve)
    target = check_url("http://mixed.example.com/", allow_private=True, resolver=resolve)
    assert target.addresses == (PUBLIC, "192.168.0.10")


def test_guard_on_refuses_a_local_server_before_any_request(web: WebServer) -> None:
    with pytest.raises(ToolError, match=r"resolves to 127\.0\.0\.1, a loopback address.*"
                                        r"web_allow_private = true"):
        fetch_markdown(web.url("/docs"), GUARDED)
    assert web.stats.paths() == []


def test_public_host_is_fetched_from_the_address_that_was_checked(web: WebServer) -> None:
    net = RouteTo({PUBLIC: web.port})
    resolve = resolver_for({"docs.example.com": [PUBLIC]})
    page = fetch_page(f"http://docs.example.com:{web.port}/docs", GUARDED,
                      resolver=resolve, transport=net)
    assert b"public docs" in page.body
    assert page.url == f"http://docs.example.com:{web.port}/docs"
    # Connected to the checked address, with the real name in the Host header.
    assert net.seen == [(PUBLIC, f"docs.example.com:{web.port}")]
    assert web.stats.requests[0].headers["Host"] == f"docs.example.com:{web.port}"


def test_redirect_to_loopback_is_refused_when_the_guard_is_on(web: WebServer) -> None:
    web.redirect("/go", web.url("/secret"))
    net = RouteTo({PUBLIC: web.port})
    resolve = resolver_for({"docs.example.com": [PUBLIC]})
    with pytest.raises(ToolError, match=r"refused http://127\.0\.0\.1/.*loopback"):
        fetch_page(f"http://docs.example.com:{web.port}/go", GUARDED,
                   resolver=resolve, transport=net)
    assert web.stats.paths() == ["/go"]  # /secret was never requested


def test_redirect_to_a_name_of_a_private_address_is_refused(web: WebServer) -> None:
    web.redirect("/go", "http://intranet.example.com/secret")
    net = RouteTo({PUBLIC: web.port, "10.0.0.1": web.port})
    resolve = resolver_for({"docs.example.com": [PUBLIC], "intranet.example.com": ["10.0.0.1"]})
    with pytest.raises(ToolError, match=r"intranet\.example\.com.*10\.0\.0\.1"):
        fetch_page(f"http://docs.example.com:{web.port}/go", GUARDED,
                   resolver=resolve, transport=net)
    assert resolve.calls == ["docs.example.com", "intranet.example.com"]
    assert web.stats.paths() == ["/go"]


def test_redirect_to_another_scheme_is_refused(web: WebServer) -> None:
    web.redirect("/go", "file:///etc/passwd")
    with pytest.raises(ToolError, match="only http and https"):
        fetch_page(web.url("/go"), Config(web_allow_private=True))


def test_each_hop_is_resolved_once_and_pinned_against_rebinding(web: WebServer) -> None:
    web.redirect("/hop", "/docs")
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding DNS server's second answer

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    net = RouteTo({PUBLIC: web.port})
    with pytest.raises(ToolError, match=r"resolves to 127\.0\.0\.1"):
        fetch_page(f"http://rebind.example.com:{web.port}/hop", GUARDED,
                   resolver=rebinding, transport=net)
    # The first hop went to the checked public address; nothing went to loopback.
    assert [address for address, _ in net.seen] == [PUBLIC]


def test_next_checked_address_is_tried_when_one_does_not_connect(web: WebServer) -> None:
    net = RouteTo({PUBLIC_2: web.port})  # PUBLIC has no route on this test network
    resolve = resolver_for({"docs.example.com": [PUBLIC, PUBLIC_2]})
    page = fetch_page(f"http://docs.example.com:{web.port}/docs", GUARDED,
                      resolver=resolve, transport=net)
    assert b"public docs" in page.body
    assert [address for address, _ in net.seen] == [PUBLIC, PUBLIC_2]


def test_allow_private_reaches_a_local_docs_server_by_name(web: WebServer) -> None:
    resolve = resolver_for({"docs.internal": ["127.0.0.1"]})
    config = Config(web_allow_private=True)
    text = fetch_markdown(f"http://docs.internal:{web.port}/docs", config, resolver=resolve)
    assert "public docs" in text
    # No real DNS knows docs.internal: the request reached the server through the pin.
    assert web.stats.requests[0].headers["Host"] == f"docs.internal:{web.port}"


def test_fetch_url_tool_refuses_loopback_by_default(web: WebServer, tmp_path) -> None:
    registry = ToolRegistry(web_tools(Config()))
    ctx = ToolContext(root=tmp_path, config=Config())
    with pytest.raises(ToolError, match="loopback"):
        registry.dispatch(ToolCall("fetch_url", {"url": web.url("/secret")}), ctx)
    with pytest.raises(ToolError, match="only http and https"):
        registry.dispatch(ToolCall("fetch_url", {"url": "file:///etc/passwd"}), ctx)
    assert web.stats.paths() == []
    assert ctx.web_cache == {}
