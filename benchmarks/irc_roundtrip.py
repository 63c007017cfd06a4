"""IRC round trips through a real ngircd: a client sends ``!echo``, the IRC bot answers.

* latency: one command at a time, privately and in a channel; p50/p90/p99 of the time from
  sending the line to receiving the reply (µs);
* throughput: N commands kept W in flight (the client never waits for more than W replies),
  privately; replies per second.

Flood pacing is off (IRC_CHANNEL_RATE = IRC_PRIVATE_RATE = 0) and ngircd's penalties too
(MaxPenaltyTime = 0): this measures the bot and the server, not the pacing. Needs the
``ngircd`` binary and the ``irc`` extra; uses the test fixture tests/servers/ngircd.py.

    python benchmarks/irc_roundtrip.py
    python benchmarks/irc_roundtrip.py --latency 500 --messages 5000 --window 100
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

import _harness as h

sys.path.insert(0, str(h.HERE.parent / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=300, help="sequential samples per kind")
    parser.add_argument("--messages", type=int, default=2000, help="commands for throughput")
    parser.add_argument("--window", type=int, default=50, help="commands in flight")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from servers.ngircd import IrcUser, Ngircd

    from errbot.bootstrap import setup_bot
    from errbot.settings import config_from_dict

    tmp = Path(tempfile.mkdtemp(prefix="irc-bench-"))
    try:
        server = Ngircd(tmp / "ngircd")
    except BaseException as exc:  # pytest.skip when ngircd is missing
        print(f"cannot run: {exc}")
        return 1
    server.start()
    config = config_from_dict(
        {
            "BACKEND": "IRC",
            "BOT_DATA_DIR": str(tmp),
            "STORAGE": "Memory",
            "VERSION_CHECK_URL": None,  # never reach the internet from tests
            "BOT_ADMINS": ("boss!*@*",),
            "BOT_IDENTITY": {"nickname": "errbot", "server": "127.0.0.1", "port": server.port},
            "CORE_PLUGINS": ("ACLs", "Utils", "ChatRoom"),
            "CHATROOM_PRESENCE": ("#bench",),
            "IRC_CHANNEL_RATE": 0,
            "IRC_PRIVATE_RATE": 0,
        }
    )
    started = time.perf_counter()
    bot = setup_bot("IRC", config)
    thread = threading.Thread(target=bot.serve_forever, daemon=True)
    thread.start()
    while not (bot.client.online.is_set() and bot.client.book.is_joined("#bench")):
        time.sleep(0.01)
    connect_s = time.perf_counter() - started
    user = IrcUser(server.port, "boss")
    user.join("#bench")
    results: dict[str, object] = {"connect_s": round(connect_s, 3)}
    try:
        for kind, target in (("private", "errbot"), ("channel", "#bench")):
            reply_to = None if kind == "private" else "#bench"
            samples = []
            for i in range(args.latency):
                begin = time.perf_counter()
                user.say(target, f"!echo {kind} {i}")
                assert user.message_from("errbot", reply_to) == f"{kind} {i}"
                samples.append(time.perf_counter() - begin)
            results[f"latency_{kind}"] = h.latency_summary(samples)
        begin = time.perf_counter()
        sent = received = 0
        while received < args.messages:
            while sent < args.messages and sent - received < args.window:
                user.say("errbot", f"!echo t{sent}")
                sent += 1
            user.message_from("errbot")
            received += 1
        elapsed = time.perf_counter() - begin
        results["throughput"] = {
            "messages": args.messages,
            "window": args.window,
            "seconds": round(elapsed, 3),
            "replies_per_s": round(args.messages / elapsed, 1),
        }
    finally:
        user.close()
        bot.stop()
        thread.join(10)
        server.stop()

    print(f"IRC round trips through ngircd (bot connected and in #bench in {connect_s:.2f} s)")
    for kind in ("private", "channel"):
        lat = results[f"latency_{kind}"]
        assert isinstance(lat, dict)
        print(
            f"  {kind:8} latency over {args.latency}: p50 {lat['p50_us'] / 1000:.2f} ms, "
            f"p90 {lat['p90_us'] / 1000:.2f} ms, p99 {lat['p99_us'] / 1000:.2f} ms"
        )
    tp = results["throughput"]
    assert isinstance(tp, dict)
    print(
        f"  throughput: {tp['messages']} commands, {tp['window']} in flight: "
        f"{tp['replies_per_s']} replies/s ({tp['seconds']} s)"
    )
    h.emit({"benchmark": "irc_roundtrip", **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
