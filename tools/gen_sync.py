#!/usr/bin/env python3
"""Generate pottery_async/sync/*.py, the sync twins of the async core.

    python tools/gen_sync.py          # write the twins
    python tools/gen_sync.py --check  # fail if a twin is stale or has no source

MODULES says, for each core module, what its twin module holds; NAME_MAP
says which sync names the core's protocol coroutines take.  Every entry of
both must be used: a rule naming what the core no longer has fails the
generator, in both modes (as httpcore's unasync script does).

- ``Twin(cls)``: a sync class that wraps a core object and hands each public
  coroutine to the bridge (pottery_async/_bridge.py), with the core's
  signatures and docstrings.  Members come from the class and from its core
  bases in pottery_async/_base.py and pottery_async/_primitive.py; MEMBERS
  says what each kind of member becomes.  ``__init__`` builds the core object
  with the same arguments, and runs ``_initialize`` (what ``await Cls(...)``
  runs) when the class, or a twinned base, has one.
- ``Subclass(cls)``: for a core class that is itself a Python container
  (CachedOrderedDict, an OrderedDict), a sync class that subclasses it, so the
  sync object is one too; its public coroutines run on the bridge under their
  sync names, everything else is inherited.
- ``Translate(func)``: a module-level function (a decorator such as
  synchronize()) translated, not wrapped: ``async def`` becomes ``def``,
  ``async with``/``async for`` become ``with``/``for``, every ``await`` is
  dropped, and names are renamed as the twins are and as the rule says.  So
  such a function may await only the functions it decorates and objects of
  twinned classes.

A twin module imports exactly the names its code refers to, from where the
core module gets them; ruff then sorts and formats it with the project's
settings (pyproject.toml), so the twins pass ``ruff check`` with no ignores.
pottery_async/sync/__init__.py mirrors pottery_async/__init__.py: what a rule
covers comes from the twin modules, everything else from the core; a renamed
twin is exported under both names (as Pottery exports NextID beside
AIONextID).
"""

from __future__ import annotations

import abc
import argparse
import ast
import builtins
import collections.abc
import copy
import difflib
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / 'pottery_async'
SYNC = CORE / 'sync'


@dataclass(frozen=True)
class Rule(abc.ABC):
    'What the generator does with one name of a core module.'

    core: str

    @property
    def sync_name(self) -> str:
        return self.core

    def found(self, tree: ast.Module) -> bool:
        return self.core in _classes(tree)

    @abc.abstractmethod
    def emit(self, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
        'The twin module\'s code for this rule.'


@dataclass(frozen=True)
class Twin(Rule):
    'A core class, wrapped by a sync class of the given name and sync bases.'

    name: str = ''
    bases: tuple[str, ...] = ()
    # Sync methods whose signature deliberately differs from the base's.
    overrides: tuple[str, ...] = ()

    @property
    def sync_name(self) -> str:
        return self.name or self.core

    def emit(self, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
        return emit_twin(self, tree, module, run)


@dataclass(frozen=True)
class Subclass(Rule):
    'A core class that is a Python container, subclassed by its sync twin.'

    overrides: tuple[str, ...] = ()

    def emit(self, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
        return emit_subclass(self, tree, module, run)


@dataclass(frozen=True)
class Translate(Rule):
    'A module-level function, translated to sync; names maps what it renames.'

    names: dict[str, str] = field(default_factory=dict)

    def found(self, tree: ast.Module) -> bool:
        return any(isinstance(node, Function) and node.name == self.core for node in tree.body)

    def emit(self, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
        return emit_translate(self, tree, module, run)



MODULES: dict[str, list[Rule]] = {
    'dict': [
        Twin(
            'RedisDict', bases=('MutableMapping[JSONTypes, JSONTypes]',),
            overrides=('get', 'pop', 'setdefault', 'update'),
        ),
    ],
    'queue': [Twin('RedisSimpleQueue')],
    # A twin class may subclass another twin: it inherits that twin's methods.
    'counter': [Twin('RedisCounter', bases=('RedisDict',), overrides=('update',))],
    'set': [Twin('RedisSet', bases=('MutableSet[JSONTypes]',))],
    'list': [Twin('RedisList', bases=('MutableSequence[JSONTypes]',))],
    'deque': [Twin('RedisDeque', bases=('RedisList',))],
    'nextid': [Twin('AIONextID', name='NextID')],
    'redlock': [
        Twin('AIORedlock', name='Redlock'),
        Translate('synchronize', {'AF': 'F', 'require_coroutine_function': 'require_plain_function'}),
    ],
    'bloom': [Twin('BloomFilter')],
    'hyper': [Twin('HyperLogLog')],
    'cache': [
        Twin('_FunctionCache'),
        Subclass('CachedOrderedDict', overrides=('update',)),
        Translate('redis_cache', {
            'require_coroutine_function': 'require_plain_function',
            'CoroutineFunction': 'PlainFunction',
            'AsyncCachedFunction': 'CachedFunction',
        }),
    ],
}

# The one async -> sync name map.
NAME_MAP: dict[str, str] = {
    'getitem': '__getitem__',
    'setitem': '__setitem__',
    'delitem': '__delitem__',
    'contains': '__contains__',
    'len': '__len__',
    'eq': '__eq__',
    'repr': '__repr__',
    '__aiter__': '__iter__',
    # Operators: operator-module names; i* in place, _r* reflected (private:
    # only the twins' __r*__ need them, and ``await s.rand(x)`` reads as "random").
    'or_': '__or__',
    'and_': '__and__',
    'sub': '__sub__',
    'xor': '__xor__',
    '_ror': '__ror__',
    '_rand': '__rand__',
    '_rsub': '__rsub__',
    '_rxor': '__rxor__',
    'ior': '__ior__',
    'iand': '__iand__',
    'isub': '__isub__',
    'ixor': '__ixor__',
    'le': '__le__',
    'lt': '__lt__',
    'ge': '__ge__',
    'gt': '__gt__',
    'plus': '__add__',
    '_rplus': '__radd__',
    'iplus': '__iadd__',
    'pos': '__pos__',
    'neg': '__neg__',
    'mul': '__mul__',
    '_rmul': '__rmul__',
    'imul': '__imul__',
    'reversed': '__reversed__',
    '__anext__': '__next__',
    '__aenter__': '__enter__',
    '__aexit__': '__exit__',
}

# Paged methods that return dict views in the sync API.
VIEWS: dict[str, str] = {'keys': 'KeysView', 'values': 'ValuesView', 'items': 'ItemsView'}

HEADER = (
    '# Generated from pottery_async/{source} by tools/gen_sync.py.\n'
    '# Do not edit: change the source and run `python tools/gen_sync.py`.\n'
)

Function = ast.FunctionDef | ast.AsyncFunctionDef


class RuleError(Exception):
    'A rule of MODULES or NAME_MAP that the core does not match.'


def _module_ast(name: str) -> ast.Module:
    return ast.parse((CORE / f'{name}.py').read_text())


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _docstring(node: ast.AST) -> str | None:
    return ast.get_docstring(node, clean=False)  # type: ignore[arg-type]


def _decorated(node: Function, name: str) -> bool:
    return any(isinstance(d, ast.Name) and d.id == name for d in node.decorator_list)


def _is_setter(node: Function) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr == 'setter' for d in node.decorator_list)


def _functions(cls: ast.ClassDef, bases: dict[str, ast.ClassDef]) -> list[Function]:
    'The functions defined in a class and its core bases, the bases\' first (later ones win).'
    found: list[Function] = []
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in bases:
            found += _functions(bases[base.id], bases)
    return found + [node for node in cls.body if isinstance(node, Function)]


def _members(cls: ast.ClassDef, bases: dict[str, ast.ClassDef]) -> dict[str, Function]:
    'The methods of a class and of its core bases, its own definitions winning.'
    return {node.name: node for node in _functions(cls, bases) if not _is_setter(node)}


def _setters(cls: ast.ClassDef, bases: dict[str, ast.ClassDef]) -> dict[str, str]:
    'The assignable properties of a class (and its core bases), with the type they take.'
    return {
        node.name: ast.unparse(node.args.args[1].annotation) if node.args.args[1].annotation else 'Any'
        for node in _functions(cls, bases) if _is_setter(node)
    }


def _call_args(args: ast.arguments) -> str:
    'The arguments that pass on the parameters of a method (self left out).'
    positional = [*args.posonlyargs, *args.args][1:]
    parts = [a.arg for a in positional]
    if args.vararg:
        parts.append(f'*{args.vararg.arg}')
    parts += [f'{a.arg}={a.arg}' for a in args.kwonlyargs]
    if args.kwarg:
        parts.append(f'**{args.kwarg.arg}')
    return ', '.join(parts)


def _doc_lines(doc: str | None, indent: str) -> list[str]:
    if not doc:
        return []
    # One line as the core wrote it, which ruff keeps within its line length.
    if '\n' not in doc and "'" not in doc:
        return [f"{indent}'{doc}'"]
    return [f'{indent}"""{doc}"""']


def _returns(node: Function, default: str) -> str:
    return ast.unparse(node.returns) if node.returns else default


def _def(name: str, node: Function, returns: str, ignore: bool = False) -> list[str]:
    'A sync method with the signature and docstring of a core one.'
    comment = '  # type: ignore[override]' if ignore else ''
    return [
        f'    def {name}({ast.unparse(node.args)}) -> {returns}:{comment}',
        *_doc_lines(_docstring(node), '        '),
    ]


def _core_bases() -> dict[str, ast.ClassDef]:
    'The core base classes members are inherited from.'
    return {**_classes(_module_ast('_base')), **_classes(_module_ast('_primitive'))}


def _twins() -> dict[str, tuple[str, Twin]]:
    'Every Twin rule by its sync name, with its module.'
    return {
        rule.sync_name: (module, rule)
        for module, rules in MODULES.items() for rule in rules if isinstance(rule, Twin)
    }


@dataclass
class Run:
    'What one run of the generator has seen: the core bases, and the map entries used.'

    bases: dict[str, ast.ClassDef] = field(default_factory=_core_bases)
    used: set[str] = field(default_factory=set)

    def sync_name(self, member: str) -> str:
        if member in NAME_MAP:
            self.used.add(member)
        return NAME_MAP.get(member, member)


@dataclass
class Member:
    'One member of a twinned core class, with what its emitter needs.'

    name: str
    node: Function
    cls: ast.ClassDef
    twin: Twin
    module: list[Rule]
    setters: dict[str, str]
    run: Run
    # The sync names given a ``# type: ignore[override]``.
    overridden: set[str]


# --- Twin: one emitter per kind of member --------------------------------------------------------

def _is_property(m: Member) -> bool:
    public = not m.name.startswith('_')
    return public and isinstance(m.node, ast.FunctionDef) and _decorated(m.node, 'property')


def _property(m: Member) -> list[str]:
    out = ['    @property', *_def(m.name, m.node, _returns(m.node, 'Any'))]
    out += [f'        return self._core.{m.name}', '']
    if m.name in m.setters:
        out += [
            f'    @{m.name}.setter',
            f'    def {m.name}(self, value: {m.setters[m.name]}) -> None:',
            f'        self._core.{m.name} = value',
            '',
        ]
    return out


def _is_own_repr(m: Member) -> bool:
    'A plain __repr__ of the class itself, which needs no I/O.'
    return isinstance(m.node, ast.FunctionDef) and m.name == '__repr__' and m.node in m.cls.body


def _own_repr(m: Member) -> list[str]:
    # The core's repr, naming the twin's class instead of the core's.
    return [
        '    def __repr__(self) -> str:',
        '        names = type(self._core).__qualname__, type(self).__qualname__',
        '        return repr(self._core).replace(*names, 1)',
        '',
    ]


def _is_self_iterator(m: Member) -> bool:
    'An __aiter__ that returns the object itself, whose __anext__ the twin maps to __next__.'
    returns = m.node.returns
    return (isinstance(m.node, ast.FunctionDef) and m.name == '__aiter__' and returns is not None
            and ast.unparse(returns) in (m.twin.core, 'Self'))


def _self_iterator(m: Member) -> list[str]:
    return [*_def(m.run.sync_name(m.name), m.node, m.twin.sync_name), '        return self', '']


def _is_paged_iterator(m: Member) -> bool:
    return isinstance(m.node, ast.FunctionDef) and m.name == '__aiter__'


def _paged_iterator(m: Member) -> list[str]:
    # Paged[T] -> T: one page per bridge call.
    assert isinstance(m.node.returns, ast.Subscript), '__aiter__ must be annotated Paged[T]'
    item = ast.unparse(m.node.returns.slice)
    return [
        *_def(m.run.sync_name(m.name), m.node, f'Iterator[{item}]'),
        '        return _bridge.iterate(self._core.__aiter__().pages)',
        '',
    ]


def _is_paged(m: Member) -> bool:
    return _decorated(m.node, 'paged')


def _paged(m: Member) -> list[str]:
    # AsyncIterator[list[T]] -> T: an iterator (or a dict view) pulling one page per bridge call.
    returns = m.node.returns
    assert isinstance(returns, ast.Subscript), 'a @paged method must be annotated AsyncIterator[list[T]]'
    assert isinstance(returns.slice, ast.Subscript)
    item = ast.unparse(returns.slice.slice)
    sync_name = m.run.sync_name(m.name)
    if m.name in VIEWS:
        view = VIEWS[m.name]
        element = item[len('tuple['):-1] if view == 'ItemsView' else item
        return [
            f'    def {sync_name}(self) -> _twin.{view}[{element}]:',
            *_doc_lines(_docstring(m.node), '        '),
            f'        return _twin.{view}(self, self._core.{m.name})',
            '',
        ]
    call = f'self._core.{m.name}({_call_args(m.node.args)}).pages'
    return [*_def(sync_name, m.node, f'Iterator[{item}]'), f'        return _bridge.iterate({call})', '']


def _is_plain(m: Member) -> bool:
    return isinstance(m.node, ast.FunctionDef) and not m.name.startswith('_')


def _plain(m: Member) -> list[str]:
    # No I/O (BloomFilter.size()): no bridge hop either.
    call = f'self._core.{m.name}({_call_args(m.node.args)})'
    return [*_def(m.name, m.node, _returns(m.node, 'None')), f'        return {call}', '']


def _is_coroutine(m: Member) -> bool:
    return isinstance(m.node, ast.AsyncFunctionDef) and (not m.name.startswith('_') or m.name in NAME_MAP)


def _coroutine(m: Member) -> list[str]:
    sync_name = m.run.sync_name(m.name)
    returns = _returns(m.node, 'None')
    twins = {rule.core: rule.sync_name for rule in m.module if isinstance(rule, Twin)}
    call = f'_bridge.run(self._core.{m.name}({_call_args(m.node.args)}))'
    if returns == 'None':
        body = call
    elif returns in twins:
        # A container comes back: this one (in-place operators) or a new
        # one, which the sync caller gets as a sync twin.
        body = f'return _twin.wrap(self, {twins[returns]}, {call})'
    elif returns == 'Self':
        # The same, of the caller's own class (a subclass's twin too).
        body = f'return _twin.wrap(self, type(self), {call})'
    else:
        body = f'return {call}'
    if sync_name in m.twin.overrides:
        m.overridden.add(sync_name)
    return [*_def(sync_name, m.node, returns, sync_name in m.twin.overrides), f'        {body}', '']


# What each member of a twinned class becomes: the first emitter whose test
# the member passes; a member that passes none (a private helper) is left out.
MEMBERS: list[tuple[Callable[[Member], bool], Callable[[Member], list[str]]]] = [
    (_is_property, _property),
    (_is_own_repr, _own_repr),
    (_is_self_iterator, _self_iterator),
    (_is_paged_iterator, _paged_iterator),
    (_is_paged, _paged),
    (_is_plain, _plain),
    (_is_coroutine, _coroutine),
]


def _initializes(sync_base: str, run: Run) -> bool:
    'Whether the core class of a twinned sync base has _initialize.'
    if sync_base not in _twins():
        return False
    module, rule = _twins()[sync_base]
    return '_initialize' in _members(_classes(_module_ast(module))[rule.core], run.bases)


def emit_twin(rule: Twin, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
    cls = _classes(tree)[rule.core]
    members = _members(cls, run.bases)
    bases = [base.split('[')[0] for base in rule.bases]
    # A twin base already derives from SyncTwin (listing it again breaks the MRO).
    marker = [] if any(base in _twins() for base in bases) else ['SyncTwin']
    out = [f'class {rule.sync_name}({", ".join([*marker, *rule.bases])}):']
    out += [*_doc_lines(_docstring(cls), '    '), '']
    init = members.pop('__init__')
    out += _def('__init__', init, 'None')
    out.append(f'        self._core: _core.{rule.core} = _core.{rule.core}({_call_args(init.args)})')
    if '_initialize' in members or any(_initializes(base, run) for base in bases):
        out.append('        _bridge.run(self._core._initialize())')
    out.append('')
    setters = _setters(cls, run.bases)
    overridden: set[str] = set()
    for name, node in members.items():
        member = Member(name, node, cls, rule, module, setters, run, overridden)
        out += next((emit(member) for test, emit in MEMBERS if test(member)), [])
    _require_used(repr(rule), 'overrides', set(rule.overrides) - overridden)
    return out


def emit_subclass(rule: Subclass, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
    cls = _classes(tree)[rule.core]
    members = {node.name: node for node in cls.body if isinstance(node, Function)}
    out = [f'class {rule.core}(_core.{rule.core}):', *_doc_lines(_docstring(cls), '    '), '']
    init = members.pop('__init__')
    out += _def('__init__', init, 'None')
    out.append(f'        super().__init__({_call_args(init.args)})')
    if '_initialize' in members:
        out.append('        _bridge.run(self._initialize())')
    out.append('')
    coroutines = {name: node for name, node in members.items() if isinstance(node, ast.AsyncFunctionDef)}
    for name, node in coroutines.items():
        if name.startswith('_'):
            continue
        sync_name = run.sync_name(name)
        returns = _returns(node, 'None')
        call = f'_bridge.run(super().{name}({_call_args(node.args)}))'
        out += _def(sync_name, node, returns, sync_name in rule.overrides)
        out += [f'        {call}' if returns == 'None' else f'        return {call}', '']
    _require_used(repr(rule), 'overrides', set(rule.overrides) - {NAME_MAP.get(n, n) for n in coroutines})
    return out


class _Unasync(ast.NodeTransformer):
    'The sync translation of a function: see Translate in the module docstring.'

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.used: set[str] = set()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        return ast.copy_location(ast.FunctionDef(**{f: getattr(node, f) for f in node._fields}), node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.With:
        self.generic_visit(node)
        return ast.copy_location(ast.With(**{f: getattr(node, f) for f in node._fields}), node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.For:
        self.generic_visit(node)
        return ast.copy_location(ast.For(**{f: getattr(node, f) for f in node._fields}), node)

    def visit_Await(self, node: ast.Await) -> ast.expr:
        self.generic_visit(node)
        return node.value

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.names:
            self.used.add(node.id)
            node.id = self.names[node.id]
        return node


def emit_translate(rule: Translate, tree: ast.Module, module: list[Rule], run: Run) -> list[str]:
    (node,) = (n for n in tree.body if isinstance(n, Function) and n.name == rule.core)
    # Twinned classes it uses are the twins, under their sync names.
    renames = {twin.core: name for name, (_, twin) in _twins().items()}
    unasync = _Unasync({**renames, **rule.names})
    sync = unasync.visit(copy.deepcopy(node))
    _require_used(repr(rule), 'names', set(rule.names) - unasync.used)
    return [*ast.unparse(sync).splitlines(), '']


def _require_used(where: str, what: str, unused: AbstractSet[str]) -> None:
    if unused:
        raise RuleError(f'{where}: {what} never used: {", ".join(sorted(unused))}')


# --- Imports: exactly what a twin module's code refers to ---------------------------------------

class _FreeNames(ast.NodeVisitor):
    'The names code refers to without binding them itself: what its module must provide.'

    def __init__(self) -> None:
        self.free: set[str] = set()
        self.local: list[set[str]] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and not any(node.id in scope for scope in self.local):
            self.free.add(node.id)

    def visit_FunctionDef(self, node: Function) -> None:
        # Decorators, defaults and annotations are evaluated where the function is defined.
        for decorator in node.decorator_list:
            self.visit(decorator)
        if node.returns:
            self.visit(node.returns)
        self._scope(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for outside in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(outside)
        # What the body binds (``@key.setter`` refers to the property above it).
        self.local.append({n.name for n in node.body if isinstance(n, Function | ast.ClassDef)})
        for statement in node.body:
            self.visit(statement)
        self.local.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scope(node.args, [node.body])

    def _scope(self, args: ast.arguments, body: list[ast.stmt] | list[ast.expr]) -> None:
        self.visit(args)
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        bound = {a.arg for a in every if a}
        for part in body:
            for node in ast.walk(part):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    bound.add(node.id)
                elif isinstance(node, Function | ast.ClassDef):
                    bound.add(node.name)
        self.local.append(bound)
        for part in body:
            self.visit(part)
        self.local.pop()


def _free_names(code: str) -> set[str]:
    visitor = _FreeNames()
    visitor.visit(ast.parse(code))
    return visitor.free


def _sources(name: str, tree: ast.Module, module: list[Rule]) -> dict[str, list[str]]:
    'Where a twin module can import each name from: the core module\'s sources, renamed as its rules say.'
    renames = {old: new for rule in module if isinstance(rule, Translate) for old, new in rule.names.items()}
    sources: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != '__future__':
            origin = '.' * (node.level + 1 if node.level else 0) + (node.module or '')
            for alias in node.names:
                if alias.asname:
                    sources[alias.asname] = [f'from {origin} import {alias.name} as {alias.asname}']
                else:
                    imported = renames.get(alias.name, alias.name)
                    sources[imported] = [f'from {origin} import {imported}']
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split('.')[0]
                sources.setdefault(bound, []).append(f'import {ast.unparse(alias)}')
        elif isinstance(node, ast.ClassDef | Function):
            sources[node.name] = [f'from ..{name} import {node.name}']
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    sources[target.id] = [f'from ..{name} import {target.id}']
    # The twins' own needs, and their sync bases.
    sources.update({
        'Any': ['from typing import Any'],
        'Iterator': ['from collections.abc import Iterator'],
        'SyncTwin': ['from .._base import SyncTwin'],
        '_bridge': ['from .. import _bridge'],
        '_twin': ['from .. import _twin'],
        '_core': [f'from .. import {name} as _core'],
    })
    for sync_name, (other, _) in _twins().items():
        sources[sync_name] = [f'from .{other} import {sync_name}']
    for rule in module:
        for base in rule.bases if isinstance(rule, Twin) else ():
            abc_name = base.split('[')[0]
            if hasattr(collections.abc, abc_name):
                sources[abc_name] = [f'from collections.abc import {abc_name}']
    return sources


def _imports(code: str, name: str, tree: ast.Module, module: list[Rule]) -> list[str]:
    sources = _sources(name, tree, module)
    # What the module does not define itself, and the core does not take from builtins either.
    needed = _free_names(code) - {rule.sync_name for rule in module}
    missing = {n for n in needed - set(sources) if not hasattr(builtins, n)}
    assert not missing, f'{name}: no import for {", ".join(sorted(missing))}'
    return sorted({line for n in needed & set(sources) for line in sources[n]})


def _formatted(path: Path, text: str) -> str:
    'The text with its imports sorted and formatted as ruff does it, with the project\'s settings.'
    sort_imports = ['check', '--select', 'I', '--fix-only', '--exit-zero', '--quiet']
    for command in (sort_imports, ['format', '--quiet']):
        text = subprocess.run(
            [sys.executable, '-m', 'ruff', *command, '--config', str(ROOT / 'pyproject.toml'),
             '--stdin-filename', str(path), '-'],
            input=text, capture_output=True, text=True, check=True,
        ).stdout
    return text


def generate_module(name: str, run: Run) -> str:
    tree = _module_ast(name)
    module = MODULES[name]
    body: list[str] = []
    for rule in module:
        if not rule.found(tree):
            raise RuleError(f'{rule!r}: pottery_async/{name}.py has no {rule.core}')
        body += [*rule.emit(tree, module, run), '']
    code = '\n'.join(body)
    doc = _docstring(tree)
    lines = [
        HEADER.format(source=f'{name}.py').rstrip('\n'),
        *([f'"""{doc}"""'] if doc else []),
        '',
        'from __future__ import annotations',
        '',
        *_imports(code, name, tree, module),
        '',
        '',
        code,
    ]
    return '\n'.join(lines)


# What the core exports for async clients alone: not in the sync API.
ASYNC_ONLY = frozenset({'multiplexing'})


def generate_init() -> str:
    source = (CORE / '__init__.py').read_text()
    lines = [HEADER.format(source='__init__.py').rstrip('\n')]
    lines.append('"""pottery_async.sync: the sync API, a drop-in replacement for pottery 3.x."""')
    lines.append('')
    renamed = {rule.core: sync_name for sync_name, (_, rule) in _twins().items() if rule.name}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1
            assert node.module
            synced = {rule.core for rule in MODULES.get(node.module, [])}
            twinned = [renamed.get(a.name, a.name) for a in node.names if a.name in synced]
            # A renamed twin's async class, and what a twinned module exports
            # without a twin (CacheInfo), come from the core.
            core = [
                a.name for a in node.names
                if (a.name not in synced or a.name in renamed) and a.name not in ASYNC_ONLY
            ]
            if twinned:
                lines.append(f'from .{node.module} import {", ".join(twinned)}')
            if core:
                lines.append(f'from ..{node.module} import {", ".join(core)}')
        elif isinstance(node, ast.Assign):
            exported = set(ast.literal_eval(node.value))
            _require_used('ASYNC_ONLY', 'names', ASYNC_ONLY - exported)
            exported -= ASYNC_ONLY
            entries = ''.join(f'    {n!r},\n' for n in sorted({*exported, *renamed.values()}))
            lines += ['', f'__all__ = (\n{entries})']
    return '\n'.join(lines) + '\n'


def generate() -> dict[Path, str]:
    'Every twin module, by path; RuleError if a rule or a NAME_MAP entry goes unused.'
    run = Run()
    files = {SYNC / f'{name}.py': generate_module(name, run) for name in MODULES}
    files[SYNC / '__init__.py'] = generate_init()
    _require_used('NAME_MAP', 'entries', set(NAME_MAP) - run.used)
    return {path: _formatted(path, text) for path, text in files.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true', help='fail instead of writing when a twin is stale')
    options = parser.parse_args()
    try:
        files = generate()
    except RuleError as error:
        print(f'gen_sync: {error}', file=sys.stderr)
        return 2
    stale = []
    for path, text in files.items():
        current = path.read_text() if path.exists() else ''
        if current != text:
            stale.append(path)
            if options.check:
                sys.stdout.writelines(difflib.unified_diff(
                    current.splitlines(keepends=True), text.splitlines(keepends=True),
                    str(path.relative_to(ROOT)), f'{path.relative_to(ROOT)} (generated)',
                ))
            else:
                path.write_text(text)
    orphans = sorted(p for p in SYNC.glob('*.py') if p not in files)
    if options.check:
        for path in orphans:
            print(f'gen_sync: {path.relative_to(ROOT)} has no source in pottery_async/')
        for path in stale:
            print(f'gen_sync: {path.relative_to(ROOT)} is stale; run python tools/gen_sync.py')
        return 1 if stale or orphans else 0
    for path in orphans:
        path.unlink()
    return 0


if __name__ == '__main__':
    sys.exit(main())
