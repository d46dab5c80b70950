from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per API token (API_RATE_LIMIT, e.g. "6000/min"); 429 beyond.

    A fixed-window counter: one cache increment per request. DRF's sliding
    log stores every timestamp of the window and reads and writes the whole
    list on each request, which at thousands of requests a minute costs more
    than the request. A burst may straddle two windows (at most twice the
    rate for a moment); Retry-After is the end of the current window."""

    scope = "token"

    def get_cache_key(self, request, view):
        if request.auth is None:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        key = f"{key}:{window}"
        if self.cache.add(key, 1, timeout=self.duration + 1):
            return True
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            self.cache.set(key, 1, timeout=self.duration + 1)
            count = 1
        return count <= self.num_requests

    def wait(self):
        return max(self.window_ends_at - self.now, 0)
