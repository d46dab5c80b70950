"""crm.outbound with OUTBOUND_ALLOW_PRIVATE_NETWORKS off: every range that
is inside is refused, at save and at connect; no DNS rebinding, no redirects."""
import socket

import pytest

from crm import outbound
from tests.factories import SYSTEM

REFUSED = {
    "0.0.0.0": "unspecified", "127.0.0.1": "loopback", "127.8.9.10": "loopback", "10.1.2.3": "private",
    "172.16.0.1": "private", "192.168.1.1": "private", "169.254.169.254": "link-local", "100.64.0.1": "carrier-grade NAT",
    "224.0.0.1": "multicast", "239.255.255.250": "multicast", "240.0.0.1": "reserved", "255.255.255.255": "",
    "192.0.2.1": "", "198.18.0.1": "", "::": "unspecified", "::1": "loopback", "fe80::1": "link-local",
    "fc00::1": "private", "fd12:3456::1": "private", "ff02::1": "multicast", "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private", "2002:7f00:1::": "loopback", "64:ff9b::a9fe:a9fe": "link-local",
    "2001:db8::1": "",
}


@pytest.fixture(autouse=True)
def private_networks_refused(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_every_inside_range_is_refused(address):
    why = outbound.refusal(address)
    assert why is not None and REFUSED[address] in why, (address, why)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(f"http://{host}:8080/hook")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/", "http://example.com:99999/",
                                 "http:///nohost", "not a url"])
def test_urls_that_are_not_plain_http_are_refused(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert outbound.refusal(address) is None


def test_a_name_that_resolves_inside_is_refused(hook_receiver):
    with pytest.raises(outbound.OutboundRefused, match="localhost resolves to"):
        outbound.check_url("http://localhost/x")
    with pytest.raises(outbound.OutboundRefused):
        outbound.post(f"http://localhost:{hook_receiver.port}/x", content=b"{}", headers={})
    assert hook_receiver.requests == [], "nothing reached the receiver"


def test_the_connection_goes_to_the_address_checked_once(hook_receiver, monkeypatch, settings):
    """DNS rebinding: a name that answers differently on a second lookup
    gains nothing, because the transport resolves once and connects to that
    address (allowed here: the receiver is on 127.0.0.1)."""
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    answers = [["127.0.0.1"], ["10.9.9.9"]]
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            address = answers[min(len(lookups) - 1, 1)][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    response = outbound.post(f"http://rebind.test:{hook_receiver.port}/x", content=b"{}", headers={})
    assert response.status_code == 200 and lookups == ["rebind.test"]
    assert hook_receiver.requests[0]["headers"]["host"] == f"rebind.test:{hook_receiver.port}"


def test_redirects_are_not_followed(hook_receiver, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    hook_receiver.responses = [(302, {"Location": "http://127.0.0.1:1/internal"}, b"")]
    response = outbound.post(hook_receiver.url, content=b"{}", headers={})
    assert response.status_code == 302 and len(hook_receiver.requests) == 1


def test_the_response_size_is_capped(hook_receiver, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    hook_receiver.responses = [(200, {}, b"x" * 5000)]
    with pytest.raises(outbound.OutboundFailed, match="larger than 1000 bytes"):
        outbound.post(hook_receiver.url, content=b"{}", headers={}, max_bytes=1000)


@pytest.mark.django_db
def test_a_message_to_an_inside_address_fails_without_the_receivers_body(api_client, hook_receiver, settings):
    """An integration saved while allowed, delivered while refused: the
    connect-time check stops it, and members read our text only."""
    from messaging import services
    from messaging.tasks import deliver_message
    from tests.contacts.factories import ContactFactory

    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    integration = services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="W",
                                              provider="webhook", config={"url": hook_receiver.url}, secret="s")
    conversation = services.conversation_create(workspace=api_client.workspace, actor=SYSTEM, integration=integration,
                                                contact_id=ContactFactory(workspace=api_client.workspace).pk)
    message = services.message_add(workspace=api_client.workspace, actor=SYSTEM, conversation=conversation,
                                   content="x", type="text")
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    deliver_message.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == "failed" and "loopback" in message.error and not hook_receiver.requests
    body = api_client.get(f"/v1/crm/messages/{message.pk}").json()
    assert body["error"] == message.error
