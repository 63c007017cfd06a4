"""The Slack backend (``BACKEND = "SlackV3"`` or ``"Slack"``, needs ``pip install errbot[slack]``).

- `backend`: `SlackBackend`: connecting, serving and stopping; the rest are its mixins:
  `outbox` (sending), `files` (uploads), `reactions` (the bot's reactions and presence),
  `addressing` (identifiers and replies), `rooms` (conversations.*), `compat` (the helpers of
  errbot-backend-slackv3 that plugins call).
- `client`: Web API client, Bolt app, Socket Mode or Events API; `events`: incoming events.
- `identifiers`: people, channels, occupants; `markup`: Markdown to mrkdwn and back;
  `cards`: cards as attachments.

The backend loader imports this package (the ``Module`` of slack.plug and slack_alias.plug)
and takes the one `ErrBot` subclass it finds here.
"""

from errbot.backends.slack.backend import SlackBackend
from errbot.backends.slack.identifiers import SlackPerson, SlackRoom, SlackRoomOccupant

__all__ = ["SlackBackend", "SlackPerson", "SlackRoom", "SlackRoomOccupant"]
