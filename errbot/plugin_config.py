"""Plugin configurations: where they come from, parsing them from chat, hiding their secrets.

A plugin's configuration comes from one of two places:

- chat (``!plugin config <Name> <value>``), kept in the ``configs`` entry of the ``core``
  storage namespace, as Errbot does;
- ``PLUGINS_CONFIG = {"<Name>": {...}}`` in ``config.py``, so a deployment needs no chat step.

A configuration set from chat wins over the one in ``config.py``.

Secrets: a value is secret when its key (at any depth of dicts, including dicts inside lists)
contains TOKEN, PASSWORD, SECRET or KEY, case-insensitively, or when the plugin names the key in
its ``secret_config_keys`` class attribute (a sequence of key names, matched case-insensitively
at any depth). Secrets are shown as ``********`` in chat and never written to logs.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "MASK",
    "MD_MASK",
    "SECRET_MARKERS",
    "SOURCE_CHAT",
    "SOURCE_CONFIG_FILE",
    "ConfigSyntaxError",
    "declared_secret_keys",
    "is_secret_key",
    "mask_secrets",
    "parse_config_text",
    "redact",
    "restore_masked_secrets",
    "secret_values",
]

MASK = "********"
MD_MASK = "\\*" * len(MASK)  # the mask, escaped for Markdown text outside code
SECRET_MARKERS = ("TOKEN", "PASSWORD", "SECRET", "KEY")
SOURCE_CHAT = "chat"
SOURCE_CONFIG_FILE = "config.py"

# Secret values shorter than this are only redacted in their quoted form (``'ab'``) from free
# text: replacing a bare "ab" everywhere would garble the message around it.
_BARE_REDACTION_MIN = 4


class ConfigSyntaxError(ValueError):
    """The text typed after ``!plugin config <Name>`` is not a Python literal."""


def declared_secret_keys(plugin: Any) -> frozenset[str]:
    """The key names ``plugin`` declares secret (``secret_config_keys``), lower-cased."""
    declared = getattr(plugin, "secret_config_keys", None) or ()
    if isinstance(declared, str):
        declared = (declared,)
    return frozenset(str(key).lower() for key in declared)


def is_secret_key(key: Any, declared: Iterable[str] = ()) -> bool:
    """Whether a configuration key holds a secret (by its name, or declared by the plugin)."""
    if not isinstance(key, str):
        return False
    upper = key.upper()
    if any(marker in upper for marker in SECRET_MARKERS):
        return True
    return key.lower() in {d.lower() for d in declared}


def _walk_secrets(value: Any, declared: frozenset[str]) -> Iterator[Any]:
    """Every value stored under a secret key, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if is_secret_key(key, declared):
                yield from _leaves(item)
            else:
                yield from _walk_secrets(item, declared)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _walk_secrets(item, declared)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def secret_values(value: Any, declared: Iterable[str] = ()) -> list[Any]:
    """The non-empty scalar values found under secret keys of ``value``."""
    found = []
    for leaf in _walk_secrets(value, frozenset(d.lower() for d in declared)):
        if leaf is None or isinstance(leaf, bool) or leaf == "" or leaf == MASK:
            continue
        found.append(leaf)
    return found


def mask_secrets(value: Any, declared: Iterable[str] = ()) -> Any:
    """A copy of ``value`` where everything under a secret key is replaced by ``MASK``.

    Empty values (None, "") stay visible: they tell the admin that nothing is set.
    """
    lowered = frozenset(d.lower() for d in declared)

    def masked(item: Any) -> Any:
        if isinstance(item, Mapping):
            result = {}
            for key, sub in item.items():
                if is_secret_key(key, lowered) and sub not in (None, ""):
                    result[key] = MASK
                else:
                    result[key] = masked(sub)
            return result if type(item) is dict else _rebuild(item, result)
        if isinstance(item, list | tuple):
            return type(item)(masked(sub) for sub in item)
        return item

    return masked(value)


def _rebuild(original: Mapping[Any, Any], items: dict[Any, Any]) -> Any:
    try:
        return type(original)(items)
    except Exception:  # an exotic mapping type: a plain dict shows the same content
        return items


def restore_masked_secrets(new: Any, current: Any, declared: Iterable[str] = ()) -> Any:
    """``new`` where a secret given as ``MASK`` takes the value it has in ``current``.

    An admin who pastes back the masked configuration shown by ``!plugin config <Name>`` keeps
    the secrets instead of storing the mask.
    """
    lowered = frozenset(d.lower() for d in declared)

    def merge(item: Any, known: Any) -> Any:
        if isinstance(item, dict):
            result = {}
            for key, sub in item.items():
                previous = known.get(key) if isinstance(known, Mapping) else None
                if (
                    is_secret_key(key, lowered)
                    and sub == MASK
                    and isinstance(known, Mapping)
                    and key in known
                ):
                    result[key] = copy.deepcopy(previous)
                else:
                    result[key] = merge(sub, previous)
            return result
        return item

    return merge(new, current)


def redact(text: str, config: Any, declared: Iterable[str] = (), mask: str = MASK) -> str:
    """``text`` with every secret value of ``config`` replaced by ``mask``.

    Error messages (a failing ``check_configuration`` typically quotes the configuration) go
    through this before they reach chat or the logs. Chat replies outside code blocks pass
    ``MD_MASK``: a bare ``********`` is Markdown emphasis and would vanish when rendered.
    """
    if not text:
        return text
    forms: set[str] = set()
    for value in secret_values(config, declared):
        forms.add(repr(value))
        bare = str(value)
        if len(bare) >= _BARE_REDACTION_MIN:
            forms.add(bare)
    # Longest first, so a value containing another one is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            quote = form[0] if form.startswith(("'", '"')) else ""
            text = text.replace(form, f"{quote}{mask}{quote}")
    return text


def parse_config_text(text: str) -> Any:
    """The Python literal typed by the admin (it may start on the next line).

    Raises ConfigSyntaxError without quoting the text: it may hold secrets.
    """
    try:
        return ast.literal_eval(text.strip())
    except Exception:  # SyntaxError, ValueError, RecursionError...: none may quote the text
        raise ConfigSyntaxError("Syntax error in the given configuration") from None
