"""Where the rate-limit counters live when Redis is not there: the quickstart
counts in the process's cache; a Redis that does not answer lets requests
through (the API stays up) and says so in the log."""
import logging
import time
import uuid

from django.core.cache import cache

from crm.models import ApiToken
from crm.throttling import TokenRateThrottle


def test_without_redis_the_counters_are_in_the_cache(api_client, monkeypatch, settings):
    settings.RATE_LIMIT_REDIS_URL = ""
    settings.RATE_LIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/hour", "workspace": "10/hour"})
    statuses = [api_client.get("/v1/crm/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    token = ApiToken.objects.get(user=api_client.user)
    window = int(time.time() // 3600)
    assert cache.get(f"{settings.RATE_LIMIT_KEY_PREFIX}:token:{token.pk}:3600:{window}") == 3
    # the refused request did not count against the workspace
    assert cache.get(f"{settings.RATE_LIMIT_KEY_PREFIX}:workspace:{api_client.workspace.pk}:3600:{window}") == 2


def test_a_silent_redis_lets_requests_through(api_client, monkeypatch, settings, caplog):
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1/hour", "workspace": "1/hour"})
    monkeypatch.setattr("crm.throttling._last_warning", [0.0])
    with caplog.at_level(logging.WARNING, logger="crm.throttling"):
        statuses = [api_client.get("/v1/crm/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert [r.getMessage() for r in caplog.records].count(
        "rate limit store (Redis) did not answer: requests are not limited meanwhile") == 1
