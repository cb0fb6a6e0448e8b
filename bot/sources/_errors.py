"""The one exception type of :mod:`bot.sources`."""

from __future__ import annotations

from bot.errors import NewsbriefError

FETCH_ERROR_KINDS = frozenset(
    {"timeout", "connect", "http", "too_large", "redirects", "blocked", "decode", "parse", "invalid_url"}
)


class FetchError(NewsbriefError):
    """A fetch (or URL check) that failed, classified by ``kind``.

    ``kind`` is one of :data:`FETCH_ERROR_KINDS`; ``status`` is the HTTP status when one was received and
    ``retry_after`` the server's Retry-After in seconds (429/503 only). ``str(error)`` is one readable line
    naming the URL.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        if kind not in FETCH_ERROR_KINDS:
            raise ValueError(f"unknown FetchError kind {kind!r}")
        self.kind = kind
        self.message = " ".join(message.split())
        self.url = url
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.url}: {self.kind}: {self.message}"

    def __repr__(self) -> str:
        return f"FetchError(kind={self.kind!r}, message={self.message!r}, url={self.url!r}, status={self.status!r})"
