"""Plugins installed with pip: distributions declaring the ``errbot.plugins`` entry point.

The plugin manager loads them from their package folders; `!repos` lists them so an admin
sees every source of plugins, but pip (not chat) installs, updates and removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

GROUP = "errbot.plugins"


@dataclass(frozen=True)
class PipPlugin:
    distribution: str
    version: str
    summary: str


def pip_plugins() -> list[PipPlugin]:
    found: dict[str, PipPlugin] = {}
    for entry in metadata.entry_points(group=GROUP):
        dist = getattr(entry, "dist", None)
        if dist is None:
            continue
        name = dist.metadata["Name"] or entry.name
        if name not in found:
            found[name] = PipPlugin(name, dist.version or "", dist.metadata["Summary"] or "")
    return sorted(found.values(), key=lambda p: p.distribution.lower())
