"""Content-Encoding decoding with a cap on the output, bounded as the bytes are produced.

httpx inflates each network chunk whole before the caller sees it: a 64 KiB chunk of a gzip bomb becomes about
64 MB at once. :class:`BodyDecoder` takes the raw (still encoded) body chunk by chunk instead and inflates it
at most ``piece_bytes`` (64 KiB) at a time, stage by stage for nested encodings, and raises
:class:`BodyTooLarge` as soon as the decoded total passes ``max_bytes``; so one fetch holds at most about
``max_bytes`` plus a few pieces, whatever the compression ratio.

Encodings: ``identity``, ``gzip`` / ``x-gzip`` (every member of a multi-member stream) and ``deflate`` (zlib-
wrapped or raw, as servers send both); a list such as ``gzip, deflate`` is undone in reverse order. Anything else
(``br``, ``zstd``, ...; newsbrief only asks for ``gzip, deflate``) raises :class:`BodyDecodeError` naming it, as
does corrupt data. Like httpx, bytes after the end of a deflate stream, or after the last gzip member when they
do not start another one, are ignored, and a stream cut short gives what was decoded so far.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Iterator

from bot.errors import NewsbriefError

__all__ = ["PIECE_BYTES", "SUPPORTED_ENCODINGS", "BodyDecodeError", "BodyDecoder", "BodyTooLarge", "read_body"]

PIECE_BYTES = 64 * 1024
SUPPORTED_ENCODINGS = frozenset({"identity", "gzip", "x-gzip", "deflate"})
_GZIP_MAGIC = b"\x1f\x8b"


class BodyDecodeError(NewsbriefError):
    """The body cannot be decoded: an unsupported Content-Encoding, or data that is not what it claims."""


class BodyTooLarge(NewsbriefError):
    """The decoded body passed the cap (``limit`` bytes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"body exceeds {limit} bytes (decompressed)")


def _codings(content_encoding: str | None) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied, without ``identity``."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    for coding in codings:
        if coding not in SUPPORTED_ENCODINGS:
            raise BodyDecodeError(f"unsupported Content-Encoding {coding!r}")
    return codings


def _is_zlib_header(head: bytes) -> bool:
    """Whether two bytes open a zlib-wrapped deflate stream (RFC 1950: method 8, check bits) rather than raw."""
    return head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and int.from_bytes(head[:2], "big") % 31 == 0


class _Inflater:
    """One gzip or deflate stage: at most ``piece`` bytes of output per zlib call."""

    def __init__(self, coding: str, piece: int) -> None:
        self._gzip = coding != "deflate"
        self._coding = coding
        self._piece = piece
        self._zlib: zlib._Decompress | None = None
        self._head = b""  # the first bytes of a stream, held until its kind is known (two bytes)
        self._members = 0
        self._ignoring = False  # after the end of the data: further bytes are dropped

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data and not self._ignoring:
            if self._zlib is None:
                data = self._head + data
                if len(data) < 2:
                    self._head = data
                    return
                self._head = b""
                self._zlib = self._open(data[:2])
                if self._zlib is None:
                    self._ignoring = True
                    return
            stream = self._zlib
            yield from self._inflate(stream, data)
            if not stream.eof:
                return
            self._members += 1
            self._zlib = None
            self._ignoring = not self._gzip  # one deflate stream; gzip may hold another member
            data = stream.unused_data

    def _open(self, head: bytes) -> zlib._Decompress | None:
        if self._gzip:
            if self._members and head != _GZIP_MAGIC:
                return None  # trailing bytes that are not another member
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS if _is_zlib_header(head) else -zlib.MAX_WBITS)

    def _inflate(self, stream: zlib._Decompress, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = stream.decompress(data, self._piece)
            except zlib.error as exc:
                raise BodyDecodeError(f"corrupt {self._coding} data: {exc}") from None
            if out:
                yield out
            data = stream.unconsumed_tail
            # a full piece may leave output pending inside zlib even when all input is taken: ask again
            if stream.eof or (not data and len(out) < self._piece):
                return


class BodyDecoder:
    """Decodes a body sent with ``content_encoding``, fed raw chunk by chunk, with the total capped.

    :meth:`feed` yields the decoded pieces (none longer than ``piece_bytes``) and raises :class:`BodyTooLarge`
    at the first piece that takes the total past ``max_bytes``. The constructor raises :class:`BodyDecodeError`
    for an unsupported encoding, :meth:`feed` for corrupt data.
    """

    def __init__(self, content_encoding: str | None, max_bytes: int, *, piece_bytes: int = PIECE_BYTES) -> None:
        if piece_bytes < 1:
            raise ValueError("piece_bytes must be positive")
        self.max_bytes = max_bytes
        self.piece_bytes = piece_bytes
        self.total = 0
        self._stages = [_Inflater(c, piece_bytes) for c in reversed(_codings(content_encoding))]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode the next raw chunk; iterate the result to the end (it is lazy)."""
        return self._through(0, data)

    def _through(self, stage: int, data: bytes) -> Iterator[bytes]:
        if stage < len(self._stages):
            for piece in self._stages[stage].feed(data):
                yield from self._through(stage + 1, piece)
            return
        for start in range(0, len(data), self.piece_bytes):
            piece = data if len(data) <= self.piece_bytes else data[start : start + self.piece_bytes]
            self.total += len(piece)
            if self.total > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            yield piece


async def read_body(raw: AsyncIterable[bytes], content_encoding: str | None, max_bytes: int) -> bytes:
    """The decoded body of the raw chunks ``raw``; raises :class:`BodyDecodeError` or :class:`BodyTooLarge`."""
    decoder = BodyDecoder(content_encoding, max_bytes)
    parts: list[bytes] = []
    async for chunk in raw:
        parts.extend(decoder.feed(chunk))
    return b"".join(parts)
