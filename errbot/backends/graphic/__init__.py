"""The Graphic backend: the development console in a web page (`errbot -G`).

- `backend`: `GraphicBackend`, the Text backend's identities and rooms, talking to a page.
- `app`: the ASGI application serving the page, its events and its small JSON API.
- `hub`: the event fan-out to open pages (chat, state, log records), with a replay buffer.
- `markup`: Markdown to safe HTML, code highlighted with Pygments.
- `reloading`: the reload button's plugins, including those whose code failed to load.
- `downloads`: the files plugins send, kept in memory for the page to download.
- `static/`: the page itself (plain HTML, CSS and one script, no build step).

Only `GraphicBackend` is exported here: the backend loader takes the one `ErrBot` subclass
it finds in this module.
"""

from errbot.backends.graphic.backend import GraphicBackend

__all__ = ["GraphicBackend"]
