"""Outgoing Slack messages: one FIFO queue and one sender task on the bot's event loop.

Every message and card goes through `_enqueue`, so the chunks of a long reply arrive in
order, whichever thread sent them. While the Web API cannot be reached the head of the queue
is retried with a capped, jittered back-off and the rest waits behind it, up to
``send_queue_limit`` items (beyond that a send is refused with an error in the log). A
message Slack refuses (``ok: false``) is logged and dropped: retrying would not change the
answer.

Message extras that plugins written for errbot-backend-slackv3 set are honoured:
``attachments`` and ``blocks`` (lists of dicts, sent with the message) and ``thread_ts``
(the thread to answer in); an incoming direct message re-sent as the answer goes back to
its author, as with slackv3.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError

from errbot.backends.base import Card, Message
from errbot.backends.slack.cards import card_attachment
from errbot.backends.slack.identifiers import SlackPerson, SlackRoom, SlackRoomOccupant
from errbot.backends.slack.markup import md_to_mrkdwn

if TYPE_CHECKING:
    from errbot.backends.network import BackOff
    from errbot.backends.slack.client import SlackDirectory

log = logging.getLogger(__name__)

__all__ = ["NETWORK_ERRORS", "SlackOutboxMixin", "thread_of"]

NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
# Extras of an outgoing Message passed to chat.postMessage as they are (slackv3 plugins).
PASSED_EXTRAS = ("attachments", "blocks")

Outgoing = tuple[Any, str | None, dict[str, Any]]


class SlackOutboxMixin:
    """Mixed into `SlackBackend`; expects ``runtime``, ``client``, ``directory``, the
    reconnection delays and the rooms mixin's ``room_id``/``user_id_of``."""

    runtime: Any
    client: Any
    directory: SlackDirectory | None
    reconnection_backoff: Callable[[], BackOff]
    send_queue_limit: int
    bot_userid: str | None
    _outbox: collections.deque[Outgoing]
    _wake: asyncio.Event | None
    _sender: asyncio.Task[None] | None

    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)  # type: ignore[misc]
        payload: dict[str, Any] = {"text": md_to_mrkdwn(msg.body)}
        for key in PASSED_EXTRAS:
            if msg.extras.get(key):
                payload[key] = msg.extras[key]
        self._enqueue(self._recipient(msg), thread_of(msg), payload)

    def _recipient(self, msg: Message) -> Any:
        """Who ``msg`` goes to. A direct message received by the bot and sent again (slackv3
        plugins reuse the incoming Message for their answer) is addressed to the bot
        itself: it goes back to the person who wrote it."""
        to, frm = msg.to, msg.frm
        to_self = isinstance(to, SlackPerson) and bool(to.userid) and to.userid == self.bot_userid
        if to_self and isinstance(frm, SlackPerson) and frm.userid != self.bot_userid:
            return frm
        return to

    def send_card(self, card: Card) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_card, card)
            return
        payload = {"text": md_to_mrkdwn(card.summary or ""), "attachments": [card_attachment(card)]}
        # Plugins always give a card the message it answers: it stays in that message's
        # thread when there is one, but does not start a thread of its own.
        self._enqueue(card.to, thread_of(card, start=False), payload)

    def _enqueue(self, to: Any, thread_ts: str | None, payload: dict[str, Any]) -> None:
        if len(self._outbox) >= self.send_queue_limit:
            log.error(
                "%d Slack messages are already waiting: the message to %s is refused.",
                len(self._outbox),
                to,
            )
            return
        self._outbox.append((to, thread_ts, payload))
        if self._wake is not None:
            self._wake.set()

    def _start_sender(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())
        self._wake.set()

    async def _send_loop(self) -> None:
        assert self._wake is not None
        backoff = self.reconnection_backoff()
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            to, thread_ts, payload = self._outbox[0]
            try:
                await self._post(to, thread_ts, payload)
            except NETWORK_ERRORS as exc:
                log.warning(
                    "Slack is unreachable (%s); %d messages wait, next try in %.1f s.",
                    exc,
                    len(self._outbox),
                    backoff.delay,
                )
                await asyncio.sleep(backoff.next_delay())
                continue
            except SlackApiError as exc:
                log.error("Slack refused the message to %s: %s", to, exc.response.get("error"))
            except Exception:
                log.exception("Sending a Slack message to %s failed", to)
            backoff.reset()
            self._outbox.popleft()

    async def _close_outbox(self) -> None:
        """Give queued goodbyes (from deactivating plugins) up to 2 s, then stop the sender."""
        if self._outbox and self._sender is not None:
            for _ in range(40):
                if not self._outbox:
                    break
                await asyncio.sleep(0.05)
        if self._outbox:
            log.warning("Stopping with %d unsent Slack messages.", len(self._outbox))
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None

    async def _post(self, to: Any, thread_ts: str | None, payload: dict[str, Any]) -> None:
        arguments = dict(payload, channel=await self.channel_of(to))
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        await self.client.chat_postMessage(**arguments)

    async def channel_of(self, identifier: Any) -> str:
        """The conversation id to post to for a room, a person (their DM) or text."""
        assert self.directory is not None
        if isinstance(identifier, str):
            identifier = self.build_identifier(identifier)  # type: ignore[attr-defined]
        if isinstance(identifier, SlackRoom):
            return await self.room_id(identifier)  # type: ignore[attr-defined]
        if isinstance(identifier, SlackPerson):
            if not isinstance(identifier, SlackRoomOccupant) and str(
                identifier.channelid or ""
            ).startswith("D"):
                return str(identifier.channelid)
            userid = await self.user_id_of(identifier)  # type: ignore[attr-defined]
            return await self.directory.dm_channel(userid)
        raise ValueError(f"Cannot send a Slack message to {identifier!r}.")


def thread_of(msg: Message, start: bool = True) -> str | None:
    """The thread a message goes to: the ``thread_ts`` a plugin put in its extras, its
    parent's thread, or (``start``) the thread the parent starts."""
    explicit = msg.extras.get("thread_ts")
    if explicit:
        return str(explicit)
    parent = msg.parent
    if parent is None:
        return None
    thread = parent.extras.get("thread_ts")
    return thread or (parent.extras.get("ts") if start else None) or None
