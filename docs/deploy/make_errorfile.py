"""Writes vp012-503.http beside this file: what haproxy answers when no mockplatform instance is up.

haproxy's own answer then is an HTML page ("503 Service Unavailable ... No server is available to handle this
request"), which no SOAP consumer can read. The platform answers what it cannot do with its fault VP012, and so
does haproxy.cfg with this file (``errorfile 503 vp012-503.http``): HTTP 500, a SOAP 1.1 fault, as an instance
writes it on the wire (mockplatform.server.connection.render of platform.fault_response), without the two
headers that differ per answer and so cannot be in a file read once at haproxy's start:

- ``x-skltp-correlation-id``: an instance echoes the consumer's, or makes one; haproxy's answer has none;
- ``Date``.

haproxy checks at its start that the file is a valid HTTP response and sends it as written (only the header
names in lower case): its status line too, so the consumer gets 500, what a VP fault is, even though haproxy
picks the file for its 503 case.

Run it from the repository root with the project's Python after a change to the fault texts:

    .venv/bin/python docs/deploy/make_errorfile.py

tests/test_team_platform.py fails while the committed file differs from what this makes. Instances started
with ``--instance-name NAME`` put NAME in their faultstring; ``--instance-name NAME`` here does the same
(the committed file has the platform's default name).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mockplatform.faults import vp012
from mockplatform.platform import CORRELATION, fault_response
from mockplatform.server.connection import render
from mockplatform.settings import Settings

ERRORFILE = Path(__file__).resolve().parent / "vp012-503.http"
REASON = ("haproxy has no mockplatform instance to send the call to: start one, or check GET /status of each "
          "(503 while its database cannot be reached)")
PER_ANSWER = {"date", CORRELATION}  # header names (lowercase) an instance sets anew for every answer
BUFSIZE = 16384 - 1024  # haproxy's tune.bufsize less tune.maxrewrite (defaults): the most an errorfile may be


def errorfile(instance_name: str = Settings.instance_name) -> bytes:
    """The instance's VP012 answer as it goes on the wire, less the headers in ``PER_ANSWER``; CRLF line ends."""
    wire = render(fault_response(vp012(REASON), "", instance_name), close=True)
    head, body = wire.split(b"\r\n\r\n", 1)
    status, *headers = head.split(b"\r\n")
    kept = [h for h in headers if h.split(b":", 1)[0].strip().lower().decode("ascii") not in PER_ANSWER]
    out = b"\r\n".join([status, *kept]) + b"\r\n\r\n" + body
    assert len(out) < BUFSIZE, f"{len(out)} bytes: haproxy refuses an errorfile larger than {BUFSIZE}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance-name", default=Settings.instance_name,
                        help="the name in the faultstring, 'VP012 [NAME] ...' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ERRORFILE, help="where to write it (default: %(default)s)")
    args = parser.parse_args()
    args.out.write_bytes(errorfile(args.instance_name))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
