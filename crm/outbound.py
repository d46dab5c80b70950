"""The one way the product makes an HTTP request to a URL a customer chose
(message providers, webhooks): it cannot be pointed inside our network.

- The host is resolved once per request and the connection goes to that
  address only (the URL is rewritten to the IP; the Host header and the TLS
  SNI/certificate check keep the name), so a name that answers a public
  address to the check and 127.0.0.1 to the connect (DNS rebinding) gains
  nothing.
- Every resolved address must be public: loopback, private, link-local,
  carrier-grade NAT, multicast, reserved and unspecified ranges of IPv4 and
  IPv6 are refused, and an IPv6 address that embeds an IPv4 one
  (::ffff:127.0.0.1, 6to4, NAT64) is judged by the IPv4 address.
  OUTBOUND_ALLOW_PRIVATE_NETWORKS=true lifts this for development and the
  test suite (whose receivers listen on 127.0.0.1).
- Redirects are never followed (a 3xx is the answer), the whole exchange has
  a deadline and the response body a size cap.

`check_url(url)` is what services call when a URL is saved (a 400 with the
reason); `post(...)` checks again at connect time.
"""
import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 64 * 1024
USER_AGENT = "crm-backend/1 (+webhooks)"

NAT64 = ipaddress.ip_network("64:ff9b::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class OutboundRefused(Exception):
    """The URL may not be called: the message says why (shown to the admin who saved it)."""


class OutboundFailed(Exception):
    """The request could not be completed (connection, timeout, size cap); transient."""


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    headers: httpx.Headers
    body: bytes  # at most max_bytes
    elapsed_ms: int


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(address: str) -> str | None:
    """Why `address` (an IP literal) may not be connected to, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return refusal(str(embedded))
    for test, what in (
        (ip.is_unspecified, "unspecified"), (ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"), (ip.version == 4 and ip in CGNAT, "carrier-grade NAT"),
        (ip.is_reserved, "reserved"), (ip.is_private, "private"), (not ip.is_global, "non-public"),
    ):
        if test:
            return f"{address} is a {what} address"
    return None


def _allow_private() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE_NETWORKS", False))


def resolve(host: str, port: int) -> str:
    """The one address to connect to for `host`: every address the name has
    must be allowed (an attacker's name may list a public and a private one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:  # ValueError: a NUL in the name
        raise OutboundFailed(f"{host} cannot be resolved ({exc}).") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundFailed(f"{host} has no address.")
    if not _allow_private():
        for address in addresses:
            why = refusal(address)
            if why:
                raise OutboundRefused(f"{host} resolves to {why}; only public addresses may be called.")
    return addresses[0]


def check_url(url: str) -> None:
    """Raises OutboundRefused when `url` is not an http(s) URL we may call.
    A name that does not resolve now is accepted (it is checked again at
    connect time)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        raise OutboundRefused("An http(s) URL is required.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("An http(s) URL is required.")
    if parts.username or parts.password:
        raise OutboundRefused("Credentials in the URL are not allowed; use the signing secret.")
    try:
        resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except OutboundFailed:
        pass


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context a process: building one loads the CA bundle (~0.3 s
    measured), which a client per batch or per message paid every time."""
    return ssl.create_default_context()


class GuardedTransport(httpx.HTTPTransport):
    """Resolves and checks a host once (per transport: one client, one
    batch of requests), then connects to that address only, keeping the
    name for the Host header and TLS."""

    def __init__(self, **kwargs):
        # TCP_NODELAY: a request's headers and body go out as two small writes;
        # with Nagle's algorithm the second waited for the receiver's delayed
        # ACK (~40 ms a request: 73 deliveries/s instead of hundreds).
        kwargs.setdefault("socket_options", [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        kwargs.setdefault("verify", _tls_context())
        super().__init__(**kwargs)
        self._addresses: dict[tuple[str, int], str] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        key = (host, request.url.port or (443 if request.url.scheme == "https" else 80))
        address = self._addresses.get(key)
        if address is None:
            address = self._addresses[key] = resolve(*key)
        if address != host:
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return super().handle_request(request)


def client(*, timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client for several requests (kept-alive connections to the one
    resolved address): close it, or use it as a context manager."""
    return httpx.Client(transport=GuardedTransport(), timeout=timeout, follow_redirects=False,
                        headers={"User-Agent": USER_AGENT})


def post(url: str, *, content: bytes, headers: dict, timeout: float = DEFAULT_TIMEOUT,
         max_bytes: int = DEFAULT_MAX_BYTES, using: httpx.Client | None = None) -> OutboundResponse:
    """POSTs `content` and returns the status and at most `max_bytes` of the
    body. OutboundRefused: the address may not be called; OutboundFailed:
    connection error, timeout (the whole exchange within `timeout`) or a
    body over the cap."""
    started = time.monotonic()
    deadline = started + timeout
    owned = using is None
    http = client(timeout=timeout) if owned else using
    try:
        with http.stream("POST", url, content=content, headers=headers, timeout=timeout) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise OutboundFailed(f"The response is larger than {max_bytes} bytes.")
                if time.monotonic() > deadline:
                    raise OutboundFailed(f"No complete response within {timeout:g} s.")
            return OutboundResponse(response.status_code, response.headers, bytes(body),
                                    int((time.monotonic() - started) * 1000))
    except httpx.TimeoutException:
        raise OutboundFailed(f"No response within {timeout:g} s.") from None
    except httpx.TransportError as exc:
        raise OutboundFailed(f"Connection failed: {type(exc).__name__}.") from None
    finally:
        if owned:
            http.close()


def excerpt(body: bytes, limit: int = 200) -> str:
    """A short, printable excerpt of a receiver's body for the admins' delivery
    log (never shown to members): control characters dropped."""
    text = body[:limit].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text)
