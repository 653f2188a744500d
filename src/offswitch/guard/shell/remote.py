"""Handlers for programs that reach other hosts: copies (`scp`, `rsync`, `aws s3`,
`gsutil`, `rclone`, `docker cp`), uploads (`curl`, `wget`, `nc`), commands run there
(`ssh`, `docker exec`, `kubectl exec`), and stopping containers and pods (`docker stop`,
`kubectl delete`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.dispatch import (
    _Context,
    _each,
    _heredoc,
    _sends,
    _upstream_files,
    _writes,
)
from offswitch.guard.shell.words import (
    _SHELLS,
    _Args,
    _basename,
    _is_file,
    _names,
    _parse,
    _program,
    _ssh_host,
    _url_destination,
    _url_host,
)


def _scp(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "cDFiJloPSX").operands
    return _sends(context, operands[:-1], operands[-1]) if len(operands) > 1 else []


_RSYNC_VALUES = _names(
    "rsh exclude include filter port password-file bwlimit temp-dir backup-dir suffix chmod "
    "chown log-file files-from exclude-from include-from partial-dir compare-dest copy-dest "
    "link-dest block-size timeout max-size min-size remote-option info debug out-format "
    "rsync-path"
)


def _rsync(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "eBfMT", _RSYNC_VALUES)
    operands = parsed.operands
    if len(operands) < 2:
        return _each("list", context, operands)
    verb: Verb = "move" if parsed.has("--remove-source-files") else "copy"
    return _sends(context, operands[:-1], operands[-1], verb)


_SSH_VALUES = "BbcDEeFIiJLlmOoPpQRSWw"


def _ssh(args: list[str], context: _Context) -> list[Action]:
    """What runs on the host, plus anything piped into ssh, which leaves for the host.

    Like OpenSSH, options may follow the host too (`ssh db1 -p 22 -- cmd`).
    """
    operands = _parse(args, _SSH_VALUES, stop=True).operands
    if not operands:
        return []
    host = _ssh_host(operands[0])
    command = _parse(operands[1:], _SSH_VALUES, stop=True).operands
    remote = " ".join(command)
    actions = context.shell(remote, host) if remote.strip() else []
    body = _heredoc(context.command)
    runs_shell = not remote.strip() or _program(command[0]) in _SHELLS
    if body is not None and runs_shell:
        actions.extend(context.shell(body, host))
    written = next((a.target for a in actions if a.verb == "write" and a.host == host), None)
    for source in _upstream_files(context):
        destination = written or _basename(source)
        actions.append(
            context.act("transfer", source, destination=destination, destination_host=host)
        )
    return actions


_CURL_VALUES = "AbcCdDeEFHKmoPQrtTuUwxXyYz"
_CURL_LONG_VALUES = _names(
    "data data-binary data-raw data-ascii data-urlencode form form-string upload-file header "
    "request user user-agent referer cookie cookie-jar config max-time write-out proxy cert key "
    "output url connect-timeout retry retry-delay retry-max-time resolve cacert capath range "
    "limit-rate json output-dir oauth2-bearer aws-sigv4 variable interface max-filesize"
)
_FORM_FILE = re.compile(r"=\s*[@<]([^;]+)")


def _curl_uploads(parsed: _Args) -> list[str]:
    """Files curl sends: -T f, -F name=@f, -d @f, --data-binary @f; "-" is stdin."""
    files = parsed.values("-T", "--upload-file")
    for form in parsed.values("-F", "--form"):
        files += _FORM_FILE.findall(form)
    data = parsed.values("-d", "--data", "--data-binary", "--data-ascii", "--json")
    files += [value[1:] for value in data if value.startswith("@")]
    for value in parsed.values("--data-urlencode"):
        files += [value.partition("@")[2]] if "@" in value else []
    return files


def _curl(args: list[str], context: _Context) -> list[Action]:
    """Uploads are transfers; inline data is a message people may read (a report)."""
    parsed = _parse(args, _CURL_VALUES, _CURL_LONG_VALUES)
    urls = parsed.operands + parsed.values("--url")
    actions = _writes(context, parsed.values("-o", "--output"))
    data = parsed.values("-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json")
    message = "\n".join(value for value in data if not value.startswith("@"))
    if message:
        actions += [context.act("report", url, text=message) for url in urls]
    return actions + _uploads(context, _curl_uploads(parsed), urls)


def _uploads(context: _Context, files: list[str], urls: list[str]) -> list[Action]:
    """Transfers of `files` ("-": whatever is piped in) to each URL's host."""
    sources: list[str] = []
    for name in files:
        sources += _upstream_files(context) if name == "-" else [name]
    actions = []
    for url in urls:
        host = _url_host(url)
        for source in (s for s in sources if _is_file(s) and host):
            destination = _url_destination(url, source)
            actions.append(
                context.act("transfer", source, destination=destination, destination_host=host)
            )
    return actions


_WGET_LONG_VALUES = _names(
    "post-file body-file post-data body-data method header output-document user-agent user "
    "password output-file append-output tries timeout"
)


def _wget(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "OoaeUPtTwQlDIXARiB", _WGET_LONG_VALUES)
    uploads = parsed.values("--post-file", "--body-file")
    actions = _writes(context, parsed.values("-O", "--output-document"))
    return actions + _uploads(context, uploads, parsed.operands) + _pulls(context, parsed.operands)


def _pulls(context: _Context, urls: list[str]) -> list[Action]:
    """Downloads run on another host (`ssh vault 'wget http://10.0.0.1/w.gguf'`): that
    host fetches the file, a transfer to it. Downloads to this host are not modelled."""
    if context.host is None:
        return []
    pulls = []
    for url in urls:
        path = urlsplit(url if "://" in url else "http://" + url).path
        if path.strip("/"):
            pulls.append(
                context.act(
                    "transfer",
                    path.lstrip("/"),
                    host=_url_host(url),
                    destination=_basename(path),
                    destination_host=context.host,
                )
            )
    return pulls


def _netcat(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "pswiqXxIOTVMmec")
    if parsed.has("-l", "--listen") or not parsed.operands:
        return []
    return _sends(context, _upstream_files(context), parsed.operands[0] + ":")


_CLOUD_VALUES = _names(
    "profile region endpoint-url output exclude include acl storage-class sse sse-kms-key-id "
    "content-type cache-control expires grants page-size query ca-bundle cli-connect-timeout "
    "cli-read-timeout source-region bucket key body"
)


def _aws(args: list[str], context: _Context) -> list[Action]:
    """`aws s3 cp|mv|sync src dst`, and `aws s3api put-object --bucket b --body f`."""
    parsed = _parse(args, "", _CLOUD_VALUES)
    operands = parsed.operands
    if operands[:2] == ["s3api", "put-object"]:
        bucket, body = parsed.value("--bucket"), parsed.value("--body")
        if not (bucket and body):
            return []
        return _sends(context, [body], f"s3://{bucket}/{parsed.value('--key') or ''}")
    if operands[:1] != ["s3"] or len(operands) < 4 or operands[1] not in ("cp", "mv", "sync"):
        return []
    return _sends(context, [operands[2]], operands[3], directory=operands[1] == "sync")


def _gsutil(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "ohuajszx").operands
    if len(operands) < 3 or operands[0] not in ("cp", "mv", "rsync"):
        return []
    return _sends(context, operands[1:-1], operands[-1])


def _gcloud(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "", ("project", "account", "configuration"))
    if parsed.operands[:1] != ["storage"]:
        return []
    return _gsutil(parsed.operands[1:], context)


_RCLONE_VALUES = _names(
    "config transfers checkers include exclude filter bwlimit log-file log-level max-age "
    "min-age max-size min-size backup-dir suffix files-from exclude-from include-from "
    "filter-from"
)


def _rclone(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "", _RCLONE_VALUES).operands
    verbs = ("copy", "copyto", "sync", "move", "moveto")
    if len(operands) < 3 or operands[0] not in verbs:
        return []
    local_verb: Verb = "move" if operands[0].startswith("move") else "copy"
    return _sends(context, [operands[1]], operands[2], local_verb, directory=operands[0] == "copy")


def _docker(args: list[str], context: _Context) -> list[Action]:
    """Stopping or removing containers; `docker exec` runs in the container; `docker cp`."""
    operands = _parse(args, "Hc", ("host", "context", "config", "log-level"), stop=True).operands
    if operands[:1] == ["container"]:
        operands = operands[1:]
    if not operands:
        return []
    verb, rest = operands[0], operands[1:]
    if verb == "exec":
        inner = _parse(rest, "uewd", ("user", "env", "workdir", "env-file"), stop=True).operands
        return context.run(inner[1:], host=inner[0]) if len(inner) > 1 else []
    if verb == "cp":
        paths = _parse(rest).operands
        return _sends(context, paths[:1], paths[1]) if len(paths) == 2 else []
    if verb in ("stop", "rm", "kill", "pause"):
        targets = _parse(rest, "ts", ("time", "signal", "timeout")).operands
        return _each("stop_service", context, targets)
    return []


_KUBECTL_VALUES = _names(
    "namespace server context kubeconfig cluster user selector replicas filename output "
    "container timeout grace-period"
)


def _kubectl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "nslfoc", _KUBECTL_VALUES)
    operands = parsed.operands
    if operands[:1] == ["exec"] and len(operands) > 2:
        return context.run(operands[2:], host=operands[1])
    stops = operands[:1] == ["delete"] or (
        operands[:1] == ["scale"] and parsed.value("--replicas") == "0"
    )
    if not stops:
        return []
    names = operands[1:] if operands[1:2] and "/" in operands[1] else operands[2:]
    names += parsed.values("-l", "--selector", "-f", "--filename")
    return _each("stop_service", context, names or operands[1:2])


HUGGING_FACE = "huggingface.co"


def _huggingface(args: list[str], context: _Context) -> list[Action]:
    """`huggingface-cli upload REPO PATH [PATH_IN_REPO]` sends PATH to the Hub."""
    operands = _parse(args, "", _names("repo-type revision commit-message token")).operands
    if len(operands) < 3 or operands[0] != "upload":
        return []
    path = operands[2]
    return [context.act("transfer", path, destination=operands[1], destination_host=HUGGING_FACE)]


OLLAMA_MODEL = "ollama-model:"
"""Prefix of the names of models an ollama server keeps: they are weights."""


def _ollama(args: list[str], context: _Context) -> list[Action]:
    """`ollama push NAME` sends a model (weights) to the registry in its name; `ollama cp`
    copies it under a new name."""
    operands = _parse(args).operands
    if len(operands) >= 2 and operands[0] == "push":
        registry = operands[1].split("/", 1)[0] if "/" in operands[1] else "registry.ollama.ai"
        model = OLLAMA_MODEL + operands[1]
        return [context.act("transfer", model, destination=model, destination_host=registry)]
    if len(operands) >= 3 and operands[0] == "cp":
        source, copy = OLLAMA_MODEL + operands[1], OLLAMA_MODEL + operands[2]
        return [context.act("copy", source, destination=copy)]
    return []
