"""bot.sources._decode: Content-Encoding decoding with the output cap enforced as bytes are produced.

The decoder is fed raw chunks the way the Fetcher feeds it a network stream; memory is shown bounded by the size
of every piece it produces (no RSS, no timing): none is longer than the piece bound, and the cap fires within one
piece of ``max_bytes``. The end-to-end cases through the real Fetcher on loopback are in tests/sources/test_sources.py.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator

import pytest

from bot.sources._decode import PIECE_BYTES, BodyDecodeError, BodyDecoder, BodyTooLarge
from testkit.feedserver import bomb_stream, encode

TEXT = b"".join(
    b"<item><title>Story %d</title><description>Some text %d</description></item>\n" % (i, i) for i in range(3000)
)


CODINGS = ["gzip", "x-gzip", "deflate", "raw-deflate", "identity"]


def header(coding: str) -> str:
    """The Content-Encoding value a coding of testkit.feedserver.encode is sent with."""
    return coding.replace("raw-deflate", "deflate")


def bomb_prefix(coding: str, length: int) -> bytes:
    """The first ``length`` compressed bytes of a 1 GiB bomb (only as much is compressed as needed)."""
    head = b""
    for block in bomb_stream(coding, 1 << 30):
        head += block
        if len(head) >= length:
            break
    return head[:length]


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def decode_all(decoder: BodyDecoder, chunks: Iterable[bytes]) -> list[bytes]:
    return [piece for chunk in chunks for piece in decoder.feed(chunk)]


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_a_normal_body_decodes_whole_in_any_chunking(coding: str, chunk: int) -> None:
    encoded = encode(TEXT, coding)
    pieces = decode_all(BodyDecoder(header(coding), 5_000_000), chunked(encoded, chunk))
    assert b"".join(pieces) == TEXT
    assert max(len(p) for p in pieces) <= PIECE_BYTES


@pytest.mark.parametrize(
    ("header_value", "codings"),
    [
        ("gzip, gzip", "gzip, gzip"),
        ("deflate, gzip", "deflate, gzip"),
        ("gzip,deflate", "gzip, raw-deflate"),
        ("x-gzip, deflate, gzip", "gzip, deflate, gzip"),
        ("identity, GZIP", "gzip"),
        ("", "identity"),
        (None, "identity"),
    ],
)
def test_nested_and_listed_encodings_are_undone_in_reverse_order(header_value: str | None, codings: str) -> None:
    pieces = decode_all(BodyDecoder(header_value, 5_000_000), chunked(encode(TEXT, codings), 1000))
    assert b"".join(pieces) == TEXT


def test_every_member_of_a_multi_member_gzip_is_decoded() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(TEXT)
    for size in (1, 2, 3, 64, len(body)):
        assert b"".join(decode_all(BodyDecoder("gzip", 5_000_000), chunked(body, size))) == b"first second " + TEXT


@pytest.mark.parametrize("trailer", [b"\x00", b"\x00\x00\x00\x00", b"garbage after the end"])
@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
def test_bytes_after_the_end_of_the_data_are_ignored(coding: str, trailer: bytes) -> None:
    body = encode(TEXT, coding) + trailer
    for size in (1, 5, len(body)):
        assert b"".join(decode_all(BodyDecoder(header(coding), 5_000_000), chunked(body, size))) == TEXT


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, br", "utf-8"])
def test_an_unsupported_encoding_is_named(coding: str) -> None:
    with pytest.raises(BodyDecodeError, match="unsupported Content-Encoding") as info:
        BodyDecoder(coding, 5_000_000)
    assert repr(coding.split(",")[-1].strip()) in str(info.value)


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", b"this is not gzip at all"),
        ("deflate", b"\x78\x9c not deflate"),
        ("gzip", gzip.compress(TEXT)[:30] + b"\xff" * 40),
    ],
)
def test_corrupt_data_is_a_decode_error(coding: str, body: bytes) -> None:
    with pytest.raises(BodyDecodeError, match=f"corrupt {coding} data"):
        decode_all(BodyDecoder(coding, 5_000_000), [body])


@pytest.mark.parametrize(
    ("coding", "layers"),
    [("gzip", 1), ("deflate", 1), ("raw-deflate", 1), ("gzip", 2)],
    ids=["gzip", "deflate", "raw-deflate", "gzip-of-gzip"],
)
def test_a_bomb_stops_within_one_bounded_piece_of_the_cap(coding: str, layers: int) -> None:
    """1 GiB of zeros (gzip of gzip: 64 MiB inside) fed in 64 KiB network chunks: no piece above 64 KiB."""
    limit = 5_000_000
    size = 1 << 30 if layers == 1 else 1 << 26
    encoded = bomb_stream(coding, size)
    value = header(coding)
    if layers == 2:
        encoded = chunked(encode(b"".join(bomb_stream(coding, size)), "gzip"), 64 * 1024)
        value = "gzip, gzip"
    decoder = BodyDecoder(value, limit)
    produced: list[int] = []
    with pytest.raises(BodyTooLarge, match=f"exceeds {limit} bytes"):
        for network_chunk in encoded:
            for piece in chunked(network_chunk, 64 * 1024):
                for out in decoder.feed(piece):
                    produced.append(len(out))
    assert max(produced) <= PIECE_BYTES
    assert limit - PIECE_BYTES < sum(produced) <= limit  # the piece that passed the cap was never handed out
    assert limit < decoder.total <= limit + PIECE_BYTES


def test_one_compressed_chunk_of_zeros_is_never_inflated_whole() -> None:
    """httpx's decoder turns a 64 KiB chunk of this bomb into one piece of over 60 MB; this one stays in 64 KiB."""
    chunk = bomb_prefix("gzip", 64 * 1024)
    pieces = BodyDecoder("gzip", 5_000_000).feed(chunk)
    sizes = []
    with pytest.raises(BodyTooLarge):
        for piece in pieces:
            sizes.append(len(piece))
    assert sizes and max(sizes) <= PIECE_BYTES and sum(sizes) <= 5_000_000


def test_a_smaller_piece_bound_and_a_body_exactly_at_the_cap() -> None:
    decoder = BodyDecoder("gzip", len(TEXT), piece_bytes=1000)
    pieces = decode_all(decoder, [gzip.compress(TEXT)])
    assert b"".join(pieces) == TEXT and max(len(p) for p in pieces) <= 1000
    with pytest.raises(BodyTooLarge):
        decode_all(BodyDecoder("identity", len(TEXT) - 1, piece_bytes=1000), [TEXT])
