"""sendNotification under a real race: one open conversation per contact and integration."""

import threading
import time

import pytest
from django.db import connection, transaction

from messaging import services
from messaging.models import Conversation, Message
from tests.factories import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_notification_joins_the_conversation_opened_concurrently(eager_celery):
    from contacts.services import contact_create
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory()
    contact = contact_create(
        workspace=workspace, actor=SYSTEM, name="Ada", phone="+12025550123")
    integration = services.integration_create(workspace=workspace, actor=SYSTEM, name="console")
    opened, release, results, errors = threading.Event(), threading.Event(), {}, []

    def first():
        # opens the conversation in a transaction that commits only later
        try:
            with transaction.atomic():
                results["first"] = Conversation.objects.create(
                    workspace=workspace, contact=contact, integration=integration
                )
                opened.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(exc)
        finally:
            connection.close()

    def second():
        # does not see the uncommitted row, so it inserts and waits on the unique index
        opened.wait(10)
        try:
            results["message"] = services.notification_send(
                workspace=workspace,
                actor=SYSTEM,
                integration=integration,
                client_id=contact.pk,
                template_name="otp",
            )
        except Exception as exc:  # noqa: BLE001 - any error fails the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    opened.wait(10)
    time.sleep(0.5)  # let the second insert block on the first's uncommitted row
    release.set()
    for t in threads:
        t.join(20)

    assert not errors, errors
    assert (
        Conversation.objects.filter(contact=contact, integration=integration, status="open").count()
        == 1
    )
    message = Message.objects.get(pk=results["message"].pk)
    assert message.conversation_id == results["first"].pk
    assert message.status == "sent"  # delivered (console, eager) after its commit
