"""Outgoing Mattermost posts: one outbox, sent in order by one task on the bot's loop.

Every post, card and file is a job in `_outbox`. While the bot is disconnected the jobs wait
(up to ``send_queue_limit``; beyond that a send is refused with an error in the log) and are
sent once the connection is back; a job that fails because the server went away stays at
the head of the queue. A post the server refuses is logged and dropped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from errbot.backends.base import Card, Message
from errbot.backends.mattermost.cards import attachment
from errbot.backends.mattermost.client import MattermostConnection
from errbot.backends.mattermost.identifiers import MattermostPerson
from errbot.backends.mattermost.rooms import MattermostRoom
from errbot.core.bot import ErrBot

if TYPE_CHECKING:
    from errbot.backends.mattermost.directory import Directory

log = logging.getLogger(__name__)

__all__ = ["Job", "MattermostOutboxMixin"]

Job = Callable[[MattermostConnection], Awaitable[None]]


class MattermostOutboxMixin:
    """Mixed into `MattermostBackend`; expects ``runtime``, ``connection``, ``directory``,
    ``send_queue_limit`` and ``_md`` (the Markdown converter)."""

    runtime: Any
    connection: MattermostConnection | None
    directory: Directory
    send_queue_limit: int
    _md: Any
    _outbox: collections.deque[tuple[str, Job]]
    _wake: asyncio.Event | None
    _sender: asyncio.Task[None] | None

    def _enqueue(self, what: str, job: Job) -> bool:
        """Queue a post (on the loop); False when refused because the outbox is full."""
        if len(self._outbox) >= self.send_queue_limit:
            log.error(
                "Not connected to Mattermost and %d posts are already waiting: %s is dropped.",
                len(self._outbox),
                what,
            )
            return False
        if self.connection is None and not self._outbox:
            log.warning("Not connected to Mattermost: posts wait for the connection.")
        self._outbox.append((what, job))
        self._wake_sender()
        return True

    def _wake_sender(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_loop())
        self._wake.set()

    async def _send_loop(self) -> None:
        assert self._wake is not None
        while True:
            conn = self.connection
            if not self._outbox or conn is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            what, job = self._outbox[0]
            try:
                await job(conn)
            except (httpx.TransportError, ConnectionError, OSError) as exc:
                # The server is gone: keep the post, wait for the reconnection.
                log.warning("Posting %s failed (%s): retrying once reconnected.", what, exc)
                if self.connection is conn:
                    await asyncio.sleep(1.0)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("Mattermost refused %s: %s", what, exc)
            self._outbox.popleft()

    # -- sending ------------------------------------------------------------------------
    def send_message(self, msg: Message) -> None:
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_message, msg)
            return
        super().send_message(msg)  # type: ignore[misc]
        self._enqueue(f"the message to {msg.to}", lambda conn: self._post(conn, msg))

    async def _post(
        self,
        conn: MattermostConnection,
        msg: Message,
        props: dict[str, Any] | None = None,
        file_ids: list[str] | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        channel_id = await self.channel_for(msg.to)
        body = self._md.convert(msg.body) if text is None else text
        return await conn.call(
            "create post",
            conn.driver.posts.create_post,
            channel_id=channel_id,
            message=body,
            root_id=self._root_id(msg, channel_id),
            file_ids=file_ids,
            props=props,
        )

    @staticmethod
    def _root_id(msg: Message, channel_id: str) -> str | None:
        """The thread of a reply: its parent's thread, or the parent itself, when the reply
        goes to the parent's channel (a private reply to a channel message is not threaded)."""
        parent = msg.parent
        if parent is None:
            return None
        extras = parent.extras
        if extras.get("channel_id") != channel_id:
            return None
        return extras.get("root_id") or extras.get("id") or None

    async def channel_for(self, identifier: Any) -> str:
        """The channel id posts to ``identifier`` go to (a person: the direct channel)."""
        if isinstance(identifier, MattermostRoom):
            return await self.directory.resolve_room(identifier)
        if isinstance(identifier, MattermostPerson):
            userid = await self.directory.resolve_person(identifier)
            return await self.directory.direct_channel(userid)
        raise ValueError(f"Cannot send to {identifier!r}: not a Mattermost user or channel.")

    def send_card(self, card: Card) -> None:
        """A card as a message attachment (``props.attachments``)."""
        if not self.runtime.in_loop():
            self.runtime.call_soon(self.send_card, card)
            return
        ErrBot.send_message(self, card)  # type: ignore[arg-type]  # callbacks, metrics
        props = {"attachments": [attachment(card, self._md.convert)]}
        self._enqueue(
            f"the card to {card.to}", lambda conn: self._post(conn, card, props=props, text="")
        )
