"""The quickstart runs as the README says, with and without REDIS_URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis

QUICKSTART = Path(__file__).resolve().parent.parent / 'examples' / 'quickstart.py'
EXPECTED = """\
--- sync: pottery_async.sync is a drop-in for pottery ---
RedisDict{'jack': 4098, 'sape': 4139, 'guido': 4127}
jack -> 4098 | guido in tel: True | len: 3
--- async: the same dict, from pottery_async ---
RedisDict{'jack': 4098, 'sape': 4139, 'guido': 4127}
keys: ['jack', 'sape', 'guido', 'irv']
after clear, len: 0
"""


def run_quickstart(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-X', 'dev', '-W', 'error', str(QUICKSTART)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_quickstart_on_redis_url(url: str, redis_client: redis.Redis) -> None:
    result = run_quickstart({**os.environ, 'REDIS_URL': url})
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED
    assert result.stderr == ''
    assert not redis_client.exists('quickstart:tel')


def test_quickstart_starts_its_own_server() -> None:
    env = {k: v for k, v in os.environ.items() if k != 'REDIS_URL'}
    result = run_quickstart(env)
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split('\n', 1)
    assert first.startswith('(no REDIS_URL: started a private Valkey server on port ')
    assert rest == EXPECTED
