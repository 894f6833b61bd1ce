"""The test rig itself: private servers that are real and independent."""

from __future__ import annotations

import redis

from tests.servers import Server


def test_server_is_private_and_real(server: Server, redis_client: redis.Redis) -> None:
    redis_client.set('probe', 'x')
    assert redis_client.get('probe') == b'x'
    info = redis_client.info('server')
    assert int(info['tcp_port']) == server.port


def test_five_masters_are_independent(masters: list[redis.Redis]) -> None:
    ports = {int(m.info('server')['tcp_port']) for m in masters}
    assert len(ports) == 5
    masters[0].set('only-here', 1)
    assert [bool(m.exists('only-here')) for m in masters] == [True, False, False, False, False]
