"""Python code as actions.

The code is parsed with `ast` and its statements walked in order, learning string
constants, paths, open files and import aliases as they are assigned. Calls to known
functions (`shutil.copy`, `os.remove`, `subprocess.run`, `requests.post`, ...) and
methods (`Path.write_text`, `sftp.put`, `df.to_csv`, ...) become actions; commands
that Python runs are read as shell.
"""

from __future__ import annotations

import ast
import base64
import binascii
import posixpath
import shlex
import textwrap
from collections.abc import Callable

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.base import EVIDENCE_LIMIT, UnreadableCommand
from offswitch.guard.shell.dispatch import Handlers, _check_depth, _gap, _shell
from offswitch.guard.shell.words import (
    _DOCUMENT,
    _KEY_FILES,
    _basename,
    _into,
    _names,
    _url_destination,
    _url_host,
)

_OPEN = frozenset({"open", "io.open", "builtins.open", "codecs.open"})
_PATH_TYPES = frozenset(
    {"Path", "PurePath", "PosixPath", "PurePosixPath"}
    | {f"pathlib.{name}" for name in ("Path", "PurePath", "PosixPath", "PurePosixPath")}
)
_JOINS = frozenset({"os.path.join", "posixpath.join"})
_SAME_TEXT = _names(
    "str os.fspath os.path.expanduser os.path.abspath os.path.realpath os.path.normpath "
    "os.path.expandvars"
)
_PATH_RETURNING_METHODS = frozenset({"resolve", "expanduser", "absolute"})
_PATH_METHODS = _PATH_RETURNING_METHODS | {"joinpath"}
_SHELL_CALLS = _names(
    "subprocess.run subprocess.call subprocess.check_call subprocess.check_output "
    "subprocess.Popen subprocess.getoutput subprocess.getstatusoutput os.system os.popen "
    "asyncio.create_subprocess_shell"
)
_HTTP_CALLS = frozenset(
    f"{module}.{method}" for module in ("requests", "httpx") for method in ("post", "put", "patch")
)
_UPLOAD_KEYWORDS = frozenset({"files", "data", "content"})
_EXECUTES = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval"})
_DYNAMIC = frozenset({"getattr", "__import__", "importlib.import_module", "globals", "vars"})
"""Calls that choose at run time what the code calls next."""
_DECODERS = {
    "base64.b64decode": lambda text: base64.b64decode(text, validate=True),
    "base64.standard_b64decode": lambda text: base64.b64decode(text, validate=True),
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_hex": binascii.unhexlify,
    "bytes.fromhex": bytes.fromhex,
}


def _python_actions(code: str, host: str | None, depth: int, handlers: Handlers) -> list[Action]:
    _check_depth(depth)
    if code[:1].isspace():
        code = textwrap.dedent(code)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        message = (
            error.msg if isinstance(error, SyntaxError) else str(error) or type(error).__name__
        )
        raise UnreadableCommand(f"python: {message}") from None
    reader = _PythonReader(code, host, depth, handlers)
    reader.read(tree.body)
    if reader.unreadable is not None:
        raise UnreadableCommand(str(reader.unreadable), reader.actions)
    return reader.actions


class _Segments:
    """Source text of nodes; ast offsets are UTF-8 byte columns."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)

    def of(self, node: ast.stmt) -> str:
        end_line = node.end_lineno or node.lineno
        first, last = node.lineno - 1, end_line - 1
        end_column = node.end_col_offset or 0
        if first == last:
            return _columns(self.lines[first], node.col_offset, end_column)
        head = _columns(self.lines[first], node.col_offset, None)
        tail = _columns(self.lines[last], 0, end_column)
        return head + "".join(self.lines[first + 1 : last]) + tail


def _columns(line: str, start: int, end: int | None) -> str:
    if line.isascii():
        return line[start:end]
    return line.encode()[start:end].decode(errors="replace")


def _compose(parts: list[str | None], join: Callable[[list[str]], str]) -> str | None:
    """Joined text with `*` for the unknown parts; None when nothing is known."""
    if all(part is None for part in parts):
        return None
    return join(["*" if part is None else part for part in parts])


def _posix_join(parts: list[str]) -> str:
    return posixpath.join(*parts) if parts else "."


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(node, "handlers", ())]
    blocks += [case.body for case in getattr(node, "cases", ())]
    return [block for block in blocks if isinstance(block, list)]


def _header(node: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself, without its nested blocks."""
    if isinstance(node, ast.If | ast.While):
        return [node.test]
    if isinstance(node, ast.For | ast.AsyncFor):
        return [node.iter]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [item.context_expr for item in node.items]
    if isinstance(node, ast.Match):
        return [node.subject]
    if _blocks(node):
        return []
    return [node]


def _argument(call: ast.Call, position: int, *keywords: str) -> ast.expr | None:
    if position < len(call.args) and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in keywords), None)


class _PythonReader:
    """Walks statements in order, learning constants and open files as it goes."""

    def __init__(self, source: str, host: str | None, depth: int, handlers: Handlers) -> None:
        self.segments = _Segments(source)
        self.host, self.depth = host, depth
        self.handlers = handlers
        """The shell's handlers, for the commands the code runs."""
        self.constants: dict[str, str] = {}
        self.paths: set[str] = set()
        self.handles: dict[str, tuple[str | None, bool]] = {}
        """Open files by variable: (file name, opened for writing)."""
        self.sftp: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.actions: list[Action] = []
        self.unreadable: UnreadableCommand | None = None
        """The first shell command run from the code that could not be read."""

    def read(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self.learn_import(node)
            return
        text = self.segments.of(node)
        for part in _header(node):
            for child in ast.walk(part):
                if isinstance(child, ast.Call):
                    self.call(child, text)
        self.learn(node)
        for block in _blocks(node):
            self.read(block)

    def act(self, verb: Verb, target: str | None, statement: str, **fields: str | None) -> None:
        evidence = statement[:EVIDENCE_LIMIT]
        if target is None and verb not in ("read", "list"):
            _gap(self.handlers, f"the file of {statement[:80]!r} is computed when the code runs")
        action = Action(
            verb=verb, target=target, host=self.host, via="shell", evidence=evidence, **fields
        )
        self.actions.append(action)

    def write(self, target: str | None, content: ast.expr | None, statement: str) -> None:
        """A write of `content` (its text where it resolves); a document is also a
        report, and a write to authorized_keys grants a login."""
        text = self.text(content) or statement
        self.act("write", target, statement, text=text)
        if target and _DOCUMENT.search(target):
            self.act("report", target, statement, text=text)
        if target and _basename(target) in _KEY_FILES:
            self.act("add_user", "authorized_keys", statement)

    # -- learning names ---------------------------------------------------------------

    def learn_import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if isinstance(node, ast.ImportFrom) and node.module:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif alias.asname:
                self.aliases[alias.asname] = alias.name

    def learn(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.bind(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bind(node.target, node.value)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, item.context_expr)

    def bind(self, target: ast.expr, value: ast.expr) -> None:
        if not isinstance(target, ast.Name):
            return
        name = target.id
        for known in (self.constants, self.handles):
            known.pop(name, None)
        self.paths.discard(name)
        self.sftp.discard(name)
        opened = self.opened(value)
        if opened is not None:
            self.handles[name] = opened
        elif self.is_sftp(value):
            self.sftp.add(name)
        else:
            text = self.text(value)
            if text is not None:
                self.constants[name] = text
            if self.is_path(value):
                self.paths.add(name)

    # -- resolving values ---------------------------------------------------------------

    def qualified(self, node: ast.expr) -> str | None:
        """`shutil.copy` for `shutil.copy`, `sh.copy` (import shutil as sh) or `copy`
        (from shutil import copy); None for calls on computed values."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def text(self, node: ast.expr | None) -> str | None:
        """The string a node evaluates to, where constants make it plain."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.text(v.value) if isinstance(v, ast.FormattedValue) else self.text(v)
                for v in node.values
            ]
            return _compose(parts, "".join)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
            parts = [self.text(node.left), self.text(node.right)]
            return _compose(parts, "".join if isinstance(node.op, ast.Add) else _posix_join)
        if isinstance(node, ast.Call):
            return self.call_text(node)
        return None

    def call_text(self, node: ast.Call) -> str | None:
        name = self.qualified(node.func)
        if name in _PATH_TYPES or name in _JOINS:
            return _compose([self.text(a) for a in node.args], _posix_join) if node.args else "."
        if name in _SAME_TEXT:
            return self.text(_argument(node, 0))
        if name and name.rpartition(".")[0] in _PATH_TYPES:
            return {"home": "~", "cwd": "."}.get(name.rpartition(".")[2])
        if isinstance(node.func, ast.Attribute) and self.is_path(node.func.value):
            receiver = self.text(node.func.value)
            if node.func.attr == "joinpath":
                return _compose([receiver, *(self.text(a) for a in node.args)], _posix_join)
            if node.func.attr in _PATH_RETURNING_METHODS:
                return receiver
        return None

    def is_path(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.paths
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self.is_path(node.left)
        if not isinstance(node, ast.Call):
            return False
        name = self.qualified(node.func) or ""
        if name in _PATH_TYPES or name.rpartition(".")[0] in _PATH_TYPES:
            return True
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in _PATH_METHODS
            and self.is_path(func.value)
        )

    def opened(self, node: ast.expr) -> tuple[str | None, bool] | None:
        """(file, writes) when `node` opens a file: open(f, mode) or Path(f).open(mode)."""
        if not isinstance(node, ast.Call):
            return None
        if self.qualified(node.func) in _OPEN:
            mode = self.text(_argument(node, 1, "mode")) or "r"
            return self.text(_argument(node, 0, "file")), any(c in mode for c in "wax+")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "open" and self.is_path(func.value):
            mode = self.text(_argument(node, 0, "mode")) or "r"
            return self.text(func.value), any(c in mode for c in "wax+")
        return None

    def is_sftp(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.sftp or "sftp" in node.id.lower()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in ("open_sftp", "from_transport")
        return False

    # -- calls ------------------------------------------------------------------------------

    def call(self, node: ast.Call, text: str) -> None:
        name = self.qualified(node.func)
        if name in _DYNAMIC:
            _gap(self.handlers, f"{name}() chooses what runs when the code runs")
            return
        if name in _EXECUTES:
            self.run_python(_argument(node, 0, "source", "object"))
            return
        handler = _PYTHON_FUNCTIONS.get(name or "")
        if handler is not None:
            handler(self, node, text)
            return
        opened = self.opened(node)
        if opened is not None:
            file, writes = opened
            self.act("write" if writes else "read", file, text, text=text if writes else None)
            return
        if isinstance(node.func, ast.Attribute):
            method = _PYTHON_METHODS.get(node.func.attr)
            if method is not None:
                method(self, node, node.func.value, text)

    def run_python(self, node: ast.expr | None) -> None:
        """Code given to exec() or eval(): read where it is literal text or a literal
        payload decoded (`base64.b64decode('...')`, `bytes.fromhex('...')`); a gap else."""
        code = self.text(node) if node is not None else None
        if code is None and isinstance(node, ast.Call):
            code = self.decoded(node)
        if code is None:
            _gap(self.handlers, "it runs code that is computed when it runs")
            return
        try:
            self.actions.extend(_python_actions(code, self.host, self.depth + 1, self.handlers))
        except UnreadableCommand as error:
            self.actions.extend(error.actions)
            self.unreadable = self.unreadable or error

    def decoded(self, node: ast.Call) -> str | None:
        """The text of a literal payload decoded: `b64decode(...)`, `bytes.fromhex(...)`,
        and `.decode()` of either."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "decode" and not node.args:
            inner = func.value
            return self.decoded(inner) if isinstance(inner, ast.Call) else None
        name = self.qualified(func) or ""
        payload = _argument(node, 0, "s")
        literal = payload.value if isinstance(payload, ast.Constant) else None
        if isinstance(literal, bytes):
            literal = literal.decode("latin-1")
        if not isinstance(literal, str):
            return None
        decode = _DECODERS.get(name)
        try:
            return decode(literal).decode("utf-8") if decode else None
        except (ValueError, UnicodeDecodeError):
            return None

    def pair(self, verb: Verb, node: ast.Call, text: str) -> None:
        source = self.text(_argument(node, 0, "src"))
        destination = self.text(_argument(node, 1, "dst"))
        if destination is not None and source is not None:
            destination = _into(destination, source, False)
        self.act(verb, source, text, destination=destination)

    def words(self, nodes: list[ast.expr]) -> list[str]:
        """Argument words, `*` for those that cannot be resolved."""
        return [self.text(node) or "*" for node in nodes if not isinstance(node, ast.Starred)]

    def command_line(self, node: ast.expr | None) -> str | None:
        """A command given as a string, or as a list of arguments."""
        if isinstance(node, ast.List | ast.Tuple):
            return shlex.join(self.words(node.elts))
        return self.text(node)

    def run_shell(self, line: str | None) -> None:
        """Read a shell command the code runs; one that cannot be read is remembered
        (with what of it could be) and the rest of the code is still read."""
        if line is None:
            _gap(self.handlers, "the command the code runs is computed when it runs")
            return
        if not line:
            return
        try:
            self.actions.extend(_shell(line, self.host, self.depth + 1, self.handlers))
        except UnreadableCommand as error:
            self.actions.extend(error.actions)
            self.unreadable = self.unreadable or error

    def dump(self, node: ast.Call, text: str) -> None:
        stream = _argument(node, 1, "stream", "fp", "f")
        if isinstance(stream, ast.Name) and stream.id in self.handles:
            self.act("write", self.handles[stream.id][0], text, text=text)

    def http(self, node: ast.Call, text: str, url_position: int = 0) -> None:
        url = self.text(_argument(node, url_position, "url"))
        host = (_url_host(url) if url else None) or "http"
        for source in self.uploaded(node):
            destination = _url_destination(url, source) if url else _basename(source)
            self.act("transfer", source, text, destination=destination, destination_host=host)

    def uploaded(self, node: ast.Call) -> list[str]:
        """Files whose content a request sends (files=, data=, content=)."""
        values = [k.value for k in node.keywords if k.arg in _UPLOAD_KEYWORDS]
        files = []
        for value in values:
            for child in ast.walk(value):
                files.append(self.file_read_by(child))
        return [f for f in files if f]

    def file_read_by(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name) and node.id in self.handles:
            return self.handles[node.id][0]
        if not isinstance(node, ast.Call):
            return None
        opened = self.opened(node)
        if opened is not None:
            return opened[0]
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("read_bytes", "read_text"):
            return self.text(func.value)
        return None


# -- functions and methods -------------------------------------------------------------

PythonFunction = Callable[[_PythonReader, ast.Call, str], None]
PythonMethod = Callable[[_PythonReader, ast.Call, ast.expr, str], None]


def _target_of(verb: Verb, position: int = 0, *keywords: str) -> PythonFunction:
    def handler(reader: _PythonReader, node: ast.Call, text: str) -> None:
        target = reader.text(_argument(node, position, *keywords))
        reader.act(verb, target, text, text=text if verb == "write" else None)

    return handler


def _shell_call(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """subprocess.run("..." or [...]), os.system("..."): the command, read as shell."""
    reader.run_shell(reader.command_line(_argument(node, 0, "args", "cmd", "command")))


def _exec_call(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """os.execvp(file, [args]): the argument list, read as a command."""
    reader.run_shell(reader.command_line(_argument(node, 1, "args")))


def _subprocess_exec(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """asyncio.create_subprocess_exec(program, *args)."""
    reader.run_shell(shlex.join(reader.words(node.args)))


def _kill(reader: _PythonReader, node: ast.Call, text: str) -> None:
    pid = _argument(node, 0, "pid")
    target = str(pid.value) if isinstance(pid, ast.Constant) else reader.text(pid)
    reader.act("stop_service", target, text)


_PYTHON_FUNCTIONS: dict[str, PythonFunction] = {
    **dict.fromkeys(
        ("shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree"),
        lambda reader, node, text: reader.pair("copy", node, text),
    ),
    **dict.fromkeys(
        ("shutil.move", "os.rename", "os.replace", "os.renames"),
        lambda reader, node, text: reader.pair("move", node, text),
    ),
    **dict.fromkeys(
        ("os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.rmtree"),
        _target_of("delete", 0, "path"),
    ),
    **dict.fromkeys(
        ("os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob"),
        _target_of("list", 0, "path", "pathname", "top"),
    ),
    **dict.fromkeys(("os.truncate", "os.chmod", "os.chown"), _target_of("write", 0, "path")),
    **dict.fromkeys(("os.symlink", "os.link"), _target_of("write", 1, "dst")),
    **dict.fromkeys(_SHELL_CALLS, _shell_call),
    **dict.fromkeys(("os.execv", "os.execvp", "os.execve", "os.execvpe"), _exec_call),
    "asyncio.create_subprocess_exec": _subprocess_exec,
    **dict.fromkeys(
        ("yaml.dump", "yaml.safe_dump", "json.dump", "toml.dump"),
        lambda reader, node, text: reader.dump(node, text),
    ),
    **dict.fromkeys(_HTTP_CALLS, lambda reader, node, text: reader.http(node, text)),
    **dict.fromkeys(
        ("requests.request", "httpx.request"),
        lambda reader, node, text: reader.http(node, text, url_position=1),
    ),
    "os.kill": _kill,
    "os.killpg": _kill,
}


def _path_method(verb: Verb, *, any_receiver: bool = False) -> PythonMethod:
    """Path(x).unlink(), .read_text(), .write_text(...): an action on the receiver."""

    def handler(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
        if not (any_receiver or reader.is_path(receiver)):
            return
        if verb == "delete" and node.args:
            return
        reader.act(verb, reader.text(receiver), text, text=text if verb == "write" else None)

    return handler


def _path_move(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    if len(node.args) == 1 and reader.is_path(receiver):
        destination = reader.text(node.args[0])
        reader.act("move", reader.text(receiver), text, destination=destination)


def _put(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """paramiko's sftp.put(local, remote); otherwise an HTTP client's put."""
    if not reader.is_sftp(receiver):
        reader.http(node, text)
        return
    source, destination = reader.text(_argument(node, 0)), reader.text(_argument(node, 1))
    reader.act("transfer", source, text, destination=destination, destination_host="sftp")


def _handle_write(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """f.write(content) or open(x, "w").write(content)."""
    if isinstance(receiver, ast.Name):
        opened = reader.handles.get(receiver.id)
    else:
        opened = reader.opened(receiver)
    if opened is not None and opened[1]:
        reader.write(opened[0], _argument(node, 0), text)


def _write_text(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    reader.write(reader.text(receiver), _argument(node, 0, "data"), text)


def _frame_write(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """pandas' df.to_csv(path) and the like; without a path they return text."""
    path = _argument(node, 0, "path_or_buf", "path", "excel_writer")
    if path is not None:
        reader.act("write", reader.text(path), text, text=text)


def _upload_file(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """boto3: client.upload_file(file, bucket, key) or Bucket(b).upload_file(file, key)."""
    with_bucket = len(node.args) >= 3 or any(k.arg == "Bucket" for k in node.keywords)
    bucket = reader.text(_argument(node, 1, "Bucket")) if with_bucket else None
    key = reader.text(_argument(node, 2 if with_bucket else 1, "Key"))
    source = reader.text(_argument(node, 0, "Filename"))
    host = f"s3://{bucket}" if bucket else "s3"
    reader.act("transfer", source, text, destination=key, destination_host=host)


_PYTHON_METHODS: dict[str, PythonMethod] = {
    "rename": _path_move,
    "replace": _path_move,
    "unlink": _path_method("delete", any_receiver=True),
    "rmdir": _path_method("delete", any_receiver=True),
    "write_text": _write_text,
    "write_bytes": _write_text,
    "read_text": _path_method("read", any_receiver=True),
    "read_bytes": _path_method("read", any_receiver=True),
    "chmod": _path_method("write"),
    "symlink_to": _path_method("write"),
    "hardlink_to": _path_method("write"),
    "iterdir": _path_method("list"),
    "glob": _path_method("list"),
    "rglob": _path_method("list"),
    "put": _put,
    "post": lambda reader, node, receiver, text: reader.http(node, text),
    "patch": lambda reader, node, receiver, text: reader.http(node, text),
    "write": _handle_write,
    "writelines": _handle_write,
    "upload_file": _upload_file,
    **dict.fromkeys(
        ("to_csv", "to_json", "to_excel", "to_parquet", "to_pickle", "to_feather"), _frame_write
    ),
}
