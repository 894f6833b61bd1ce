"""Redlock with hung masters: progress while 2 of 5 masters are SIGSTOPped.

Run ``python benchmarks/bench_redlock_hung.py [--quick]``.  Starts five
private servers (the masters) and a sixth for the shared counter, through
the test rig (tests/servers.py), and stops them afterwards.

Three worker processes contend on one key with the sync ``Redlock``:
``acquire(timeout=20)``, a read-modify-write of a counter on the sixth
server (GET, 1 ms, SET), ``release()``.  The run has two phases of equal
length: all masters healthy, then two of them paused (SIGSTOP: they accept
connections and never answer, the failure Redlock exists to tolerate).  For
each phase the script reports acquisitions per second, each worker's share,
the slowest ``acquire()`` and its p99, and lost updates (the counter against
the sum of the workers' cycles).  The issue's goals for the paused phase:
every acquire within 2.5 s, at least 5 acquisitions per second, each worker
at least 15% of them, no lost update.

PASS/MISS is informational; the script always exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import redis
from bench_common import ROOT, Server, percentile

WORKER = '''
import json, sys, time
import redis
from pottery_async.exceptions import ReleaseUnlockedLock
from pottery_async.sync import Redlock

counter_url, key, *urls = sys.argv[1:]
counter = redis.Redis.from_url(counter_url)
lock = Redlock(key=key, masters=[redis.Redis.from_url(url) for url in urls])
events = []
print('ready', flush=True)
while not counter.exists(key + ':stop'):
    start = time.monotonic()
    acquired = lock.acquire(timeout=20)
    took = time.monotonic() - start
    if not acquired:
        events.append([start, took, 0])
        continue
    value = int(counter.get(key) or 0)
    time.sleep(0.001)
    counter.set(key, value + 1)
    try:
        lock.release()
    except ReleaseUnlockedLock:
        pass
    events.append([start, took, 1])
print(json.dumps(events), flush=True)
'''


def phase_report(
    name: str, per_worker: list[list[list[float]]], start: float, end: float,
) -> dict[str, float]:
    'Figures for the acquisitions that started within [start, end).'
    took: list[float] = []
    slowest, slowest_at = -1.0, float('nan')
    counts = []
    missed = 0
    for events in per_worker:
        mine = [event for event in events if start <= event[0] < end]
        counts.append(sum(1 for event in mine if event[2]))
        missed += sum(1 for event in mine if not event[2])
        took.extend(event[1] for event in mine)
        for event in mine:
            if event[1] > slowest:
                slowest, slowest_at = event[1], event[0] - start
    total = sum(counts)
    seconds = end - start
    shares = [count / total if total else 0.0 for count in counts]
    figures = {
        'rate': total / seconds,
        'min_share': min(shares),
        'slowest': max(took, default=float('nan')),
        'p99': percentile(took, 99),
        'missed': missed,
    }
    print(
        f'{name:>8}: {total} acquisitions in {seconds:.1f} s = {figures["rate"]:.1f}/s; '
        f'shares {", ".join(f"{share:.0%}" for share in shares)}; '
        f'acquire p99 {figures["p99"]:.3f} s, slowest {figures["slowest"]:.3f} s '
        f'(began {slowest_at:+.1f} s into the phase); '
        f'missed timeouts {missed}',
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='short phases (CI: checks that it runs)')
    args = parser.parse_args(argv)
    phase = 3.0 if args.quick else 15.0
    masters = [Server() for _ in range(5)]
    counter_server = Server()
    children: list[subprocess.Popen[str]] = []
    try:
        counter = redis.Redis.from_url(counter_server.url())
        key = 'hung-bench'
        urls = [server.url() for server in masters]
        children = [
            subprocess.Popen(
                [sys.executable, '-c', WORKER, counter_server.url(), key, *urls],
                stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )
            for _ in range(3)
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == 'ready'
        healthy_start = time.monotonic()
        time.sleep(phase)
        paused_start = time.monotonic()
        for server in masters[:2]:
            server.pause()
        try:
            time.sleep(phase)
        finally:
            paused_end = time.monotonic()
            counter.set(f'{key}:stop', 1)
            for server in masters[:2]:
                server.resume()
        per_worker = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            per_worker.append(json.loads(out))
        done = sum(event[2] for events in per_worker for event in events)
        lost = done - int(counter.get(key) or 0)
        print(f'Redlock, 3 processes on one key, 5 masters; phases of {phase:.0f} s')
        phase_report('healthy', per_worker, healthy_start, paused_start)
        paused = phase_report('2 paused', per_worker, paused_start, paused_end)
        print(f'lost updates: {lost}')
        goals = [
            ('every acquire within 2.5 s', paused['slowest'] <= 2.5),
            ('at least 5 acquisitions/s', paused['rate'] >= 5),
            ('each worker at least 15%', paused['min_share'] >= 0.15),
            ('no lost update', lost == 0),
        ]
        for goal, met in goals:
            print(f'  {"PASS" if met else "MISS"}  {goal}')
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
        for server in [*masters, counter_server]:
            server.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
