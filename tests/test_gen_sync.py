"""tools/gen_sync.py --check catches stale twins, orphans, and rules the core does not match."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pottery_async
import pottery_async.sync

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    'A copy of the package, the generator and its ruff settings, to break.'
    shutil.copytree(ROOT / 'pottery_async', tmp_path / 'pottery_async',
                    ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(ROOT / 'tools', tmp_path / 'tools', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT / 'pyproject.toml', tmp_path)
    return tmp_path


def check(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(tree / 'tools' / 'gen_sync.py'), '--check'],
        capture_output=True, text=True, check=False,
    )


def test_check_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'gen_sync.py'), '--check'],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hand_edited_twin_fails(tree: Path) -> None:
    twin = tree / 'pottery_async' / 'sync' / 'dict.py'
    twin.write_text(twin.read_text().replace('_bridge.run(self._core.len())', '0'))
    result = check(tree)
    assert result.returncode == 1
    assert 'pottery_async/sync/dict.py is stale' in result.stdout
    assert '-        return 0' in result.stdout


def test_changed_core_makes_twin_stale(tree: Path) -> None:
    core = tree / 'pottery_async' / 'dict.py'
    core.write_text(core.read_text().replace("'len(d): the number of items.  O(1)'", "'How many.'"))
    result = check(tree)
    assert result.returncode == 1
    assert '+        "How many."' in result.stdout


def test_twin_without_source_fails(tree: Path) -> None:
    (tree / 'pottery_async' / 'sync' / 'orphan.py').write_text('x = 1\n')
    result = check(tree)
    assert result.returncode == 1
    assert 'pottery_async/sync/orphan.py has no source' in result.stdout


def test_unused_name_map_entry_fails(tree: Path) -> None:
    generator = tree / 'tools' / 'gen_sync.py'
    generator.write_text(generator.read_text().replace(
        "    'repr': '__repr__',\n", "    'repr': '__repr__',\n    'anext': '__next__',\n",
    ))
    result = check(tree)
    assert result.returncode != 0
    assert 'NAME_MAP: entries never used: anext' in result.stderr


def test_generation_writes_what_check_expects(tree: Path) -> None:
    twin = tree / 'pottery_async' / 'sync' / 'dict.py'
    twin.unlink()
    subprocess.run([sys.executable, str(tree / 'tools' / 'gen_sync.py')], check=True)
    assert twin.read_text() == (ROOT / 'pottery_async' / 'sync' / 'dict.py').read_text()
    assert check(tree).returncode == 0


def test_translated_function_follows_its_core(tree: Path) -> None:
    # synchronize() is translated: its sync body is the core's, minus awaits.
    twin = (tree / 'pottery_async' / 'sync' / 'redlock.py').read_text()
    body = twin[twin.index('def synchronize('):]
    assert 'await' not in body
    assert 'async ' not in body
    assert 'lock = Redlock(' in body
    assert 'with lock:' in body
    assert 'return func(*args, **kwargs)' in body
    assert 'require_plain_function(func' in body
    core = tree / 'pottery_async' / 'redlock.py'
    core.write_text(core.read_text().replace('holding = time.monotonic()', 'holding = time.perf_counter()'))
    result = check(tree)
    assert result.returncode == 1
    assert '+                holding = time.perf_counter()' in result.stdout


def test_unused_rename_fails(tree: Path) -> None:
    generator = tree / 'tools' / 'gen_sync.py'
    generator.write_text(generator.read_text().replace("{'AF': 'F', ", "{'AIOThing': 'Thing', 'AF': 'F', "))
    result = check(tree)
    assert result.returncode != 0
    assert "Translate(core='synchronize'" in result.stderr
    assert 'names never used: AIOThing' in result.stderr


@pytest.mark.parametrize(('module', 'old', 'new', 'rule'), [
    ('bloom.py', 'class BloomFilter(', 'class Bloom(', "Twin(core='BloomFilter'"),
    ('cache.py', 'class CachedOrderedDict(', 'class OrderedCache(', "Subclass(core='CachedOrderedDict'"),
    ('redlock.py', 'def synchronize(', 'def synchronized(', "Translate(core='synchronize'"),
])
def test_rule_the_core_no_longer_matches_fails(
    tree: Path, module: str, old: str, new: str, rule: str,
) -> None:
    # Like httpcore's unasync: a rule that matches nothing is a stale table, not a no-op.
    core = tree / 'pottery_async' / module
    core.write_text(core.read_text().replace(old, new))
    for command in ([], ['--check']):
        result = subprocess.run(
            [sys.executable, str(tree / 'tools' / 'gen_sync.py'), *command],
            capture_output=True, text=True, check=False,
        )
        assert result.returncode == 2
        assert rule in result.stderr
        assert f'pottery_async/{module} has no {old.split()[1].rstrip("(")}' in result.stderr


def test_unused_override_fails(tree: Path) -> None:
    generator = tree / 'tools' / 'gen_sync.py'
    generator.write_text(generator.read_text().replace(
        "overrides=('get', 'pop',", "overrides=('get', 'keys', 'pop',",
    ))
    result = check(tree)
    assert result.returncode == 2
    assert "Twin(core='RedisDict'" in result.stderr
    assert 'overrides never used: keys' in result.stderr


def test_subclass_twin_and_plain_methods(tree: Path) -> None:
    twin = (tree / 'pottery_async' / 'sync' / 'cache.py').read_text()
    # CachedOrderedDict's twin is the core class (an OrderedDict), its
    # coroutines run on the bridge under their sync names.
    assert 'class CachedOrderedDict(_core.CachedOrderedDict):' in twin
    assert '_bridge.run(super().setitem(dict_key, value))' in twin
    # A method without I/O calls the core directly, without the bridge.
    bloom = (tree / 'pottery_async' / 'sync' / 'bloom.py').read_text()
    assert 'return self._core.size()' in bloom
    core = tree / 'pottery_async' / 'cache.py'
    source = core.read_text()
    assert 'async def setdefault(' in source
    core.write_text(source.replace('async def setdefault(', 'async def set_default('))
    result = check(tree)
    assert result.returncode == 1
    assert '+    def set_default(' in result.stdout


@pytest.mark.parametrize(('name', 'reflected'), [
    ('RedisSet', {'ror': '__ror__', 'rand': '__rand__', 'rsub': '__rsub__', 'rxor': '__rxor__'}),
    ('RedisCounter', {'rplus': '__radd__', 'rsub': '__rsub__', 'ror': '__ror__', 'rand': '__rand__'}),
    ('RedisList', {'rmul': '__rmul__'}),
])
def test_reflected_operators_are_private_in_the_async_api(name: str, reflected: dict[str, str]) -> None:
    # Only the sync twins' reflected dunders need them (`await s.rand(x)` reads as "random").
    core, twin = getattr(pottery_async, name), getattr(pottery_async.sync, name)
    for coroutine, dunder in reflected.items():
        assert not hasattr(core, coroutine)
        assert f'self._core._{coroutine}(' in inspect.getsource(getattr(twin, dunder))
