"""Runs one notebook in a sandboxed grading child, so that its tests cannot be fooled.

The fork server imports this module, IPython and the preloaded libraries once; every
notebook then runs in a fresh forked child (:func:`run`). The child's main thread is the
*supervisor*: it never runs a line of the pupil's code and never touches an object the
pupil made. Every cell runs in a thread of its own, and what the supervisor reports for a
cell is only what that thread handed back as plain strings.

Cells are of three kinds (decided by the grader from the source notebook, not from the
submission): ``pupil`` (answers and cells the pupil added) runs through IPython like in a
kernel; ``trusted`` (read-only cells) and ``test`` (autograder tests) run through our own
compiler path. Before each test cell the supervisor:

* restores every function, class and module the libraries held when the fork server started
  (``math.isclose``, ``numpy.testing``, ``cartable.grading.check``, builtins …), the
  ``sys.modules`` entries and ``sys.path``;
* rebinds the names imported by trusted cells (``check``, ``np`` …) to the genuine modules;

and compiles the test cell so that it cannot be fooled by the pupil's objects: builtins are
looked up in a trusted table whatever the pupil rebound, every comparison (``==``, ``<``,
``in`` …) and every truth test (``assert``, ``if``, ``not``) only accepts plain data (numbers,
strings, containers of them, numpy arrays of numbers, types), so an object that "equals
everything" fails the test. A test cell runs in a namespace of the tests' own (the pupil's
names, under what earlier test cells bound): what a hidden test defines (an expected value, a
helper) never reaches the pupil's namespace, so no later pupil cell can print it.

An audit hook (it cannot be removed) refuses, in any thread running pupil code, the ways into
the supervisor's memory: ``gc`` object walks, ``sys._current_frames``, tracing and profiling,
``ctypes``, new audit hooks, patching the attributes of a trusted class or function; during a
test cell it also refuses taking a frame (``sys._getframe``, a traceback's frame). Each refusal
is recorded as tampering and shown to the teacher. Whether a test passed is decided by how its
thread ended, not by what was printed: silencing tracebacks or stderr changes nothing.
"""

from __future__ import annotations

import ast
import builtins
import gc
import json
import operator
import os
import sys
import threading
import types
from fractions import Fraction

MESSAGE_LIMIT = 8 * 1024 * 1024

TRUSTED_IMPORTS = ("math", "cmath", "statistics", "random", "fractions", "decimal", "numbers", "hashlib",
                   "operator", "functools", "itertools", "collections", "re", "json", "string",
                   "numpy", "numpy.testing", "numpy.linalg", "cartable.grading.check")

_BLOCK_ALWAYS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                 "sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._setprofileallthreads",
                 "sys._settraceallthreads", "os.fork", "os.forkpty", "os.exec", "os.spawn", "os.posix_spawn",
                 "os.system", "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
                 "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"}
_FRAME_ATTRS = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "f_globals", "f_locals",
                "gi_code", "__globals__", "__code__", "__closure__"}
_PROTECTED_MODULE_PREFIXES = ("cartable.", "IPython.", "builtins", "math", "numpy", "threading", "json",
                              "traitlets", "types", "functools", "nbformat")


class Tampering(RuntimeError):
    """Raised in pupil code that reached for the grader's internals."""


# ----------------------------------------------------------------------------- trusted state


class TrustedState:
    """What the libraries held at fork-server start, restored before every test cell."""

    def __init__(self) -> None:
        self.modules = dict(sys.modules)
        self.dicts = {name: dict(vars(m)) for name, m in self.modules.items()
                      if isinstance(m, types.ModuleType)}
        self.path = list(sys.path)
        self.builtins = dict(vars(builtins))
        self.protected = {name for name in self.modules if name.startswith(_PROTECTED_MODULE_PREFIXES)}
        self.sys_modules = sys.modules
        self._names = list(self.dicts)
        # Only dicts whose version tag moved are compared value by value: comparing all of them
        # (~600 modules, ~26,000 values) before every test cell was a quarter of the grading time,
        # most of it copy-on-write faults from touching every value's reference count.
        self._views = _version_views([vars(self.modules[n]) for n in self._names] + [sys.modules])
        self._versions = _read_versions(self._views)

    def restore(self) -> list[str]:
        """Put every library function, class and module back; return what had been changed."""
        changed = []
        mods = sys.modules
        views, versions = self._views, self._versions
        now = _read_versions(views)
        if now is None or mods is not self.sys_modules or now[-1] != versions[-1]:
            for name, mod in self.modules.items():
                if mods.get(name) is not mod:
                    mods[name] = mod
                    changed.append(f"sys.modules[{name!r}]")
        for i, name in enumerate(self._names):
            if now is not None and now[i] == versions[i]:
                continue
            snap = self.dicts[name]
            d = vars(self.modules[name])
            if not (len(d) == len(snap) and all(map(operator.is_, d.values(), snap.values()))):
                for key, value in snap.items():
                    if d.get(key, _MISSING) is not value and _is_code_like(value):
                        d[key] = value
                        changed.append(f"{name}.{key}")
        sys.path[:] = self.path
        if views is not None:
            # what was just checked (and put back) is the new reference
            self._versions = _read_versions(views)
        return changed

    def is_protected(self, obj) -> bool:
        mod = getattr(type(obj), "__module__", None) if not isinstance(obj, (type, types.FunctionType)) else \
            getattr(obj, "__module__", None)
        return isinstance(mod, str) and (mod in self.protected or mod.startswith(_PROTECTED_MODULE_PREFIXES))


_MISSING = object()


def _version_views(dicts: list[dict]):
    """Views on each dict's version tag (PEP 509), or None where this interpreter has none.

    CPython 3.8–3.13 bumps a dict's ``ma_version_tag`` from a global counter on every change,
    so an unchanged tag means an unchanged dict; the tag cannot be set back from Python. The
    views are made here, in the fork server before any pupil code and before the audit hook
    (reading them later is a memory read, not a ``ctypes`` call). The layout is checked on a
    probe dict first.
    """
    if sys.implementation.name != "cpython" or not (3, 8) <= sys.version_info[:2] <= (3, 13):
        return None
    import ctypes

    word = ctypes.sizeof(ctypes.c_ssize_t)
    offset = 3 * word  # ob_refcnt, ob_type, ma_used, then ma_version_tag

    probe: dict = {}
    tag = ctypes.c_uint64.from_address(id(probe) + offset)
    seen = [tag.value]
    probe["x"] = 1
    seen.append(tag.value)
    probe["x"] = 2
    seen.append(tag.value)
    del probe["x"]
    seen.append(tag.value)
    if ctypes.c_ssize_t.from_address(id(probe) + 2 * word).value != 0 or len(set(seen)) != 4:
        return None
    return [ctypes.c_uint64.from_address(id(d) + offset) for d in dicts]


def _read_versions(views) -> list[int] | None:
    return None if views is None else [v.value for v in views]


def _is_code_like(value) -> bool:
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType,
                              types.MethodType, types.BuiltinMethodType, staticmethod, classmethod)) \
        or callable(value)


# ----------------------------------------------------------------------------- strict comparisons

_PLAIN_SCALARS = (int, float, complex, bool, str, bytes, type(None), Fraction, type(Ellipsis))


def _plain(value, depth: int = 0) -> bool:
    t = type(value)
    if t in _PLAIN_SCALARS or t is type:
        return True
    if depth > 20:
        return False
    if t in (tuple, list, set, frozenset):
        return len(value) <= 100000 and all(_plain(v, depth + 1) for v in value)
    if t is dict:
        return len(value) <= 100000 and all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    mod = sys.modules.get("numpy")
    if mod is not None:
        if t is mod.ndarray:
            return value.dtype.kind in "biufcUSM m" and value.dtype.kind != "O"
        if isinstance(value, mod.generic) and t.__module__ == "numpy":
            return value.dtype.kind != "O"
        if t is mod.dtype:
            return True
    import decimal
    if t is decimal.Decimal:
        return True
    return False


_OPS = {"Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
        "GtE": operator.ge, "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b,
        "Is": operator.is_, "IsNot": operator.is_not}


class StrictCheckError(AssertionError):
    pass


def _strict_compare(left, ops: tuple, rights: tuple):
    result = True
    for op, right in zip(ops, rights):
        if op not in ("Is", "IsNot") and not (_plain(left) and _plain(right)):
            bad = left if not _plain(left) else right
            raise StrictCheckError(f"comparaison refusée : valeur de type {type(bad).__name__} / "
                                   f"comparison refused: value of type {type(bad).__name__}")
        result = _OPS[op](left, right)
        if not _truth(result):
            return False
        left = right
    return result


def _truth(value) -> bool:
    if type(value) is bool:
        return value
    if not _plain(value):
        raise StrictCheckError(f"valeur de vérité refusée : {type(value).__name__} / "
                               f"truth value refused: {type(value).__name__}")
    return bool(value)


class _StrictTests(ast.NodeTransformer):
    """Rewrite a test cell: strict comparisons and truth tests, builtins from the trusted table."""

    def __init__(self, bound: set[str]):
        self.bound = bound

    def visit_Compare(self, node):
        self.generic_visit(node)
        return ast.copy_location(ast.Call(
            func=_trusted_attr("compare"),
            args=[node.left, ast.Tuple([ast.Constant(type(o).__name__) for o in node.ops], ast.Load()),
                  ast.Tuple(node.comparators, ast.Load())], keywords=[]), node)

    def _truth(self, node):
        return ast.copy_location(ast.Call(func=_trusted_attr("truth"), args=[node], keywords=[]), node)

    def visit_Assert(self, node):
        self.generic_visit(node)
        node.test = self._truth(node.test)
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._truth(node.test)
        return node

    visit_While = visit_If
    visit_IfExp = visit_If

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self._truth(node.operand)
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        node.values = [self._truth(v) for v in node.values]
        return node

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in TRUSTED_BUILTIN_NAMES and node.id not in self.bound:
            return ast.copy_location(ast.Subscript(value=_trusted_attr("builtins"), slice=ast.Constant(node.id),
                                                   ctx=ast.Load()), node)
        return node


TRUSTED_PARAM = "_cartable_trusted_"
TRUSTED_BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))


def _trusted_attr(name: str):
    return ast.Subscript(value=ast.Name(TRUSTED_PARAM, ast.Load()), slice=ast.Constant(name), ctx=ast.Load())


def _bound_names(body: list[ast.stmt]) -> set[str]:
    """Names a cell binds at its top level (nested functions and classes keep their own)."""
    names: set[str] = set()

    class Binder(ast.NodeVisitor):
        def visit_Name(self, node):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)

        def visit_FunctionDef(self, node):
            names.add(node.name)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_ClassDef(self, node):
            names.add(node.name)

        def visit_Lambda(self, node):
            pass

        def visit_ListComp(self, node):
            pass

        visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

        def visit_Import(self, node):
            for a in node.names:
                names.add(a.asname or a.name.split(".")[0])

        def visit_ImportFrom(self, node):
            for a in node.names:
                if a.name != "*":
                    names.add(a.asname or a.name)

        def visit_Global(self, node):
            names.update(node.names)

        def visit_NamedExpr(self, node):
            names.add(node.target.id)
            self.generic_visit(node)

    for stmt in body:
        Binder().visit(stmt)
    return names


def compile_cell(python_source: str, filename: str, strict: bool):
    """Compile a trusted or test cell into ``def f(trusted): …`` returning its last expression."""
    tree = ast.parse(python_source, filename, "exec")
    body = tree.body
    bound = _bound_names(body) - {TRUSTED_PARAM}
    if strict:
        body = [_StrictTests(bound).visit(stmt) for stmt in body]
    if body and isinstance(body[-1], ast.Expr):
        body[-1] = ast.copy_location(ast.Return(body[-1].value), body[-1])
    if not body:
        body = [ast.Pass()]
    if bound:
        body.insert(0, ast.Global(sorted(bound)))
    fn = ast.FunctionDef(name="_cartable_cell_", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(TRUSTED_PARAM)], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body, decorator_list=[], returns=None)
    module = ast.Module([fn], type_ignores=[])
    ast.fix_missing_locations(module)
    return compile(module, filename, "exec")


def trusted_imports(sources: list[str]) -> list:
    """The import statements of trusted cells, compiled, to rebind before each test."""
    stmts = []
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        stmts += [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                  and not any(a.name == "*" for a in n.names)]
    if not stmts:
        return []
    return [compile(ast.fix_missing_locations(ast.Module(stmts, type_ignores=[])), "<trusted imports>", "exec")]


# ----------------------------------------------------------------------------- output capture


class Outputs:
    """The outputs of one cell, as nbformat dicts holding only plain strings."""

    def __init__(self, limit: int):
        self.items: list[dict] = []
        self.size = 0
        self.limit = limit
        self.truncated = False

    def _room(self, n: int) -> bool:
        if self.size + n > self.limit:
            if not self.truncated:
                self.truncated = True
                self.items.append({"output_type": "stream", "name": "stdout",
                                   "text": "\n[… sortie tronquée / output truncated …]\n"})
            return False
        self.size += n
        return True

    def stream(self, name: str, text: str) -> None:
        if not text or not self._room(len(text)):
            return
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, kind: str, data: dict, metadata: dict, count=None) -> None:
        clean = {}
        for mime, value in data.items():
            if type(mime) is not str:
                continue
            if isinstance(value, (dict, list)):
                value = json.loads(json.dumps(value))
            elif not isinstance(value, str):
                value = str(value)
            clean[str.__str__(mime)] = value if isinstance(value, (dict, list)) else str.__str__(value)
        if not clean or not self._room(len(json.dumps(clean))):
            return
        item = {"output_type": kind, "data": clean, "metadata": {}}
        if kind == "execute_result":
            item["execution_count"] = count
        self.items.append(item)


class _Stream:
    """``sys.stdout`` / ``sys.stderr`` while a cell runs."""

    def __init__(self, name: str, box: list):
        self.name, self.box = name, box
        self.encoding = "utf-8"

    def write(self, s) -> int:
        if type(s) is not str:
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        out = self.box[0]
        if out is not None:
            out.stream(self.name, s)
        return len(s)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("no file descriptor")


# ----------------------------------------------------------------------------- the supervisor

# Bound once: the supervisor's own steps must not go through anything the pupil can rebind.
_start_thread = __import__("_thread").start_new_thread
_allocate_lock = __import__("_thread").allocate_lock
_get_ident = __import__("_thread").get_ident
_listdir = os.listdir
_monotonic = __import__("time").monotonic
_sleep = __import__("time").sleep
_type, _len, _list, _dict, _str, _tuple, _isinstance = type, len, list, dict, str, tuple, isinstance
_CORE_MODULES = ("builtins", "os", "posix", "sys", "_thread", "threading", "marshal", "operator", "types",
                 "ctypes", "_ctypes", "_hashlib", "hashlib", "time", "_weakrefset", "_collections_abc",
                 __name__, "cartable.grading.forkserver")


def _protected_classes() -> list[type]:
    """Classes whose methods the supervisor's own thread calls: put back after every cell."""
    from cartable.grading import check

    classes = [Supervisor, TrustedState, Outputs, _Stream, StrictCheckError, Tampering, threading.Thread,
               threading.Event, threading.Condition, types.MappingProxyType, check.CheckError]
    return [c for c in classes if isinstance(c, type) and c.__module__ != "builtins"]


def _plain_outputs(items) -> list:
    """Copy the outputs a cell produced, keeping only well-formed streams and displays."""
    clean = []
    if _type(items) is not _list:
        return clean
    for item in items[:1000]:
        if _type(item) is not _dict:
            continue
        kind = item.get("output_type")
        if kind == "stream" and _type(item.get("name")) is _str and item["name"] in ("stdout", "stderr") \
                and _type(item.get("text")) is _str:
            clean.append({"output_type": "stream", "name": item["name"], "text": item["text"]})
        elif kind in ("display_data", "execute_result") and _type(item.get("data")) is _dict:
            data = {k: v for k, v in item["data"].items() if _type(k) is _str and _type(v) is _str}
            if data:
                out = {"output_type": kind, "data": data, "metadata": {}}
                if kind == "execute_result":
                    count = item.get("execution_count")
                    out["execution_count"] = count if _type(count) is int else None
                clean.append(out)
    return clean


class Supervisor:
    """Runs the cells of one notebook, each in a thread of its own (see the module's text)."""

    def __init__(self, shell, state: TrustedState, limits: dict):
        self.shell, self.state, self.limits = shell, state, limits
        self.current = [None]  # the Outputs the running cell writes to
        self.mode = ["pupil"]
        self._tests: set[int] = set()
        self.tampering: list[str] = []
        self.graveyard: list = []  # pupil objects are never freed by the supervisor's thread
        self.test_ns: dict = {}  # where test cells run, out of the pupil's reach
        self.test_names: dict = {}  # what earlier test cells bound, for the later ones
        self.count = 0
        self.stdout, self.stderr = _Stream("stdout", self.current), _Stream("stderr", self.current)
        self.core = {name: (sys.modules[name], dict(vars(sys.modules[name])))
                     for name in _CORE_MODULES if name in sys.modules}
        self.modules, self.path = sys.modules, sys.path
        self.restore_core = self._make_restore_core()
        self._install_audit_hook()
        self._capture_display()

    def _make_restore_core(self):
        """After pupil code ran: the modules the supervisor itself uses, as they were.

        A closure over references taken now, so that it runs nothing the pupil could rebind.
        """
        core = [(vars(mod), list(snap.items()), tuple(snap.values())) for mod, snap in self.core.values()]
        classes = [(cls, vars(cls), dict(vars(cls)), tuple(vars(cls).values())) for cls in _protected_classes()]
        sys_dict, modules, path = vars(sys), self.modules, self.path
        missing, setattr_, delattr_, list_ = _MISSING, type.__setattr__, type.__delattr__, list
        all_, map_, len_, is_ = all, map, len, operator.is_
        tampering = self.tampering

        def restore_core():
            sys_dict["modules"] = modules
            sys_dict["path"] = path
            for d, items, values in core:
                if len_(d) == len_(values) and all_(map_(is_, d.values(), values)):
                    continue
                for key, value in items:
                    if d.get(key, missing) is not value:
                        d[key] = value
            for cls, d, snap, values in classes:
                if len_(d) == len_(values) and all_(map_(is_, d.values(), values)):
                    continue
                for key in list_(d.keys()):
                    if key not in snap:
                        delattr_(cls, key)
                        tampering.append(f"restored class {cls.__name__}.{key}")
                for key, value in snap.items():
                    if d.get(key, missing) is not value:
                        setattr_(cls, key, value)
                        tampering.append(f"restored class {cls.__name__}.{key}")
        return restore_core

    # -- guards ---------------------------------------------------------------------------
    def _install_audit_hook(self) -> None:
        main = _get_ident()
        tests, tampering, is_protected = self._tests, self.tampering, self.state.is_protected
        block_always, frame_attrs = frozenset(_BLOCK_ALWAYS), frozenset(_FRAME_ATTRS)
        startswith = str.startswith

        def hook(event, args):
            ident = _get_ident()
            if ident == main:
                return
            in_test = ident in tests
            reason = None
            if event in block_always or startswith(event, "ctypes."):
                reason = event
            elif event == "object.__setattr__" and args and is_protected(args[0]):
                reason = f"{event} {getattr(args[0], '__qualname__', type(args[0]).__name__)}.{args[1]}"
            elif in_test and (event in ("sys._getframe", "sys._getframemodulename")
                              or (event == "object.__getattr__" and len(args) > 1 and args[1] in frame_attrs)):
                reason = event if event != "object.__getattr__" else f"{event} {args[1]}"
            if reason is not None:
                if len(tampering) < 50:
                    tampering.append(reason)
                raise Tampering(f"opération interdite pendant la correction / not allowed while grading: {reason}")

        sys.addaudithook(hook)

    def _capture_display(self) -> None:
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher

        current, mode, counter = self.current, self.mode, [0]
        self.counter = counter

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
                out = current[0]
                if out is not None:
                    out.rich("display_data", data or {}, metadata or {})

            def clear_output(self, wait=False):
                out = current[0]
                if out is not None:
                    out.items.clear()

        class Hook(DisplayHook):
            def __call__(self, result=None):
                out = current[0]
                if result is None or out is None or mode[0] != "pupil":
                    return
                self.shell.user_ns["_"] = result
                data, md = self.shell.display_formatter.format(result)
                out.rich("execute_result", data, md, count=counter[0])

        self.publisher = Publisher(shell=self.shell)
        self.displayhook = Hook(shell=self.shell, cache_size=0)

    def _prepare_shell(self) -> None:
        """Runs in the cell's thread: the shell's capture in place, whatever the pupil changed."""
        sh = self.shell
        for attr in ("run_cell", "showtraceback", "_showtraceback", "transform_cell", "run_code",
                     "run_ast_nodes", "ex", "ev"):
            sh.__dict__.pop(attr, None)
        sh.display_pub = self.publisher
        sh.displayhook = self.displayhook
        sh.display_trap.hook = self.displayhook
        sh._showtraceback = lambda *a, **k: None
        sys.stdout, sys.stderr = self.stdout, self.stderr
        sys.displayhook = self.displayhook

    # -- running a cell -------------------------------------------------------------------
    def _in_thread(self, target, test: bool, timeout: float):
        """Run ``target(box)`` in a new thread; return (finished, copy of box, threads left behind)."""
        box: list = []
        prepare = self._prepare_shell
        if test:
            tests = self._tests

            def body():
                tests.add(_get_ident())
                prepare()
                target(box)
        else:
            def body():
                prepare()
                target(box)

        t = threading.Thread(target=body, daemon=True)
        t.start()
        t.join(timeout)
        self.restore_core()
        if t.is_alive():
            _interrupt(t.ident)
            t.join(2.0)
            self.restore_core()
        self.graveyard.append(box)
        finished = not t.is_alive()
        # threads a pupil left running are looked for before tests only (the check waits a
        # little for the finished cell's thread to leave /proc/self/task)
        left = _wait_single_thread() if test else 0
        self._tests.discard(t.ident)
        if not finished:
            return False, [], left
        return True, (_list(box) if _type(box) is _list else []), left

    def run_pupil_cell(self, source: str, timeout: float):
        self.mode[0] = "pupil"
        shell = self.shell
        run_cell = type(shell).run_cell

        def target(box):
            result = run_cell(shell, source, store_history=False, silent=False)
            err = result.error_before_exec or result.error_in_exec
            box.append(_error_output(err) if err is not None else None)
            # nothing keeps the failed cell's frames (and what they hold: a memory bomb's list) alive
            result = err = shell.last_execution_result = None
            sys.last_type = sys.last_value = sys.last_traceback = None
            failed = box[-1] is not None
            for tb in (getattr(shell, "InteractiveTB", None), getattr(shell, "SyntaxTB", None)):
                if tb is not None and hasattr(tb, "tb"):
                    tb.tb = None
            _collect(2 if failed else 0)

        done, box, _left = self._in_thread(target, False, timeout)
        err = box[0] if _len(box) == 1 and _type(box[0]) is _dict else None
        return done, err

    def run_compiled_cell(self, code, timeout: float, test: bool, imports: list, bound: frozenset = frozenset()):
        """Run a trusted or test cell. A trusted cell's names land in the pupil's namespace; a test
        cell runs in the tests' own namespace (the pupil's names, under those earlier tests bound),
        and the names it binds (``bound``) stay there: no later pupil cell can see them."""
        self.mode[0] = "test" if test else "trusted"
        user_ns = self.shell.user_ns
        ns = self.test_ns if test else user_ns
        kept = self.test_names
        trusted = types.MappingProxyType({"compare": _strict_compare, "truth": _truth,
                                          "builtins": types.MappingProxyType(dict(self.state.builtins))})

        def target(box):
            try:
                if test:
                    ns.clear()
                    ns.update(user_ns)
                    ns.update(kept)
                    ns["__builtins__"] = builtins
                    for imp in imports:
                        try:
                            exec(imp, ns)
                        except Exception:  # a failing import fails the test below
                            pass
                exec(code, ns)
                fn = ns.pop("_cartable_cell_")
                try:
                    value = fn(trusted)
                finally:
                    if test:
                        for name in bound:
                            if name in ns:
                                kept[name] = ns[name]
                            else:
                                kept.pop(name, None)
            except BaseException as e:  # whatever the cell raised fails the cell
                box.append(("error", _error_output(e)))
                e = None
                _collect(2)
                return
            if value is None:
                box.append(("ok", None))
            elif type(value) in (int, float, bool, str):
                box.append(("value", {"text/plain": repr(value)}))
            else:
                box.append(("value", {"text/plain": f"<{type(value).__name__}>"}))
            value = fn = None
            _collect()

        done, box, left = self._in_thread(target, test, timeout)
        if not done:
            return False, None
        if left:
            self.tampering.append(f"{left} background thread(s)")
            if test:
                return True, ("error", {"output_type": "error", "ename": "Tampering",
                                        "evalue": "background thread during the test", "traceback": []})
        if _len(box) != 1 or _type(box[0]) is not _tuple or _len(box[0]) != 2:
            self.tampering.append("result slot changed")
            return True, ("error", {"output_type": "error", "ename": "Tampering",
                                    "evalue": "result slot changed", "traceback": []})
        status, payload = box[0]
        if status == "error" and _type(payload) is _dict:
            return True, ("error", _plain_error(payload))
        if status == "value" and _type(payload) is _dict and _type(payload.get("text/plain")) is _str:
            return True, ("value", {"text/plain": payload["text/plain"]})
        return True, ("ok", None)


def _plain_error(e: dict) -> dict:
    ename = e.get("ename") if _type(e.get("ename")) is _str else "Error"
    evalue = e.get("evalue") if _type(e.get("evalue")) is _str else ""
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def _interrupt(ident: int) -> None:
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt))


def _collect(generation: int = 0) -> None:
    """The garbage collector is off in the grading process, so that no pupil object's finalizer
    ever runs on the supervising thread; each cell's thread collects its own cycles: the young
    ones after every cell, all of them after a failed cell (its traceback holds its frames, and
    a memory bomb's memory with them)."""
    gc.collect(generation)


def _os_threads() -> int:
    try:
        return _len(_listdir("/proc/self/task"))
    except OSError:
        return 1


def _wait_single_thread(limit: float = 0.2) -> int:
    """Threads other than the supervisor still alive after a short wait (a finished thread takes a
    moment to leave ``/proc/self/task``)."""
    deadline = _monotonic() + limit
    while True:
        n = _os_threads() - 1
        if n <= 0 or _monotonic() > deadline:
            return max(n, 0)
        _sleep(0.00005)


def _error_output(err) -> dict:
    try:
        ename = type(err).__name__
        evalue = str(err)
    except BaseException:  # a pupil's exception whose str() fails
        ename, evalue = "Error", ""
    ename = str.__str__(ename) if isinstance(ename, str) else "Error"
    evalue = str.__str__(evalue)[:2000] if isinstance(evalue, str) else ""
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def _timeout_output(seconds: float) -> dict:
    text = f"La cellule a dépassé {seconds:g} s : arrêtée. / The cell ran over {seconds:g} s and was stopped."
    return {"output_type": "error", "ename": "CellTimeout", "evalue": text, "traceback": [text]}


# ----------------------------------------------------------------------------- one notebook


def run(cells: list[dict], send, limits: dict, state: TrustedState, supervisor: Supervisor) -> None:
    """Run ``cells`` (``{"index", "kind", "source"}``); ``send`` one message per cell.

    Everything that goes through IPython's own machinery for trusted and test cells (cell
    transforms, compilation) happens here, before the first line of the pupil's code runs.
    The supervisor was built by the fork server, before the fork: its audit hook acts only in
    threads other than the main one, and the server itself runs none.
    """
    shell = supervisor.shell
    compiled, bound, imports = {}, {}, []
    trusted_py = []
    for cell in cells:
        if cell["kind"] in ("trusted", "test"):
            try:
                py = shell.transform_cell(cell["source"])
                compiled[cell["index"]] = compile_cell(py, f"<cell {cell['index']}>", cell["kind"] == "test")
                bound[cell["index"]] = frozenset(_bound_names(ast.parse(py).body))
                if cell["kind"] == "trusted":
                    trusted_py.append(py)
            except SyntaxError as e:
                compiled[cell["index"]] = _error_output(e)
    imports = trusted_imports(trusted_py)
    sup = supervisor
    sup.limits = limits
    gc.disable()
    cell_timeout = float(limits.get("cell_seconds", 30))
    out_limit = int(limits.get("output_kb", 512)) * 1024
    for cell in cells:
        out = Outputs(out_limit)
        sup.current[0] = out
        sup.count += 1
        sup.counter[0] = sup.count
        send({"type": "start", "index": cell["index"]})
        kind = cell["kind"]
        verdict = None
        if kind == "pupil":
            done, error = sup.run_pupil_cell(cell["source"], cell_timeout)
            verdict = ("error", _plain_error(error)) if error else None
        else:
            test = kind == "test"
            if test:
                changed = state.restore()
                sup.restore_core()
                if changed:
                    sup.tampering += [f"restored {c}" for c in changed[:20]]
            code = compiled[cell["index"]]
            if _type(code) is _dict:
                done, verdict = True, ("error", code)
            else:
                done, verdict = sup.run_compiled_cell(code, cell_timeout, test, imports, bound[cell["index"]])
        sup.current[0] = None
        items = _plain_outputs(out.items)
        if kind == "test":
            items = [i for i in items if i["output_type"] != "execute_result"]
        if verdict is not None and verdict[0] == "error":
            items.append(verdict[1])
        elif verdict is not None and verdict[0] == "value":
            items.append({"output_type": "execute_result", "data": verdict[1], "metadata": {},
                          "execution_count": sup.count})
        if not done:
            items.append(_timeout_output(cell_timeout))
        send({"type": "cell", "index": cell["index"], "outputs": items, "execution_count": sup.count,
              "tampering": _list(sup.tampering)})
        del sup.tampering[:]
        if not done:
            send({"type": "stopped", "reason": "timeout", "index": cell["index"]})
            return
    send({"type": "done"})
