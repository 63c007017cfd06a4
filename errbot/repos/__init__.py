"""Plugin repositories: the index, installing from git or archives, updates, requirements.

See docs/repositories.md. `RepoManager` is what the bot and backup scripts use
(``bot.repo_manager``).
"""

from errbot.repos.errors import RepoException, RepoIndexError
from errbot.repos.index import IndexEntry
from errbot.repos.manager import RepoManager

__all__ = ["IndexEntry", "RepoException", "RepoIndexError", "RepoManager"]
