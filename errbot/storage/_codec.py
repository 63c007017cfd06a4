"""Turning stored values into bytes or text and back, for the durable storages.

Two serializers, chosen with ``STORAGE_CONFIG["serializer"]``:

``"pickle"`` (the default, as in Errbot)
    Any picklable value. Reading unpickles, which runs code named by the data: only use it on a
    store that nothing but the bot (and people trusted like it) can write.
``"json"``
    Only JSON data (dict with str keys, list, str, int, float, bool, None), checked strictly
    before anything is written, so what comes back is exactly what was stored. Reading never
    unpickles: a pickled value found in the store is refused. For stores other services share.

Encoding errors raise `UnstorableValueError` naming the namespace, the key and the offending
type, before anything is written. Decoding accepts both forms in pickle mode (pickles begin
with the PROTO opcode 0x80; JSON text never does), so a store written in JSON mode stays
readable after switching back to pickle.
"""

from __future__ import annotations

import json
import math
import pickle
from typing import Any, Final

from errbot.storage import StoreException, UnstorableValueError

__all__ = ["Codec", "PICKLE_PROTOCOL", "SERIALIZERS", "codec_from_config"]

# Protocol 4 rather than the newest: data stays readable by any Python 3.8+.
PICKLE_PROTOCOL: Final = 4
SERIALIZERS: Final = ("pickle", "json")
_PICKLE_MARK: Final = 0x80  # first byte of every pickle of protocol 2 or later
_JSON_TYPES = "dict (with str keys), list, str, int, float, bool and None"


class Codec:
    """Encodes values for one storage, and decodes what it reads back."""

    __slots__ = ("json_only", "protocol")

    def __init__(self, json_only: bool = False, protocol: int = PICKLE_PROTOCOL) -> None:
        self.json_only = json_only
        self.protocol = protocol

    @property
    def name(self) -> str:
        return "json" if self.json_only else "pickle"

    # -- writing -------------------------------------------------------------------------------
    def encode(self, namespace: str, key: str, value: Any) -> bytes | str:
        """Pickle bytes, or JSON text in JSON mode."""
        if self.json_only:
            return self.json_text(namespace, key, value)
        return self.pickle_bytes(namespace, key, value)

    def encode_bytes(self, namespace: str, key: str, value: Any) -> bytes:
        """Like `encode`, JSON text encoded as UTF-8: for stores that only hold bytes."""
        if self.json_only:
            return self.json_text(namespace, key, value).encode("utf-8")
        return self.pickle_bytes(namespace, key, value)

    def pickle_bytes(self, namespace: str, key: str, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=self.protocol)
        except Exception as exc:  # pickling runs arbitrary __reduce__ code: any error can come
            raise UnstorableValueError(
                f"Cannot store the key {key!r} in the namespace {namespace!r}: a value of "
                f"type {_type_name(value)} cannot be pickled ({exc})."
            ) from exc

    def json_text(self, namespace: str, key: str, value: Any) -> str:
        try:
            problem = _json_problem(value, "the value")
        except RecursionError:
            problem = "the value is nested too deeply, or contains itself"
        if problem is not None:
            raise UnstorableValueError(
                f"Cannot store the key {key!r} in the namespace {namespace!r} as JSON: "
                f"{problem}. This storage is in JSON mode (STORAGE_CONFIG['serializer'] = "
                f"'json'), which stores only {_JSON_TYPES}."
            )
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    # -- reading -------------------------------------------------------------------------------
    def decode(self, namespace: str, key: str, data: bytes | str) -> Any:
        try:
            if type(data) is str:
                return json.loads(data)
            if data[:1] == b"\x80":
                if self.json_only:
                    raise StoreException(
                        f"The key {key!r} of the namespace {namespace!r} holds a pickled value, "
                        "which JSON mode never unpickles. It was written in pickle mode: "
                        "migrate the store (docs/storage.md) or go back to pickle mode."
                    )
                return pickle.loads(data)
            if self.json_only:
                return json.loads(data)
            try:
                return json.loads(data)
            except ValueError:
                return pickle.loads(data)  # a pickle of protocol 0 or 1
        except StoreException:
            raise
        except Exception as exc:
            raise StoreException(
                f"Cannot read the key {key!r} of the namespace {namespace!r}: {exc!r}"
            ) from exc


def _type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _json_problem(value: Any, where: str) -> str | None:
    """Why ``value`` would not come back unchanged from JSON, or None if it would."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return None
    if kind is float:
        return None if math.isfinite(value) else f"{where} is {value!r}, which JSON lacks"
    if kind is list:
        for index, item in enumerate(value):
            problem = _json_problem(item, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    if kind is dict:
        for item_key, item in value.items():
            if type(item_key) is not str:
                return (
                    f"{where} has a key of type {_type_name(item_key)} ({item_key!r}); "
                    "JSON object keys are strings"
                )
            problem = _json_problem(item, f"{where}[{item_key!r}]")
            if problem is not None:
                return problem
        return None
    return f"{where} is of type {_type_name(value)}"


def codec_from_config(
    storage: str, config: dict[str, Any], protocol: int = PICKLE_PROTOCOL
) -> Codec:
    """The codec named by ``config["serializer"]``; a clear error for anything else."""
    name = config.get("serializer", "pickle")
    if name not in SERIALIZERS:
        raise StoreException(
            f"The {storage} storage: STORAGE_CONFIG['serializer'] is {name!r}; "
            f"use 'pickle' (the default) or 'json'."
        )
    return Codec(json_only=name == "json", protocol=protocol)
