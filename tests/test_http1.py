"""HTTP/1.1 framing without a socket: what comes out of the bytes a client sends, however they are split."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform.http1 import MAX_HEAD, Head, Message, Refusal, RequestReader

LIMIT = 1000
KEEP = 100


def events(*pieces: bytes, limit: int = LIMIT, keep: int = KEEP, eof: bool = False) -> list:
    """Every event the reader gives for these pieces, fed one after the other."""
    reader = RequestReader(limit, keep)
    out = []
    for piece in pieces:
        reader.feed(piece)
        while (event := reader.next_event()) is not None:
            out.append(event)
    if eof and (refusal := reader.eof()) is not None:
        out.append(refusal)
    return out


def messages(*pieces: bytes, **kw) -> list[Message]:
    return [e for e in events(*pieces, **kw) if isinstance(e, Message)]


def refusal(*pieces: bytes, **kw) -> Refusal:
    found = [e for e in events(*pieces, **kw) if isinstance(e, Refusal)]
    assert len(found) == 1, found
    return found[0]


POST_H = b"POST /vp HTTP/1.1\r\nHost: h\r\n"  # a request line and Host, as every HTTP/1.1 request has
POST = b"POST /vp/x?wsdl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nx-skltp-correlation-id: c1\r\n\r\nhello"


def test_a_request_in_one_piece_and_byte_by_byte_reads_the_same():
    whole = messages(POST)
    split = messages(*[POST[i:i + 1] for i in range(len(POST))])
    assert len(whole) == len(split) == 1
    for m in (whole[0], split[0]):
        assert (m.head.method, m.head.target, m.body, m.size, m.close) == ("POST", "/vp/x?wsdl", b"hello", None, False)
        assert m.head.headers == [("Host", "h"), ("Content-Length", "5"), ("x-skltp-correlation-id", "c1")]


def test_pipelined_requests_come_out_in_order():
    got = messages(POST + b"GET /status HTTP/1.1\r\nHost: h\r\n\r\n" + POST.replace(b"hello", b"again"))
    assert [(m.head.method, m.body) for m in got] == [("POST", b"hello"), ("GET", b""), ("POST", b"again")]


def test_bare_line_feeds_and_empty_lines_before_the_request_line_are_accepted():
    got = messages(b"\r\n\nPOST /vp HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
    assert got[0].body == b"ok" and got[0].head.headers == [("Host", "h"), ("Content-Length", "2")]


def test_folded_header_is_unfolded():
    head = messages(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n  two\r\n\tthree\r\nX-B: b\r\n\r\n")[0].head
    assert head.headers == [("Host", "h"), ("X-A", "one two three"), ("X-B", "b")]


@pytest.mark.parametrize(("line", "text"), [
    (b"X-B: a\rInjected: b\r\n", "a carriage return without a line feed"),
    (b"X-B: a\r\r\n", "a carriage return without a line feed"),
    (b"X-B: a\nInjected: b\r\n", "a line feed without a carriage return"),
    (b"X-B: a\n b\r\n", "a line feed without a carriage return"),  # folded with a bare LF
    (b"X-B: a\x00b\r\n", "a NUL character"),
    (b"X-B: \x00\r\n", "a NUL character"),
])
def test_a_nul_or_a_bare_cr_or_lf_in_a_header_value_is_refused(line, text):
    """RFC 9110 5.5: such a value is read differently by different HTTP readers (a header injected past a
    proxy), so the request is refused; the head as far as it was read is kept for the journal."""
    found = refusal(POST_H + b"X-A: kept\r\n" + line + b"Content-Length: 2\r\n\r\nok")
    assert found.status == 400 and text in found.text, found.text
    assert found.head.method == "POST" and found.head.headers == [("Host", "h"), ("X-A", "kept")]


def test_a_head_of_bare_line_feeds_may_end_its_lines_with_crlf_too():
    """A client ending every line with a bare LF is read as most servers read it; a CR before an LF is
    ignored there (RFC 9112 2.2), so a CRLF line among them is no bare CR."""
    got = messages(b"POST /vp HTTP/1.1\nHost: h\r\nX-A: a\nContent-Length: 2\n\nok")
    assert got[0].head.headers == [("Host", "h"), ("X-A", "a"), ("Content-Length", "2")] and got[0].body == b"ok"


def test_http_1_1_needs_exactly_one_host_and_http_1_0_none():
    """RFC 9112 3.2: an HTTP/1.1 request without Host, or with two, is refused with 400 (kept whole for
    the journal); HTTP/1.0 had no Host, so it may come without."""
    found = refusal(b"POST /vp HTTP/1.1\r\nx-skltp-correlation-id: c1\r\nContent-Length: 2\r\n\r\nok")
    assert found.status == 400 and "must have a Host header" in found.text
    assert ("x-skltp-correlation-id", "c1") in found.head.headers and found.head.method == "POST"
    found = refusal(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert found.status == 400 and "more than one Host header" in found.text
    assert messages(b"POST /vp HTTP/1.0\r\nContent-Length: 2\r\n\r\nok")[0].body == b"ok"
    assert messages(b"GET / HTTP/1.1\r\nhOsT: h\r\n\r\n")[0].head.headers == [("hOsT", "h")]


def test_keep_alive_follows_the_version_and_connection_header():
    def keep(request: bytes) -> bool:
        return messages(request)[0].head.keep_alive

    assert keep(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert not keep(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert not keep(b"GET / HTTP/1.0\r\n\r\n")
    assert keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert messages(b"GET / HTTP/1.0\r\n\r\n")[0].close


def test_expect_100_continue_is_announced_only_while_the_body_is_still_to_come():
    reader = RequestReader(LIMIT, KEEP)
    reader.feed(POST_H + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    head = reader.next_event()
    assert isinstance(head, Head) and head.expects_continue
    assert reader.next_event() is None
    reader.feed(b"ok")
    assert reader.next_event().body == b"ok"
    early = events(POST_H + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
    assert not early[0].expects_continue


def test_chunked_body_with_extensions_and_trailers():
    got = messages(POST_H + b"Transfer-Encoding: chunked\r\n\r\n"
                   b"3;name=x\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
                   b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
    assert [m.body for m in got] == [b"abcde", b""]


def test_chunked_with_content_length_closes_after_the_answer():
    got = messages(POST_H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
    assert got[0].body == b"a" and got[0].close


@pytest.mark.parametrize(("head", "status", "text"), [
    (POST_H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "Bad Content-Length: 5, 6"),
    (POST_H + b"Content-Length: 12abc\r\n\r\n", 400, "Bad Content-Length: 12abc"),
    (POST_H + b"Content-Length: -1\r\n\r\n", 400, "Bad Content-Length: -1"),
    (POST_H + b"Transfer-Encoding: gzip\r\n\r\n", 501, "Transfer-Encoding gzip is not supported"),
    (POST_H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "Bad chunk size"),
    (POST_H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabcd", 400, "no line end after the chunk data"),
    (POST_H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: x\r\n" * 101, 400, "Too many trailer"),
    (POST_H + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 2000, 400, "Bad chunk size"),
    (b"GET /vp\r\n\r\n", 400, "Bad request syntax"),
    (b"GET /vp HTTPS/1.1\r\n\r\n", 400, "Bad request version"),
    (b"GET /vp HTTP/2.0\r\n\r\n", 505, "Invalid HTTP version"),
    (b"PATCH /vp HTTP/1.1\r\n\r\n", 501, "Unsupported method ('PATCH')"),
    (b"GET /vp HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n", 400, "Bad header line"),
    (b"GET /vp HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400, "Bad header line"),
    (b"GET /vp HTTP/1.1\r\n continued first\r\nHost: h\r\n\r\n", 400, "continuation line comes first"),
    (b"GET /vp HTTP/1.1\r\nHost: h\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431, "Too many headers"),
    (b"GET /vp HTTP/1.1\r\nHost: h\r\nX: " + b"y" * MAX_HEAD + b"\r\n\r\n", 431, "Request header fields too large"),
    (b"GET /" + b"a" * (MAX_HEAD + 1), 414, "Request line too long"),
])
def test_framing_that_cannot_be_trusted_is_refused(head, status, text):
    found = refusal(head)
    assert found.status == status and text in found.text
    after = events(head + POST)  # nothing is read after a refusal: the next "request" may be smuggled
    assert isinstance(after[-1], Refusal) and not any(isinstance(e, Message) for e in after)


def test_a_refusal_keeps_the_head_for_the_journal():
    found = refusal(POST_H + b"x-skltp-correlation-id: c9\r\n"
                    b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert found.head.method == "POST" and ("x-skltp-correlation-id", "c9") in found.head.headers


def test_body_over_the_limit_is_counted_and_only_its_head_kept():
    body = b"x" * 3000
    request = POST_H + b"Content-Length: 3000\r\n\r\n" + body
    got = messages(*[request[i:i + 64] for i in range(0, len(request), 64)])
    assert got[0].size == 3000 and got[0].body == body[:KEEP] and got[0].close
    chunked = POST_H + b"Transfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"y" * 1000 + b"\r\n" \
        + b"1\r\nz\r\n0\r\n\r\n"
    got = messages(chunked)
    assert got[0].size == 1001 and got[0].body == b"y" * KEEP and got[0].close


def test_body_at_the_limit_is_kept_whole():
    got = messages(POST_H + b"Content-Length: 1000\r\n\r\n" + b"x" * 1000)
    assert got[0].size is None and len(got[0].body) == 1000 and not got[0].close


def test_body_cut_short_is_refused_with_what_came():
    found = refusal(POST_H + b"Content-Length: 50\r\n\r\n<soap:", eof=True)
    assert found.status == 400 and found.text == "Request body incomplete: 6 of 50 bytes received\n"
    assert found.received == b"<soap:" and found.size == 50 and not found.body_unread
    found = refusal(POST_H + b"Transfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFF\r\n" + b"x" * 1000, eof=True)
    assert "chunked body ended after 1000 bytes" in found.text


def test_end_of_stream_between_requests_is_no_refusal():
    assert events(POST, b"GET / HTTP/1.1\r\nHost: h\r\n", eof=True)[-1].body == b"hello"


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda n: n.lower() not in ("content-length", "transfer-encoding", "connection", "expect", "host"))
_values = st.from_regex(r"[!-~]([ -~]{0,30}[!-~])?", fullmatch=True)


@given(headers=st.lists(st.tuples(_names, _values), max_size=8), body=st.binary(max_size=300),
       chunked=st.booleans(), chunk=st.integers(1, 64),
       cuts=st.one_of(st.just("every byte"), st.lists(st.integers(0, 2000), max_size=6)))
@settings(max_examples=200, deadline=None)
def test_any_split_of_a_well_formed_request_reads_the_same(headers, body, chunked, chunk, cuts):
    """However the bytes are cut into reads, the same request comes out, and the next one after it."""
    head = "POST /vp HTTP/1.1\r\nHost: h\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    if chunked:
        framed = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + chunk]), body[i:i + chunk])
                          for i in range(0, len(body), chunk)) + b"0\r\n\r\n"
        head += "Transfer-Encoding: chunked\r\n"
    else:
        framed = body
        head += f"Content-Length: {len(body)}\r\n"
    wire = (head + "\r\n").encode() + framed + b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
    points = range(1, len(wire)) if cuts == "every byte" else sorted({min(c, len(wire)) for c in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    got = messages(*pieces, limit=10_000)
    assert [(m.head.method, m.body) for m in got] == [("POST", body), ("GET", b"")]
    assert got[0].head.headers[1: len(headers) + 1] == headers


_kept_bytes = st.characters(min_codepoint=0x01, max_codepoint=0xFF, exclude_characters="\r\n")


@given(before=st.text(_kept_bytes, max_size=20), after=st.text(_kept_bytes, max_size=20),
       bad=st.sampled_from(["\x00", "\r", "\n"]), cuts=st.lists(st.integers(0, 300), max_size=5))
@settings(max_examples=200, deadline=None)
def test_a_header_value_with_nul_cr_or_lf_is_refused_however_split(before, after, bad, cuts):
    """Wherever a NUL, CR or LF sits in a value, and however the bytes are cut into reads, the request
    is refused with 400 and nothing after it is read; a value with any other byte is kept as it came
    (between the spaces and tabs around it)."""
    def read(value: str) -> list:
        wire = f"POST /vp HTTP/1.1\r\nHost: h\r\nX-V: {value}\r\nContent-Length: 2\r\n\r\nok".encode("latin-1")
        wire += b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        points = sorted({min(c, len(wire)) for c in cuts})
        return events(*[wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)])

    got = read(before + bad + after)
    assert isinstance(got[-1], Refusal) and got[-1].status == 400, got
    assert not any(isinstance(e, Message) for e in got)
    kept = [e for e in read(before + after) if isinstance(e, Message)]
    assert [m.head.method for m in kept] == ["POST", "GET"]
    assert ("X-V", (before + after).strip(" \t")) in kept[0].head.headers
