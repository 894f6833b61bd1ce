"""Encoding of keys and values, I/O-free.

The default codec writes exactly what Pottery 3.x writes (``json.dumps`` with
``sort_keys=True`` and the default separators), so data written by either
library reads back identically through the other.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol, TypeAlias

JSONTypes: TypeAlias = bool | int | float | str | list[Any] | dict[str, Any] | None


class Codec(Protocol):
    'Turns Python values into Redis strings and back.'

    def encode(self, value: Any, /) -> str | bytes:
        'Encode a value; raise TypeError if it cannot be encoded.'
        ...

    def decode(self, data: bytes | str, /) -> Any:
        'Decode what encode() produced.'
        ...


class JSONCodec:
    'JSON, byte-identical to what Pottery 3.x stores.'

    __slots__ = ('_dumps', '_loads')

    def __init__(self) -> None:
        # One encoder object instead of json.dumps(..., sort_keys=True), which
        # builds a fresh JSONEncoder on every call; the output is the same.
        self._dumps = json.JSONEncoder(sort_keys=True).encode
        self._loads = json.JSONDecoder().decode

    def encode(self, value: Any, /) -> str:
        'Encode a value as JSON; TypeError if it is not JSON-serialisable.'
        # Exact str and int (the usual keys and values) skip the encoder
        # object; the output is what JSONEncoder.encode() returns for them.
        kind = type(value)
        if kind is str:
            return encode_basestring_ascii(value)
        if kind is int:
            return int.__repr__(value)
        return self._dumps(value)

    def decode(self, data: bytes | str, /) -> Any:
        'Decode a JSON document.'
        if isinstance(data, bytes):
            data = data.decode()
        return self._loads(data)

    def __repr__(self) -> str:
        return 'JSONCodec()'


JSON = JSONCodec()


def encode_or_none(codec: Codec, value: Any) -> str | bytes | None:
    'What ``codec`` makes of ``value``; None if it cannot encode it, so that no container holds it.'
    try:
        return codec.encode(value)
    except TypeError:
        return None
