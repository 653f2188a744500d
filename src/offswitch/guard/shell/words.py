"""The words of a command: options and operands, file names, hosts and paths, and
the prefixes (`sudo`, `env`, `timeout`, ...) in front of the program that runs."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

# -- options ---------------------------------------------------------------------------


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass
class _Args:
    options: dict[str, list[str]]
    operands: list[str]

    def has(self, *names: str) -> bool:
        return any(name in self.options for name in names)

    def values(self, *names: str) -> list[str]:
        return [value for name in names for value in self.options.get(name, ())]

    def value(self, *names: str) -> str | None:
        found = self.values(*names)
        return found[-1] if found else None


def _parse(
    args: list[str],
    short_values: str = "",
    long_values: Iterable[str] = (),
    *,
    attached: str = "",
    stop: bool = False,
) -> _Args:
    """Options and operands, getopt style.

    `short_values` are letters taking a value (attached or the next word);
    `attached` letters take the rest of their word only (`sed -i.bak`); with
    `stop`, the first operand ends the options (`sudo`, `xargs`: a command follows).
    """
    options: dict[str, list[str]] = {}
    operands: list[str] = []
    index, count = 0, len(args)
    while index < count:
        arg = args[index]
        index += 1
        if arg == "--":
            operands.extend(args[index:])
            break
        if len(arg) < 2 or arg[0] != "-":
            operands.append(arg)
            if stop:
                operands.extend(args[index:])
                break
            continue
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if not equals and name[2:] in long_values and index < count:
                value, index = args[index], index + 1
            options.setdefault(name, []).append(value)
            continue
        index = _short_options(arg, args, index, options, short_values, attached)
    return _Args(options, operands)


class _Options(NamedTuple):
    """The options of a program that take a value, as `_parse` reads them."""

    short_values: str = ""
    long_values: frozenset[str] = frozenset()

    def parse(self, args: list[str]) -> _Args:
        return _parse(args, self.short_values, self.long_values)


def _short_options(
    arg: str,
    args: list[str],
    index: int,
    options: dict[str, list[str]],
    short_values: str,
    attached: str,
) -> int:
    for position in range(1, len(arg)):
        letter, rest = arg[position], arg[position + 1 :]
        if letter in short_values:
            if not rest and index < len(args):
                rest, index = args[index], index + 1
            options.setdefault("-" + letter, []).append(rest)
            return index
        if letter in attached:
            options.setdefault("-" + letter, []).append(rest)
            return index
        options.setdefault("-" + letter, []).append("")
    return index


# -- names, hosts and paths ------------------------------------------------------------

_NOT_FILES = re.compile(r"^(?:|-|/dev/(?:null|zero|u?random|tty|std(?:in|out|err)|fd/\d+))$")
_DEV_TCP = re.compile(r"^/dev/(?:tcp|udp)/([^/]+)/")
_REMOTE = re.compile(r"^(?:[^@/:]+@)?(\[[^\]]+\]|[^/:@\[\]]+):(.*)$", re.DOTALL)
_BUCKET = re.compile(r"^((?:s3|gs|az|r2)://[^/]+)/?(.*)$", re.DOTALL)
_KEY_FILES = frozenset({"authorized_keys", "authorized_keys2"})
_DOCUMENT = re.compile(r"\.(?:md|markdown|txt|rst|html?|adoc|org|tex)$", re.IGNORECASE)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_SIGNAL = re.compile(r"^-(?:\d+|[A-Z][A-Z0-9+-]+)$")
_PYTHON = re.compile(r"^(?:python|pypy)[0-9.]*$")
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh"})


def _is_file(name: str) -> bool:
    return _NOT_FILES.match(name) is None


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _into(destination: str, source: str, directory: bool) -> str:
    """Where `source` lands when copied to `destination` (a directory or a new name)."""
    if not destination:
        return _basename(source)
    is_directory = destination.endswith(("/", "/.")) or destination in (".", "..", "~")
    if directory or is_directory:
        return posixpath.join(destination, _basename(source))
    return destination


def _ssh_host(destination: str) -> str:
    """`host` of `user@host` or `ssh://user@host:port`."""
    if "://" in destination:
        return urlsplit(destination).hostname or destination
    return destination.rpartition("@")[2]


def _location(spec: str) -> tuple[str | None, str]:
    """(host, path) of a copy operand: `user@host:path`, `host::module`,
    `rsync://host/path`, `s3://bucket/key`; host None for a local path."""
    bucket = _BUCKET.match(spec)
    if bucket:
        return bucket.group(1), bucket.group(2)
    if "://" in spec:
        parts = urlsplit(spec)
        return parts.hostname, parts.path.lstrip("/")
    remote = _REMOTE.match(spec)
    if remote is None:
        return None, spec
    path = remote.group(2)
    return remote.group(1).strip("[]"), path[1:] if path.startswith(":") else path


def _url_host(url: str) -> str | None:
    if "://" not in url:
        url = "http://" + url
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _url_destination(url: str, source: str) -> str:
    """The remote name of `source` uploaded to `url` (curl appends it to a `/` path)."""
    path = urlsplit(url if "://" in url else "http://" + url).path
    return _into(path.lstrip("/"), source, False) if path.strip("/") else _basename(source)


def _program(word: str) -> str:
    name = word.rsplit("/", 1)[-1]
    return "python" if _PYTHON.match(name) else name


# -- prefixes --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prefix:
    """A command that runs the command after its options (`sudo -u x rm f`)."""

    short_values: str = ""
    long_values: frozenset[str] = frozenset()
    leading_operands: int = 0
    """Operands before the command (`timeout 10 cmd`)."""


_PREFIXES: dict[str, _Prefix] = {
    "sudo": _Prefix("ugpCDrtUTR", frozenset({"user", "group", "prompt", "chdir", "role", "host"})),
    "doas": _Prefix("uC"),
    "env": _Prefix("uCS", frozenset({"unset", "chdir", "split-string"})),
    "nohup": _Prefix(),
    "exec": _Prefix("a"),
    "command": _Prefix(),
    "builtin": _Prefix(),
    "time": _Prefix("fo", frozenset({"format", "output"})),
    "nice": _Prefix("n", frozenset({"adjustment"})),
    "ionice": _Prefix("cn", frozenset({"class", "classdata"})),
    "timeout": _Prefix("sk", frozenset({"signal", "kill-after"}), leading_operands=1),
    "stdbuf": _Prefix("ioe", frozenset({"input", "output", "error"})),
    "setsid": _Prefix(),
    "unbuffer": _Prefix(),
    "busybox": _Prefix(),
    "watch": _Prefix("n", frozenset({"interval"})),
    "sshpass": _Prefix("pfdP"),
    "proxychains": _Prefix("f"),
    "proxychains4": _Prefix("f"),
    "torsocks": _Prefix(),
    "flock": _Prefix("w", frozenset({"timeout"}), leading_operands=1),
}
_KNOWN_PROGRAMS = _names(
    """
    echo printf true false : pwd cd pushd popd dirs date cal whoami id groups uname hostname
    hostnamectl sleep which whereis type hash test [ [[ ]] ]] ps pgrep top htop df free uptime
    vmstat iostat lsof sort uniq cut tr diff cmp comm basename dirname realpath readlink seq
    yes clear reset set unset shopt read wait exit return break continue shift trap getopts
    local declare typeset readonly export printenv umask ulimit mkdir touch column fmt fold
    paste join expand unexpand rev nproc lscpu lsblk lsmod lspci lsusb ip ifconfig netstat ss
    ping traceroute dig nslookup host journalctl dmesg last w who history tput stty locale
    getconf man info help apropos for in case esac select function time let expr bc awk
    git pip pip3 pipx uv poetry conda mamba pdm hatch npm npx yarn pnpm node deno bun tsc
    cargo rustc rustup go gofmt make cmake ninja meson gcc g++ cc c++ clang clang++ ld javac
    java mvn gradle kotlinc dotnet ruby gem bundle rake php composer pytest py.test tox nox
    ruff black isort mypy pyright flake8 pylint bandit coverage pre-commit eslint prettier
    jest vitest mocha nvidia-smi apt apt-get apt-cache dpkg dnf yum rpm apk brew snap
    gunzip gzip zcat bzip2 xz unxz zstd unzip jar pv watch sha256sum env mktemp tput
    iconv numfmt factor shuf timeout bat fd exa eza tldr http jupyter ipython getent
    ssh-keygen promtool perf nginx logrotate lastlog haproxy dpkg-reconfigure csvstat
    chronyc atq timedatectl loginctl lsattr getfacl nvcc htop iotop iperf3 uvicorn gunicorn
    offswitch
    """
)
"""Programs whose effects the reading does not need to follow: they report, build, test
or install packages, and do not touch oversight assets by themselves (what they write
through redirections is still read). Any other program without a handler is a gap."""
_RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}
)


def _strip_prefixes(words: list[str]) -> list[str]:
    """The words of the command that actually runs."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _RESERVED or _ASSIGNMENT.match(word):
            index += 1
            continue
        prefix = _PREFIXES.get(_program(word))
        if prefix is None:
            break
        rest = words[index + 1 :]
        parsed = _parse(rest, prefix.short_values, prefix.long_values, stop=True)
        if word == "command" and parsed.has("-v", "-V"):
            return []
        index = len(words) - len(parsed.operands) + prefix.leading_operands
    return words[index:]
