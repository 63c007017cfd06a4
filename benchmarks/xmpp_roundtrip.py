"""XMPP round trips through a real Prosody: a slixmpp client sends ``!echo`` to the bot.

Starts a throw-away prosody (the test fixture's, in a temporary directory), an XMPP bot built
by ``setup_bot`` (Memory storage) and a second client playing the person. Measures:

* reply latency, one message at a time (send → reply seen by the client), direct and in a room;
* throughput: N messages sent back to back, until the N-th reply arrives.

    python benchmarks/xmpp_roundtrip.py                 # defaults: 300 latency, 1000 burst
    python benchmarks/xmpp_roundtrip.py --latency 100 --burst 300

Needs prosody (Debian package) and slixmpp. Prints a summary, then one JSON line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the prosody fixture and the client helper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=300, help="sequential round trips")
    parser.add_argument("--burst", type=int, default=1000, help="messages sent back to back")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from servers.prosody import ProsodyServer
    from servers.xmpp_bot import BOT, HUMAN, MUC, start_bot
    from servers.xmpp_human import Human

    with tempfile.TemporaryDirectory() as tmp:
        server = ProsodyServer(Path(tmp) / "prosody")
        for name in ("bot", "human"):
            server.register(name, f"{name}pw")
        server.start()
        running = start_bot(server, Path(tmp), BOT_LOG_LEVEL=logging.WARNING)
        logging.getLogger().setLevel(logging.WARNING)
        human = Human(HUMAN, "humanpw", server.port, str(server.ca_file))
        room = f"bench@{MUC}"
        try:
            human.say(BOT, f"!room join {room}")
            human.expect_body(f"Joined the room {room}.")
            human.join(room, "hum")

            def round_trips(send: object, count: int, frm: str) -> list[float]:
                times = []
                for i in range(count):
                    marker = f"lat-{i}"
                    started = time.perf_counter()
                    send(f"!echo {marker}")  # type: ignore[operator]
                    human.expect(lambda m, k=marker: m.body == k and m.frm.startswith(frm))
                    times.append(time.perf_counter() - started)
                return times

            direct = round_trips(lambda b: human.say(BOT, b), args.latency, BOT)
            in_room = round_trips(
                lambda b: human.say_in_room(room, b), args.latency, f"{room}/Errbot"
            )

            human.drain()
            started = time.perf_counter()
            for i in range(args.burst):
                human.say(BOT, f"!echo burst-{i}")
            last = f"burst-{args.burst - 1}"
            received = 0
            while True:
                message = human.expect(lambda m: m.body.startswith("burst-"), timeout=120)
                received += 1
                if message.body == last or received == args.burst:
                    break
            elapsed = time.perf_counter() - started
        finally:
            human.close()
            running.stop()
            server.stop()

    result = {
        "benchmark": "xmpp_roundtrip",
        "direct_latency": h.latency_summary(direct),
        "room_latency": h.latency_summary(in_room),
        "burst_messages": args.burst,
        "burst_replies_received": received,
        "burst_seconds": round(elapsed, 3),
        "messages_per_second": round(received / elapsed, 1),
        "environment": h.environment(),
    }
    for label, key in (("direct", "direct_latency"), ("room", "room_latency")):
        stats = result[key]
        h.say(
            f"{label:6} latency: p50 {stats['p50_us'] / 1000:.2f} ms, "
            f"p99 {stats['p99_us'] / 1000:.2f} ms ({args.latency} round trips)"
        )
    h.say(
        f"burst: {received} replies to {args.burst} messages in {elapsed:.2f} s = "
        f"{result['messages_per_second']} messages/s round trip"
    )
    h.emit(result)


if __name__ == "__main__":
    main()
