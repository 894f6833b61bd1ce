"""BloomFilter: a Redis bitmap that answers "have I seen this element?".

The layout is Pottery 3.x's, so each library reads and extends the other's
filters: a Redis string of ``size()`` bits; an element's bits are the
signed 32-bit MurmurHash3 of its JSON encoding with seeds ``0 ..
num_hashes() - 1``, each taken modulo ``size()`` (Python's modulo, never
negative), numbered as SETBIT numbers them.  ``size()`` and
``num_hashes()`` follow from ``num_elements`` and ``false_positives`` by
the textbook formulas, computed exactly as Pottery computes them.

Pottery sends a command per bit.  Here one element is one command (BITFIELD
sets or reads all of its bits), and many elements are one round trip:
either one script, to which the client sends the hashes packed in one
argument and which takes them modulo ``size()`` and sets or tests the bits,
or, to test many elements against a small bitmap, one GETRANGE of the
bitmap, whose bits the client tests itself.
"""

from __future__ import annotations

import array
import math
import numbers
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import mmh3
from redis.client import NEVER_DECODE

from . import _clients
from ._base import (
    Container,
    Script,
    initializer,
    is_container,
    redis_type,
    unwrap,
    values_of,
    warn_inefficient,
)
from ._codec import Codec, JSONTypes, encode_or_none

# A Redis string holds at most 512 MB, so bit offsets stop at 2**32 - 1.
_MAX_BITS = 2**32

# The hashes travel as little-endian signed 32-bit integers, the server's
# byte order whatever the client's.
_SWAP = sys.byteorder == 'big'
assert array.array('i').itemsize == 4, 'the hashes are packed as C ints of 32 bits'

# contains_many() reads a bitmap of up to this many bytes per bit it tests,
# and tests the bits itself; the server tests the bits of larger ones.
_LOCAL_BYTES_PER_BIT = 16

# Lua: the signed 32-bit hash at position p of the packed string s.
_LUA_HASH = '''
local byte = string.byte
local function hash(s, p)
  local a, b, c, d = byte(s, p, p + 3)
  local h = ((d * 256 + c) * 256 + b) * 256 + a
  if h >= 2147483648 then h = h - 4294967296 end
  return h
end
'''

# Set the bit of every hash in ARGV[2], modulo the filter's size ARGV[1].
# Lua's % is a floored modulo, like Python's: the offsets are Pottery's.  A
# key of another type fails at the first SETBIT, before anything is written.
_ADD = Script(_LUA_HASH + '''
local key = KEYS[1]
local size = tonumber(ARGV[1])
local hashes = ARGV[2]
for p = 1, #hashes, 4 do
  redis.call('SETBIT', key, hash(hashes, p) % size, 1)
end
return 0
''')

# For each run of ARGV[2] hashes in ARGV[3]: '1' if all of their bits are
# set, else '0', as one string.  A small bitmap (up to 256 bytes per bit
# asked) is read once and tested in Lua; a larger one bit by bit, with
# GETBIT.  Each element stops at its first clear bit.
_HAS = Script(_LUA_HASH + '''
local key = KEYS[1]
local size = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local hashes = ARGV[3]
local length = redis.call('STRLEN', key)
local bits = false
if length <= 64 * #hashes then bits = redis.call('GET', key) end
local stored = length * 8
local band = bit.band
local found = {}
for p = 1, #hashes, 4 * k do
  local all = '1'
  for q = p, p + 4 * k - 1, 4 do
    local offset = hash(hashes, q) % size
    local set
    if offset >= stored then
      set = false
    elseif bits then
      set = band(byte(bits, (offset - offset % 8) / 8 + 1), 2 ^ (7 - offset % 8)) ~= 0
    else
      set = redis.call('GETBIT', key, offset) == 1
    end
    if not set then
      all = '0'
      break
    end
  end
  found[#found + 1] = all
end
return table.concat(found)
''')


def _checked_sizing(num_elements: Any, false_positives: Any) -> tuple[int, float]:
    'The arguments, validated: TypeError or ValueError before anything is sent.'
    if isinstance(num_elements, bool) or not isinstance(num_elements, numbers.Integral):
        raise TypeError(f'num_elements must be an int, not {type(num_elements).__name__}')
    if num_elements < 1:
        raise ValueError(f'num_elements must be at least 1, not {num_elements!r}')
    if isinstance(false_positives, bool) or not isinstance(false_positives, numbers.Real):
        raise TypeError(f'false_positives must be a float, not {type(false_positives).__name__}')
    probability = float(false_positives)
    if not 0 < probability < 1:
        raise ValueError(f'false_positives must be between 0 and 1 (exclusive), not {false_positives!r}')
    return int(num_elements), probability


class BloomFilter(Container):
    'A Redis-backed Bloom filter: add elements, test membership, estimate the count.'

    _VAR = 'bf'

    def __init__(
        self,
        iterable: Iterable[JSONTypes] = frozenset(),
        *,
        num_elements: int,
        false_positives: float,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        'Create the filter; initial elements are added when it is awaited.  O(n * k)'
        num_elements, false_positives = _checked_sizing(num_elements, false_positives)
        # The formulas and their order of operations are Pottery's, so the
        # floats, and the layout, come out identical.
        size = math.ceil(-num_elements * math.log(false_positives) / math.log(2) ** 2)
        if size > _MAX_BITS:
            raise ValueError(
                f'{num_elements} elements at false_positives={false_positives} need {size} bits; '
                f'a Redis string holds at most {_MAX_BITS}'
            )
        super().__init__(redis=redis, key=key, codec=codec)
        self._num_elements = num_elements
        self._false_positives = false_positives
        self._size = size
        self._num_hashes = math.ceil(size / num_elements * math.log(2))
        self._seeds = range(self._num_hashes)
        # Encode now: an element that cannot be stored fails here, and
        # nothing is written.
        if is_container(iterable):
            # Another container is read when this filter is awaited.
            self._unwritten = unwrap(iterable)
        else:
            encoded = self._encode_all(iterable)
            if encoded:
                self._unwritten = encoded

    @redis_type('string')
    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if not isinstance(unwritten, list):
            unwritten = self._encode_all(await values_of(unwritten))
            if not unwritten:
                return
        await self._add_encoded(unwritten)

    @property
    def num_elements(self) -> int:
        'How many elements the filter is sized for.'
        return self._num_elements

    @property
    def false_positives(self) -> float:
        'The false positive probability the filter is sized for.'
        return self._false_positives

    def size(self) -> int:
        'The number of bits (m) the filter needs for num_elements and false_positives.  O(1)'
        return self._size

    def num_hashes(self) -> int:
        'The number of bits (k) each element sets, which minimises false positives.  O(1)'
        return self._num_hashes

    # Encoding and hashing: no I/O.

    def _encode_all(self, values: Iterable[Any]) -> list[str | bytes]:
        'Every value, encoded; TypeError if one cannot be.'
        encode = self._codec.encode
        return [encode(value) for value in values]

    def _offsets(self, encoded: str | bytes) -> list[int]:
        'The bits of one encoded element.'
        size = self._size
        return [mmh3.hash(encoded, seed) % size for seed in self._seeds]

    def _hashes(self, encoded: list[str | bytes]) -> bytes:
        "The k hashes of each encoded element, packed for the scripts (modulo m is the server's job)."
        packed = array.array('i', map(
            mmh3.hash,
            [e for e in encoded for _ in self._seeds],
            list(self._seeds) * len(encoded),
        ))
        if _SWAP:
            packed.byteswap()
        return packed.tobytes()

    async def _add_encoded(self, encoded: list[str | bytes]) -> None:
        if len(encoded) > 1:
            warn_inefficient()
        # One script call, however many elements: all of them or none.
        await _ADD(self._client, [self._key], [self._size, self._hashes(encoded)])

    # The filter's operations.

    @redis_type('string')
    async def add(self, value: JSONTypes) -> None:
        'Add an element: one BITFIELD that sets its k bits.  O(k)'
        args: list[Any] = []
        for offset in self._offsets(self._codec.encode(value)):
            args += ('SET', 'u1', offset, 1)
        await self._client.execute_command('BITFIELD', self._key, *args)  # Redis 3.2+

    @redis_type('string')
    async def update(self, *iterables: Iterable[JSONTypes]) -> None:
        'Add the elements of every iterable, in one atomic step (one script).  O(n * k)'
        encoded = self._encode_all([value for iterable in iterables for value in await values_of(iterable)])
        if encoded:
            await self._add_encoded(encoded)

    @redis_type('string')
    async def contains(self, value: Any) -> bool:
        'value in bf: one BITFIELD_RO that reads its k bits; may be a false positive.  O(k)'
        encoded = encode_or_none(self._codec, value)
        if encoded is None:
            # Cannot be stored, so was never added.
            return False
        args: list[Any] = []
        for offset in self._offsets(encoded):
            args += ('GET', 'u1', offset)
        bits = await self._client.execute_command('BITFIELD_RO', self._key, *args)  # Redis 6.0+
        return all(bits)

    @redis_type('string')
    async def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the filter, in one round trip; each may be a false positive.  O(n * k)'
        # None for what cannot be stored, so was never added.
        asked = [encode_or_none(self._codec, value) for value in values]
        encoded = [e for e in asked if e is not None]
        if not encoded:
            return iter([False] * len(values))
        last_byte = (self._size - 1) // 8
        if last_byte < _LOCAL_BYTES_PER_BIT * self._num_hashes * len(encoded):
            # A bitmap this small costs less to send than its bits cost to
            # test on the server, where every other client waits meanwhile.
            bitmap = await self._client.execute_command(  # Redis 2.4+
                'GETRANGE', self._key, 0, last_byte, **{NEVER_DECODE: True},
            )
            found = iter(self._found_in(bitmap, encoded))
            return iter([e is not None and next(found) for e in asked])
        reply = await _HAS(self._client, [self._key], [self._size, self._num_hashes, self._hashes(encoded)])
        answers = iter(reply.encode() if isinstance(reply, str) else reply)
        # b'1' is 49.
        return iter([e is not None and next(answers) == 49 for e in asked])

    def _found_in(self, bitmap: bytes, encoded: list[str | bytes]) -> list[bool]:
        'Whether each encoded element has all of its bits set in the bitmap.'
        stored = len(bitmap) * 8
        size, seeds, hash_ = self._size, self._seeds, mmh3.hash
        found = []
        for element in encoded:
            for seed in seeds:
                offset = hash_(element, seed) % size
                if offset >= stored or not bitmap[offset >> 3] & (128 >> (offset & 7)):
                    found.append(False)
                    break
            else:
                found.append(True)
        return found

    @redis_type('string')
    async def len(self) -> int:
        """len(bf): the approximate number of elements added (from BITCOUNT).  O(m)

        Pottery's estimate, -m / k * ln(1 - X / m) for X bits set, rounded
        down; a full bitmap (X = m, where the formula has no finite value)
        counts as m - 1 bits set.
        """
        size = self._size
        bits_set = min(int(await self._client.bitcount(self._key)), size - 1)  # Redis 2.6+
        return math.floor(-size / self._num_hashes * math.log(1 - bits_set / size))

    def __repr__(self) -> str:
        "Pottery's repr, e.g. <BloomFilter key=dilberts>.  O(1)"
        return f'<{type(self).__qualname__} key={self._key}>'
