"""Rate limits per API token and per workspace, counted across processes.

Fixed windows: one counter a limit and window (`<scope>:<id>:<window>`),
incremented once a request. DRF's sliding log stores every timestamp of the
window and reads and writes the whole list on each request, which at
thousands of requests a minute costs more than the request. A burst may
straddle two windows (at most twice the rate for a moment).

The counters live in Redis whenever one is configured (RATE_LIMIT_REDIS_URL:
CACHE_URL, else the broker), so the limit holds whatever the number of
processes and machines: both counters take one round trip (a Lua script:
INCR, EXPIRE on a new window). A request refused by its token's limit does
not count against its workspace's. Without Redis (the single-process quickstart) they
live in Django's cache. If Redis does not answer, requests are let through
and a warning is logged: the API stays up without its limiter.

Every response the throttle saw carries the limits (IETF draft
"RateLimit header fields for HTTP"): `RateLimit-Policy: "token";q=6000;w=60,
"workspace";q=20000;w=60` and `RateLimit: "token";r=5999;t=42` for the limit
closest to running out, plus `X-RateLimit-Limit/-Remaining/-Reset` (seconds)
for clients that read those. A 429 has `Retry-After`.
"""
import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from . import metrics

logger = logging.getLogger(__name__)

_redis_clients: dict[str, redis.Redis] = {}
_last_warning = [0.0]


def _redis(url: str) -> redis.Redis:
    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _redis_clients[url]


# Counts a hit on each limit in turn and stops at the first one exceeded: a
# token over its own limit does not use up its workspace's. One round trip,
# atomic. KEYS: the counters; ARGV: limit and ttl of each, in pairs.
_HIT_SCRIPT = """
local counts = {}
local exceeded = false
for i, key in ipairs(KEYS) do
  if exceeded then
    counts[i] = tonumber(redis.call('GET', key) or '0')
  else
    counts[i] = redis.call('INCR', key)
    if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
    exceeded = counts[i] > tonumber(ARGV[2 * i - 1])
  end
end
return counts
"""
_scripts: dict[str, object] = {}


def count_hits(limits: list[tuple[str, int, int]]) -> list[int] | None:
    """(key, allowed, ttl) of each limit, in order -> the counts after this
    request; None when the shared store does not answer."""
    url = settings.RATE_LIMIT_REDIS_URL
    if not url:
        return _cache_hits(limits)
    if url not in _scripts:
        _scripts[url] = _redis(url).register_script(_HIT_SCRIPT)
    try:
        keys = [key for key, _, _ in limits]
        return _scripts[url](keys=keys, args=[n for _, allowed, ttl in limits for n in (allowed, ttl)])
    except redis.RedisError:
        now = time.monotonic()
        if now - _last_warning[0] > 60:
            _last_warning[0] = now
            logger.warning("rate limit store (Redis) did not answer: requests are not limited meanwhile")
        return None


def _cache_hits(limits: list[tuple[str, int, int]]) -> list[int]:
    """The same in Django's cache (one process: the quickstart)."""
    counts, exceeded = [], False
    for key, allowed, ttl in limits:
        if exceeded:
            counts.append(django_cache.get(key, 0))
            continue
        if django_cache.add(key, 1, timeout=ttl):
            count = 1
        else:
            try:
                count = django_cache.incr(key)
            except ValueError:  # the window's key expired between add and incr
                django_cache.set(key, 1, timeout=ttl)
                count = 1
        counts.append(count)
        exceeded = count > allowed
    return counts


class TokenRateThrottle(BaseThrottle):
    """API_RATE_LIMIT per token and API_WORKSPACE_RATE_LIMIT per workspace
    (all its tokens together); an unauthenticated request (the docs pages)
    counts against its client address at the token rate."""

    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    timer = time.time
    parse_rate = SimpleRateThrottle.parse_rate

    def _limits(self, request) -> list[tuple[str, str, int, int]]:
        """(scope, identity, allowed requests, window seconds) of each limit."""
        token_rate, workspace_rate = self.THROTTLE_RATES.get("token"), self.THROTTLE_RATES.get("workspace")
        if request.auth is None:
            idents = [("token", f"ip-{self.get_ident(request)}", token_rate)]
        else:
            idents = [("token", request.auth.pk, token_rate), ("workspace", request.auth.workspace_id, workspace_rate)]
        limits = []
        for scope, ident, rate in idents:
            if rate:
                allowed, duration = self.parse_rate(rate)
                limits.append((scope, ident, allowed, duration))
        return limits

    def allow_request(self, request, view):
        limits = self._limits(request)
        if not limits:
            return True
        now = self.timer()
        keys, resets = [], []
        for scope, ident, allowed, duration in limits:
            window = int(now // duration)
            keys.append((f"{settings.RATE_LIMIT_KEY_PREFIX}:{scope}:{ident}:{duration}:{window}", allowed, duration + 1))
            resets.append(max(int((window + 1) * duration - now + 0.999), 1))
        counts = count_hits(keys)
        if counts is None:
            return True
        states = [
            (scope, allowed, duration, count, max(allowed - count, 0), reset)
            for (scope, _ident, allowed, duration), count, reset in zip(limits, counts, resets)
        ]
        exceeded = [state for state in states if state[3] > state[1]]
        # The limit to report: one that refused the request, else the one closest to running out.
        binding = max(exceeded, key=lambda s: s[5]) if exceeded else min(states, key=lambda s: (s[4], -s[5]))
        scope, allowed, _duration, _count, remaining, reset = binding
        request._request.rate_limit_headers = [
            ("RateLimit-Policy", ", ".join(f'"{s[0]}";q={s[1]};w={s[2]}' for s in states)),
            ("RateLimit", f'"{scope}";r={remaining};t={reset}'),
            ("X-RateLimit-Limit", str(allowed)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", str(reset)),
        ]
        self.retry_after = reset
        if exceeded:
            metrics.rate_limited.labels(scope).inc()
            return False
        return True

    def wait(self):
        return self.retry_after
