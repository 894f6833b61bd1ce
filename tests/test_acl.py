"""Restricted users are first-class: every key a structure writes starts with its key."""

from __future__ import annotations

import uuid

import pytest
from redis.crc import key_slot

from pottery_async._base import companion

# Keys of every shape: with and without a hash tag of their own, and with
# braces that make no tag.
KEYS = (
    'jobs', 'redlock:printer', 'with{tag}', '{tag}first', 'braces}only', '}{', 'a{}b}', 'a{b', 'ü{}', '{}',
)


def test_companion_names() -> None:
    assert companion('jobs', 'taken') == 'jobs:taken{jobs}'
    assert companion('{app}:jobs', 'taken') == '{app}:jobs:taken'
    assert companion('redlock:printer', 'fence') == 'redlock:printer:fence{redlock:printer}'


@pytest.mark.parametrize('key', KEYS)
def test_companions_start_with_the_key_and_share_its_slot(key: str) -> None:
    kinds = ('fence', 'scratch', f'lock:{"0" * 32}', f'build:{uuid.uuid4()}')
    names = [companion(key, kind) for kind in kinds]
    # A companion of a companion: a list build's marker.
    names.append(companion(names[-1], 'marker'))
    for name in names:
        assert name.startswith(f'{key}:'), name
        assert key_slot(name.encode()) == key_slot(key.encode()), name
    assert len(set(names)) == len(names)
    assert companion(key, 'fence') == names[0]
