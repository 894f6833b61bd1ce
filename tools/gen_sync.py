#!/usr/bin/env python3
"""Generate pottery_async/sync/*.py, the sync twins of the async core.

Each twinned class wraps a core object and hands every core coroutine to the
bridge (pottery_async/_bridge.py).  The generated methods carry the core's
signatures and docstrings, so mypy, IDEs, doctest and tracebacks read them
like hand-written code.

    python tools/gen_sync.py          # write the twins
    python tools/gen_sync.py --check  # fail if a twin is stale, has no
                                      # source, or a map entry is unused

The rules, all of them:

- A core module listed in TWINS gets a twin module of the same name; each
  class listed there gets a twin class with the sync bases given, named like
  the core class unless SYNC_NAMES renames it (AIONextID -> NextID).
- Members come from the class and from its core base classes (in
  pottery_async/_base.py and pottery_async/_primitive.py), the class's own
  definitions winning.
- ``async def m(...)`` becomes ``def NAME_MAP.get(m, m)(...)`` running
  ``self._core.m(...)`` on the bridge.  Private coroutines are skipped.
- A ``@paged`` method becomes a sync iterator (or, for the names in VIEWS,
  a dict view) that pulls one page per bridge call; ``__aiter__`` becomes
  ``__iter__`` the same way, unless it returns the object itself (annotated
  with the class name): then ``__iter__`` returns the sync object, whose
  ``__next__`` is the core's ``__anext__``.
- ``__init__`` builds the core object with the same arguments; if the core
  class has ``_initialize`` (what ``await Cls(...)`` runs), its own or its
  twinned base's, the sync constructor runs it too.
- Public properties become properties reading the core's; those with a
  setter in the core can be assigned through the twin too.
- A plain ``def __repr__`` of the class itself (one that needs no I/O) is
  the twin's too, naming the twin's class instead of the core's.
- Any other plain public ``def m(...)`` (no I/O, e.g. BloomFilter.size())
  becomes a method calling the core's directly, without the bridge.
- A module-level function listed in FUNCTIONS (decorators such as
  synchronize()) is translated, not wrapped: ``async def`` becomes ``def``,
  ``async with``/``async for`` become ``with``/``for``, every ``await`` is
  dropped, and names are renamed by SYNC_NAMES and FUNCTION_NAMES (in its
  body and in the twin module's imports).  So such a function may await only
  the functions it decorates and objects of twinned classes, whose sync
  twins the twin module defines under the renamed names.
- A class listed in SUBCLASS_TWINS (a core class that is itself a Python
  container, such as CachedOrderedDict, an OrderedDict) gets a twin that
  subclasses it instead of wrapping it, so the sync object is one too: its
  constructor runs the core's and ``_initialize``; each public coroutine of
  the class becomes ``def NAME_MAP.get(m, m)(...)`` running ``super().m(...)``
  on the bridge; everything else is inherited.
- pottery_async/sync/__init__.py mirrors pottery_async/__init__.py, taking
  twinned names from the twin modules and everything else from the core.  A
  class renamed by SYNC_NAMES is exported under both names: the sync twin
  from the twin module, the async class from the core (as Pottery exports
  NextID beside AIONextID).
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / 'pottery_async'
SYNC = CORE / 'sync'

# The one async -> sync name map.  Every entry must be used.
NAME_MAP: dict[str, str] = {
    'getitem': '__getitem__',
    'setitem': '__setitem__',
    'delitem': '__delitem__',
    'contains': '__contains__',
    'len': '__len__',
    'eq': '__eq__',
    'repr': '__repr__',
    '__aiter__': '__iter__',
    # Operators: operator-module names; i* in place, r* reflected.
    'or_': '__or__',
    'and_': '__and__',
    'sub': '__sub__',
    'xor': '__xor__',
    'ror': '__ror__',
    'rand': '__rand__',
    'rsub': '__rsub__',
    'rxor': '__rxor__',
    'ior': '__ior__',
    'iand': '__iand__',
    'isub': '__isub__',
    'ixor': '__ixor__',
    'le': '__le__',
    'lt': '__lt__',
    'ge': '__ge__',
    'gt': '__gt__',
    'plus': '__add__',
    'rplus': '__radd__',
    'iplus': '__iadd__',
    'pos': '__pos__',
    'neg': '__neg__',
    'mul': '__mul__',
    'rmul': '__rmul__',
    'imul': '__imul__',
    'reversed': '__reversed__',
    '__anext__': '__next__',
    '__aenter__': '__enter__',
    '__aexit__': '__exit__',
}

# Core module -> {class: sync base classes}.
TWINS: dict[str, dict[str, list[str]]] = {
    'dict': {'RedisDict': ['MutableMapping[JSONTypes, JSONTypes]']},
    'queue': {'RedisSimpleQueue': []},
    # A twin class may subclass another twin: it inherits that twin's methods.
    'counter': {'RedisCounter': ['RedisDict']},
    'set': {'RedisSet': ['MutableSet[JSONTypes]']},
    'list': {'RedisList': ['MutableSequence[JSONTypes]']},
    'deque': {'RedisDeque': ['RedisList']},
    'nextid': {'AIONextID': []},
    'redlock': {'AIORedlock': []},
    'bloom': {'BloomFilter': []},
    'hyper': {'HyperLogLog': []},
    'cache': {'_FunctionCache': []},
}

# Core module -> classes whose twin subclasses the core class (see the rules).
SUBCLASS_TWINS: dict[str, list[str]] = {'cache': ['CachedOrderedDict']}

# Twin classes not named like their core class: core name -> sync name.
SYNC_NAMES: dict[str, str] = {'AIONextID': 'NextID', 'AIORedlock': 'Redlock'}

# Core module -> module-level functions translated to sync (see the rules).
FUNCTIONS: dict[str, list[str]] = {'redlock': ['synchronize'], 'cache': ['redis_cache']}

# Names that translated functions and their imports use under another name
# in the sync API (beside SYNC_NAMES).  Every entry must be used.
FUNCTION_NAMES: dict[str, str] = {
    'AF': 'F',
    'require_coroutine_function': 'require_plain_function',
    'CoroutineFunction': 'PlainFunction',
    'AsyncCachedFunction': 'CachedFunction',
}

# Where the sync bases named in TWINS come from.
BASE_IMPORTS: dict[str, str] = {
    'MutableMapping': 'collections.abc',
    'MutableSet': 'collections.abc',
    'MutableSequence': 'collections.abc',
    'RedisDict': 'pottery_async.sync.dict',
    'RedisList': 'pottery_async.sync.list',
}

# Paged methods that return dict views in the sync API.
VIEWS: dict[str, str] = {'keys': 'KeysView', 'values': 'ValuesView', 'items': 'ItemsView'}

# Sync methods whose signature deliberately differs from the ABC's overloads.
OVERRIDE_IGNORES = frozenset({'update', 'get', 'pop', 'setdefault'})
# Classes none of whose methods need those ignores (mypy rejects unused ones).
EXACT_OVERRIDES = frozenset({'RedisSet', 'RedisList'})

HEADER = (
    '# Generated from pottery_async/{source} by tools/gen_sync.py.\n'
    '# Do not edit: change the source and run `python tools/gen_sync.py`.\n'
)


@dataclass
class Usage:
    names: set[str] = field(default_factory=set)


def _module_ast(name: str) -> ast.Module:
    return ast.parse((CORE / f'{name}.py').read_text())


def _classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _docstring(node: ast.AST) -> str | None:
    return ast.get_docstring(node, clean=False)  # type: ignore[arg-type]


def _is_paged(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == 'paged' for d in node.decorator_list)


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == 'property' for d in node.decorator_list)


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _members(cls: ast.ClassDef, bases: dict[str, ast.ClassDef]) -> dict[str, Function]:
    members: dict[str, Function] = {}
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in bases:
            members.update(_members(bases[base.id], bases))
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_setter(node):
            members[node.name] = node
    return members


def _is_setter(node: Function) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr == 'setter' for d in node.decorator_list)


def _setters(cls: ast.ClassDef, bases: dict[str, ast.ClassDef]) -> dict[str, str]:
    'The assignable properties of a class (and its core bases), with the type they take.'
    setters: dict[str, str] = {}
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in bases:
            setters.update(_setters(bases[base.id], bases))
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and _is_setter(node):
            annotation = node.args.args[1].annotation
            setters[node.name] = ast.unparse(annotation) if annotation else 'Any'
    return setters


def _call_args(args: ast.arguments) -> str:
    parts = [a.arg for a in args.posonlyargs[1:] if True] if args.posonlyargs else []
    positional = args.args[1:] if not args.posonlyargs else args.args
    parts += [a.arg for a in positional]
    if args.vararg:
        parts.append(f'*{args.vararg.arg}')
    parts += [f'{a.arg}={a.arg}' for a in args.kwonlyargs]
    if args.kwarg:
        parts.append(f'**{args.kwarg.arg}')
    return ', '.join(parts)


def _doc_lines(doc: str | None, indent: str) -> list[str]:
    if not doc:
        return []
    if '\n' not in doc and "'" not in doc:
        return [f"{indent}'{doc}'"]
    return [f'{indent}"""{doc}"""']


def _default_names(args: ast.arguments) -> set[str]:
    'Names that a signature (defaults and annotations) refers to.'
    return {n.id for n in ast.walk(args) if isinstance(n, ast.Name)}


def _page_item(returns: ast.expr | None) -> str:
    # AsyncIterator[list[T]] -> T
    assert isinstance(returns, ast.Subscript), 'a @paged method must be annotated AsyncIterator[list[T]]'
    inner = returns.slice
    assert isinstance(inner, ast.Subscript)
    return ast.unparse(inner.slice)


def _paged_of(returns: ast.expr | None) -> str:
    # Paged[T] -> T
    assert isinstance(returns, ast.Subscript)
    return ast.unparse(returns.slice)


def _returns_self(node: Function, name: str) -> bool:
    return node.returns is not None and ast.unparse(node.returns) in (name, 'Self')


def _core_bases() -> dict[str, ast.ClassDef]:
    'The core base classes members are inherited from.'
    return {**_classes(_module_ast('_base')), **_classes(_module_ast('_primitive'))}


def _initializes(twin: str, base_classes: dict[str, ast.ClassDef]) -> bool:
    'Whether the core class of a twinned class (a sync base) has _initialize.'
    module = next((m for m, classes in TWINS.items() if twin in classes), None)
    if module is None:
        return False
    return '_initialize' in _members(_classes(_module_ast(module))[twin], base_classes)


def _twin_class(
    module: str, name: str, sync_bases: list[str], cls: ast.ClassDef,
    base_classes: dict[str, ast.ClassDef], used: set[str], from_core: set[str],
) -> list[str]:
    twinned = set(TWINS[module])
    members = _members(cls, base_classes)
    setters = _setters(cls, base_classes)
    twins = {cls for classes in TWINS.values() for cls in classes}
    # A twin base already derives from SyncTwin (listing it again breaks the MRO).
    marker = [] if any(b.split('[')[0] in twins for b in sync_bases) else ['SyncTwin']
    out = [f'class {SYNC_NAMES.get(name, name)}({", ".join([*marker, *sync_bases])}):']
    out += _doc_lines(_docstring(cls), '    ')
    out.append('')
    init = members.get('__init__')
    assert isinstance(init, ast.FunctionDef)
    from_core |= _default_names(init.args)
    out.append(f'    def __init__({ast.unparse(init.args)}) -> None:')
    out += _doc_lines(_docstring(init), '        ')
    out.append(f'        self._core: _core.{name} = _core.{name}({_call_args(init.args)})')
    if '_initialize' in members or any(_initializes(base.split('[')[0], base_classes) for base in sync_bases):
        out.append('        _bridge.run(self._core._initialize())')
    out.append('')
    for member, node in members.items():
        if member == '__init__':
            continue
        if isinstance(node, ast.FunctionDef) and _is_property(node) and not member.startswith('_'):
            returns = ast.unparse(node.returns) if node.returns else 'Any'
            out.append('    @property')
            out.append(f'    def {member}(self) -> {returns}:')
            out += _doc_lines(_docstring(node), '        ')
            out.append(f'        return self._core.{member}')
            out.append('')
            if member in setters:
                out.append(f'    @{member}.setter')
                out.append(f'    def {member}(self, value: {setters[member]}) -> None:')
                out.append(f'        self._core.{member} = value')
                out.append('')
        elif isinstance(node, ast.FunctionDef) and member == '__repr__' and node in cls.body:
            out.append('    def __repr__(self) -> str:')
            out.append('        names = type(self._core).__qualname__, type(self).__qualname__')
            out.append('        return repr(self._core).replace(*names, 1)')
            out.append('')
        elif isinstance(node, ast.FunctionDef) and member == '__aiter__' and _returns_self(node, name):
            used.add(member)
            out.append(f'    def {NAME_MAP[member]}(self) -> {SYNC_NAMES.get(name, name)}:')
            out += _doc_lines(_docstring(node), '        ')
            out.append('        return self')
            out.append('')
        elif isinstance(node, ast.FunctionDef) and member == '__aiter__':
            used.add(member)
            out.append(f'    def {NAME_MAP[member]}(self) -> Iterator[{_paged_of(node.returns)}]:')
            out += _doc_lines(_docstring(node), '        ')
            out.append('        return _bridge.iterate(self._core.__aiter__().pages)')
            out.append('')
        elif _is_paged(node):
            item = _page_item(node.returns)
            sync_name = NAME_MAP.get(member, member)
            if member in NAME_MAP:
                used.add(member)
            from_core |= _default_names(node.args)
            if member in VIEWS:
                view = VIEWS[member]
                element = item[len('tuple['):-1] if view == 'ItemsView' else item
                out.append(f'    def {sync_name}(self) -> _twin.{view}[{element}]:')
                out += _doc_lines(_docstring(node), '        ')
                out.append(f'        return _twin.{view}(self, self._core.{member})')
            else:
                out.append(f'    def {sync_name}({ast.unparse(node.args)}) -> Iterator[{item}]:')
                out += _doc_lines(_docstring(node), '        ')
                call = f'self._core.{member}({_call_args(node.args)})'
                out.append(f'        return _bridge.iterate({call}.pages)')
            out.append('')
        elif isinstance(node, ast.FunctionDef) and not member.startswith('_') and not _is_property(node):
            # No I/O: no bridge hop either.
            from_core |= _default_names(node.args)
            returns = ast.unparse(node.returns) if node.returns else 'None'
            out.append(f'    def {member}({ast.unparse(node.args)}) -> {returns}:')
            out += _doc_lines(_docstring(node), '        ')
            out.append(f'        return self._core.{member}({_call_args(node.args)})')
            out.append('')
        elif isinstance(node, ast.AsyncFunctionDef) and (not member.startswith('_') or member in NAME_MAP):
            sync_name = NAME_MAP.get(member, member)
            if member in NAME_MAP:
                used.add(member)
            from_core |= _default_names(node.args)
            returns = ast.unparse(node.returns) if node.returns else 'None'
            overrides = sync_name in OVERRIDE_IGNORES and sync_bases and name not in EXACT_OVERRIDES
            ignore = '  # type: ignore[override]' if overrides else ''
            out.append(f'    def {sync_name}({ast.unparse(node.args)}) -> {returns}:{ignore}')
            out += _doc_lines(_docstring(node), '        ')
            call = f'self._core.{member}({_call_args(node.args)})'
            if returns == 'None':
                out.append(f'        _bridge.run({call})')
            elif returns in twinned:
                # A container comes back: this one (in-place operators) or a
                # new one, which the sync caller gets as a sync twin.
                out.append(f'        return _twin.wrap(self, {returns}, _bridge.run({call}))')
            elif returns == 'Self':
                # The same, of the caller's own class (a subclass's twin too).
                out.append(f'        return _twin.wrap(self, type(self), _bridge.run({call}))')
            else:
                out.append(f'        return _bridge.run({call})')
            out.append('')
    return out


def _subclass_twin(name: str, cls: ast.ClassDef, used: set[str], from_core: set[str]) -> list[str]:
    'The twin of a class in SUBCLASS_TWINS: the core class, its coroutines run on the bridge.'
    members = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    out = [f'class {name}(_core.{name}):']
    out += _doc_lines(_docstring(cls), '    ')
    out.append('')
    init = members['__init__']
    from_core |= _default_names(init.args)
    out.append(f'    def __init__({ast.unparse(init.args)}) -> None:')
    out += _doc_lines(_docstring(init), '        ')
    out.append(f'        super().__init__({_call_args(init.args)})')
    if '_initialize' in members:
        out.append('        _bridge.run(self._initialize())')
    out.append('')
    for member, node in members.items():
        if not isinstance(node, ast.AsyncFunctionDef) or member.startswith('_'):
            continue
        sync_name = NAME_MAP.get(member, member)
        if member in NAME_MAP:
            used.add(member)
        from_core |= _default_names(node.args)
        returns = ast.unparse(node.returns) if node.returns else 'None'
        # A sync method replacing the core's coroutine of the same name is an
        # incompatible override, unless it returns Any.
        ignore = '  # type: ignore[override]' if sync_name == member and returns != 'Any' else ''
        out.append(f'    def {sync_name}({ast.unparse(node.args)}) -> {returns}:{ignore}')
        out += _doc_lines(_docstring(node), '        ')
        call = f'_bridge.run(super().{member}({_call_args(node.args)}))'
        out.append(f'        {call}' if returns == 'None' else f'        return {call}')
        out.append('')
    return out


class _Unasync(ast.NodeTransformer):
    'The sync translation of a function: see the rules in the module docstring.'

    def __init__(self, names: dict[str, str], used: set[str]) -> None:
        self.names = names
        self.used = used

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


def _translated(tree: ast.Module, name: str, used: set[str], from_core: set[str]) -> list[str]:
    'The sync twin of the module-level function ``name``.'
    (node,) = (n for n in tree.body if isinstance(n, Function) and n.name == name)
    sync = _Unasync({**SYNC_NAMES, **FUNCTION_NAMES}, used).visit(copy.deepcopy(node))
    from_core |= {n.id for n in ast.walk(sync) if isinstance(n, ast.Name)}
    return [*ast.unparse(sync).splitlines(), '']


def _import_name(alias: ast.alias) -> str:
    return ast.unparse(alias) if alias.asname else FUNCTION_NAMES.get(alias.name, alias.name)


def _imports(tree: ast.Module, extra: list[tuple[str, int, str]]) -> list[str]:
    'The core module\'s imports, one level deeper, merged with the twin\'s own.'
    plain: list[str] = []
    merged: dict[tuple[str, int], list[str]] = {}
    names = list(extra)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != '__future__':
            level = node.level + 1 if node.level else 0
            names += [
                (node.module or '', level, _import_name(alias))
                for alias in node.names
            ]
        elif isinstance(node, ast.Import):
            plain.append(ast.unparse(node))
    for module, level, name in names:
        bucket = merged.setdefault((module, level), [])
        if name not in bucket:
            bucket.append(name)
    lines = sorted(plain)
    for (module, level), imported in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0])):
        lines.append(f'from {"." * level}{module} import {", ".join(sorted(imported))}')
    return lines


def generate_module(module: str, used: set[str]) -> str:
    tree = _module_ast(module)
    classes = _classes(tree)
    base_classes = _core_bases()
    body: list[str] = []
    from_core: set[str] = set()
    base_imports = []
    for name, sync_bases in TWINS.get(module, {}).items():
        body += _twin_class(module, name, sync_bases, classes[name], base_classes, used, from_core)
        body.append('')
        for base in sync_bases:
            base_name = base.split('[')[0]
            if base_name in BASE_IMPORTS:
                base_imports.append((BASE_IMPORTS[base_name], 0, base_name))
    for name in SUBCLASS_TWINS.get(module, []):
        body += _subclass_twin(name, classes[name], used, from_core)
        body.append('')
    for name in FUNCTIONS.get(module, []):
        body += _translated(tree, name, used, from_core)
        body.append('')
    doc = _docstring(tree)
    lines = [HEADER.format(source=f'{module}.py').rstrip('\n')]
    if doc:
        lines.append(f'"""{doc}"""')
    lines += [
        '',
        'from __future__ import annotations',
        '',
        *_imports(tree, [
            ('collections.abc', 0, 'Iterator'),
            ('typing', 0, 'Any'),
            *base_imports,
            ('', 2, '_bridge'),
            ('', 2, '_twin'),
            ('', 2, f'{module} as _core'),
            ('_base', 2, 'SyncTwin'),
        ]),
    ]
    module_level = {
        target.id
        for node in tree.body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    } | {
        node.target.id
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    } | {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in FUNCTIONS.get(module, [])
    }
    # Not the classes this module defines twins of (under the same names).
    private = sorted(n for n in from_core if n in module_level and n not in TWINS.get(module, {}))
    if private:
        lines.append(f'from ..{module} import {", ".join(private)}')
    lines += ['', '', *body]
    while lines[-1] == '':
        lines.pop()
    return '\n'.join(lines) + '\n'


def generate_init() -> str:
    tree = ast.parse((CORE / '__init__.py').read_text())
    lines = [HEADER.format(source='__init__.py').rstrip('\n')]
    lines.append('"""pottery_async.sync: the sync API, a drop-in replacement for pottery 3.x."""')
    lines.append('')
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1
            assert node.module
            twinned = node.module in TWINS or node.module in FUNCTIONS
            synced = {*TWINS.get(node.module, {}), *SUBCLASS_TWINS.get(node.module, []),
                      *FUNCTIONS.get(node.module, [])}
            # What a twinned module exports without a twin (CacheInfo), from the core.
            unsynced = [a for a in node.names if twinned and a.name not in synced]
            renamed = [a.name for a in node.names if twinned and a.name in SYNC_NAMES]
            names = [a for a in node.names if a.name not in renamed and a not in unsynced]
            names += [ast.alias(SYNC_NAMES[n]) for n in renamed]
            if names:
                new = ast.ImportFrom(module=node.module, names=names, level=1 if twinned else 2)
                lines.append(ast.unparse(new))
            if renamed:
                # The async class too, from the core, beside its sync twin.
                core = ast.ImportFrom(module=node.module, names=[ast.alias(n) for n in renamed], level=2)
                lines.append(ast.unparse(core))
            if unsynced:
                lines.append(ast.unparse(ast.ImportFrom(module=node.module, names=unsynced, level=2)))
        elif isinstance(node, ast.Assign):
            lines.append('')
            source = ast.get_source_segment((CORE / '__init__.py').read_text(), node) or ''
            exported = ast.literal_eval(node.value)
            added = sorted({SYNC_NAMES[n] for n in exported if n in SYNC_NAMES} - set(exported))
            if added:
                entries = ''.join(f'    {n!r},\n' for n in sorted([*exported, *added]))
                source = f'__all__ = (\n{entries})'
            lines.append(source)
    return '\n'.join(lines) + '\n'


def generate() -> dict[Path, str]:
    used: set[str] = set()
    files = {SYNC / f'{module}.py': generate_module(module, used) for module in {**TWINS, **FUNCTIONS}}
    files[SYNC / '__init__.py'] = generate_init()
    for table, entries in (('NAME_MAP', NAME_MAP), ('FUNCTION_NAMES', FUNCTION_NAMES)):
        unused = set(entries) - used
        if unused:
            raise SystemExit(f'gen_sync: {table} entries never used: {", ".join(sorted(unused))}')
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true', help='fail instead of writing when a twin is stale')
    options = parser.parse_args()
    files = generate()
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
