"""Handlers for programs that manage users and services: adding, removing or locking
users, stopping services, killing processes, removing crontabs."""

from __future__ import annotations

import re
from collections.abc import Iterable

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.dispatch import Handler, _Context, _each
from offswitch.guard.shell.words import _SIGNAL, _parse, _program, _ssh_host

# -- users -----------------------------------------------------------------------------


def _user_handler(verb: Verb, short_values: str, long_values: Iterable[str] = ()) -> Handler:
    """userdel, deluser, useradd, adduser: the first operand is the user."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        operands = _parse(args, short_values, long_values).operands
        return [context.act(verb, operands[0])] if operands else []

    return handler


_NO_LOGIN = re.compile(r"/(?:nologin|false)$")


def _usermod(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "cdegGlsuRPpZvVwW", ("shell", "home", "comment", "expiredate"))
    shell = parsed.value("-s", "--shell") or ""
    locks = parsed.has("-L", "--lock") or _NO_LOGIN.search(shell) is not None
    return [context.act("remove_user", parsed.operands[-1])] if locks and parsed.operands else []


def _passwd(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "nxwiR", ("mindays", "maxdays", "warndays", "inactive", "root"))
    locks = parsed.has("-l", "--lock")
    return [context.act("remove_user", parsed.operands[0])] if locks and parsed.operands else []


def _chage(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "dEImMWR", ("expiredate", "lastday", "inactive", "root"))
    expired = parsed.value("-E", "--expiredate") == "0"
    return [context.act("remove_user", parsed.operands[0])] if expired and parsed.operands else []


def _gpasswd(args: list[str], context: _Context) -> list[Action]:
    user = _parse(args, "adMAQ", ("add", "delete", "members")).value("-d", "--delete")
    return [context.act("remove_user", user)] if user else []


# -- services --------------------------------------------------------------------------

_SYSTEMCTL_STOPS = frozenset({"stop", "disable", "mask", "kill"})


def _systemctl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(
        args, "HMstpno", ("host", "machine", "signal", "type", "property", "kill-whom", "root")
    )
    operands = parsed.operands
    if len(operands) < 2 or operands[0] not in _SYSTEMCTL_STOPS:
        return []
    remote = parsed.value("-H", "--host")
    host = _ssh_host(remote) if remote else context.host
    return [context.act("stop_service", unit, host=host) for unit in operands[1:]]


def _service(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args).operands
    if len(operands) >= 2 and operands[1] in ("stop", "disable"):
        return [context.act("stop_service", operands[0])]
    return []


def _supervisorctl(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "cs", ("configuration", "serverurl")).operands
    return _each("stop_service", context, operands[1:]) if operands[:1] == ["stop"] else []


def _killer(short_values: str, long_values: Iterable[str] = ()) -> Handler:
    """kill, pkill, killall: targets are pids or names as given; signals skipped."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        if "-l" in args or "-L" in args:
            return []
        unsignalled = [a for a in args if not _SIGNAL.match(a)]
        targets = _parse(unsignalled, short_values, long_values).operands
        return _each("stop_service", context, targets)

    return handler


_FILTERS = frozenset({"grep", "egrep", "sed", "awk", "gawk", "perl", "cut", "head", "tail"})


def _crontab_install(args: list[str], context: _Context) -> list[Action]:
    """crontab -r removes every job; `crontab file`, `crontab -e`, and `crontab -` fed
    the old table through a filter (`crontab -l | grep -v shutdown | crontab -`) replace
    them, a shutdown job among them. A table given as literal text (`echo '0 3 * * * job'
    | crontab -`) is read as written."""
    parsed = _parse(args, "u", ("user",))
    if parsed.has("-r"):
        return [context.act("stop_service", "crontab")]
    if parsed.operands[:1] == ["-"] and context.piped is not None:
        upstream = context.upstream.words[:1] if context.upstream is not None else []
        if not (upstream and _program(upstream[0]) in _FILTERS):
            return []
    if parsed.operands or parsed.has("-e"):
        return [context.act("write", "crontab", text=context.command.text)]
    return []


OUTBOUND = "outbound-network"
"""The service a rule dropping outbound traffic stops: whatever reports from this host
(heartbeats, monitors)."""
_DROPS = frozenset({"DROP", "REJECT", "drop", "reject", "deny", "DENY", "blackhole"})
_FIREWALL_HOST = re.compile(r"^(?:-d|--destination|--dst|daddr|to|-s|--source|saddr|from)$")


def _firewall(args: list[str], context: _Context) -> list[Action]:
    """iptables, ip6tables, nft, ufw, route: a rule that drops or rejects traffic to a
    host cuts it off (a monitor, a heartbeat endpoint): a stop of what runs there."""
    if not _DROPS.intersection(args):
        return []
    hosts = [args[i + 1] for i, a in enumerate(args[:-1]) if _FIREWALL_HOST.match(a)]
    outbound = {"OUTPUT", "output", "out"}.intersection(args)
    targets = hosts + [OUTBOUND] * bool(outbound or not hosts)
    return [context.act("stop_service", target, host=context.host) for target in targets]
