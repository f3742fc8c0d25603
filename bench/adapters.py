"""Adapter throughput: payloads/s per channel for parse + normalize + identity resolve.

    python -m bench.adapters [--quick] [--count N] [--repeats R]

Each channel gets its own realistic payload mix (distinct provider ids, a pool of
senders of whom some are known customers); signature checks are excluded (they are
one HMAC each). Results go to bench/results/<date>-adapters.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from bench.report import summarize, write_result
from channels import (
    ChannelAdapter,
    ChannelSettings,
    IdentityIndex,
    InboundRequest,
    default_adapters,
)

#: Distinct senders per run; repeat contacts are the norm in a contact center.
SENDERS = 2000
TARGETS = {"twilio-sms": 20_000, "twilio-voice": 20_000, "email": 3_000}


@dataclass(frozen=True, slots=True)
class Workload:
    adapter: str
    label: str
    make: Callable[[int], bytes]


def _phone(n: int) -> str:
    return f"+1415{5550000 + n % SENDERS:07d}"


def sms_payload(n: int) -> bytes:
    return urlencode(
        {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": f"SM{n:032x}",
            "NumMedia": "0",
            "FromCity": "SAN FRANCISCO",
            "FromState": "CA",
            "FromCountry": "US",
            "SmsStatus": "received",
            "Body": f"Hi, order #{n} has not arrived yet, can you check?",
            "To": "+18005550100",
            "MessageSid": f"SM{n:032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": _phone(n),
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }
    ).encode()


def voice_payload(n: int) -> bytes:
    return urlencode(
        {
            "AccountSid": "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": f"CA{n:032x}",
            "CallStatus": "ringing",
            "Called": "+18005550100",
            "Caller": _phone(n),
            "From": _phone(n),
            "To": "+18005550100",
            "Direction": "inbound",
            "CallerName": "DOE JANE",
            "FromCountry": "US",
            "FromState": "CA",
            "FromCity": "SAN FRANCISCO",
            "Digits": "2",
        }
    ).encode()


def cti_payload(n: int) -> bytes:
    return json.dumps(
        {
            "event": "call.offered",
            "call_id": f"pbx-{n}",
            "ani": _phone(n),
            "dnis": "+18005550100",
            "ivr_path": ["main", "billing"],
            "language": "en",
            "intent": "billing_dispute",
            "intent_confidence": 0.8,
        }
    ).encode()


def email_payload(n: int) -> bytes:
    """A typical support mail: multipart/alternative, quoted-printable text + HTML twin."""
    return (
        f"From: Customer {n % SENDERS} <customer{n % SENDERS}@example.com>\r\n"
        "To: Acme Support <support@acme.test>\r\n"
        f"Subject: =?utf-8?q?Order_{n}_arrived_damaged_=E2=80=94_please_help?=\r\n"
        "Date: Tue, 04 Mar 2025 09:12:40 -0500\r\n"
        f"Message-ID: <msg-{n}@mail.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b-1"\r\n\r\n'
        "--b-1\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"Hello,\r\n\r\nMy order {n} arrived with a cracked lid. Could you send a replacem=\r\n"
        "ent or refund it?\r\n\r\nThanks,\r\nJane\r\n\r\n"
        "On Mon, Mar 3, 2025 at 9:00 AM Acme <no-reply@acme.test> wrote:\r\n"
        "> Your order has shipped.\r\n\r\n"
        "--b-1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<div>Hello,</div><div>My order {n} arrived with a cracked lid.</div>\r\n"
        "--b-1--\r\n"
    ).encode()


def meta_payload(n: int) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "1048573",
                    "time": 1741100000000,
                    "messaging": [
                        {
                            "sender": {"id": str(6_100_000 + n % SENDERS)},
                            "recipient": {"id": "1048573"},
                            "timestamp": 1741100000000,
                            "message": {"mid": f"m_{n}", "text": "Is the store open Sunday?"},
                        }
                    ],
                }
            ],
        }
    ).encode()


def x_payload(n: int) -> bytes:
    return json.dumps(
        {
            "for_user_id": "3001",
            "tweet_create_events": [
                {
                    "id_str": str(1_800_000_000 + n),
                    "text": "@acme still waiting on my refund",
                    "user": {
                        "id_str": str(9_000 + n % SENDERS),
                        "screen_name": f"user{n % SENDERS}",
                        "followers_count": 1200,
                        "verified": False,
                    },
                    "lang": "en",
                }
            ],
        }
    ).encode()


WORKLOADS = (
    Workload("twilio-sms", "sms (twilio)", sms_payload),
    Workload("twilio-voice", "voice (twilio)", voice_payload),
    Workload("cti", "voice (cti json)", cti_payload),
    Workload("email", "email (mime)", email_payload),
    Workload("meta", "social (messenger)", meta_payload),
    Workload("x", "social (x mention)", x_payload),
)


def known_customers(index: IdentityIndex) -> None:
    # Half the senders are known customers, as in a contact center with a CRM.
    for n in range(0, SENDERS, 2):
        index.link(_phone(n), f"c-{n}")
        index.link(f"customer{n}@example.com", f"c-{n}")


def run_once(
    adapter: ChannelAdapter, index: IdentityIndex, requests: Sequence[InboundRequest]
) -> float:
    started = time.perf_counter()
    for position, request in enumerate(requests):
        for item in adapter.parse(request, float(position)):
            index.resolve(item.addresses, fallback=item.interaction.idempotency_key)
    return len(requests) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.adapters", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run for CI / smoke tests")
    parser.add_argument("--count", type=int, default=None, help="payloads per channel per repeat")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.count or (2_000 if args.quick else 20_000)
    repeats = args.repeats or (3 if args.quick else 5)

    settings = ChannelSettings()
    adapters = default_adapters(settings)
    index = IdentityIndex()
    known_customers(index)
    results: dict[str, dict[str, float]] = {}
    for workload in WORKLOADS:
        requests = [InboundRequest.build(workload.make(n)) for n in range(count)]
        adapter = adapters[workload.adapter]
        run_once(adapter, index, requests[: min(500, count)])  # warm caches and imports
        samples = [run_once(adapter, index, requests) for _ in range(repeats)]
        results[workload.adapter] = summarize(samples)

    path = write_result(
        "adapters",
        {"count": count, "repeats": repeats, "senders": SENDERS, "quick": args.quick},
        results, quick=args.quick,
    )
    print(f"{'channel':<22}{'min/s':>12}{'median/s':>12}{'max/s':>12}{'target/s':>10}")
    for workload in WORKLOADS:
        row = results[workload.adapter]
        target = TARGETS.get(workload.adapter)
        shown = f"{target:>10,}" if target else f"{'-':>10}"
        print(
            f"{workload.label:<22}{row['min']:>12,.0f}{row['median']:>12,.0f}{row['max']:>12,.0f}{shown}"
        )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
