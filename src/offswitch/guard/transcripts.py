"""Transcripts on disk as trajectories: OpenAI chat transcripts and Inspect logs.

`read_trajectories` reads a file or a directory and yields one `Trajectory` per
transcript. What it cannot read becomes a `ReadProblem` naming the place and the
reason, and reading goes on with the rest: one bad line must not hide the other
transcripts of a file from an audit.

A tool call whose arguments cannot be decoded is kept, with the raw text under
`UNREADABLE_ARGUMENTS` as its only argument (and a problem reported), so that a
scan can judge it as unreadable instead of as a call without arguments.

A transcript's id is its own `id` when it has one, else its place: `file:line` in
JSONL, `file#index` in a JSON list of transcripts, the file for a JSON file holding
one transcript; an Inspect sample's id is `task/sample id/epoch`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from offswitch.guard.calls import (
    NO_NAME,
    UNREADABLE_ARGUMENTS,
    assistant_calls,
)
from offswitch.guard.trajectory import Trajectory, TrajectoryCall
from offswitch.messages import Call, Turn, conversation

if TYPE_CHECKING:
    from inspect_ai.log import EvalSample

TASK_LIMIT = 2000
"""Characters of a transcript's opening messages kept as the trajectory's task."""
INSPECT_LOG_SUFFIX = ".eval"
JSON_SUFFIX = ".json"
JSONL_SUFFIXES = (".jsonl", ".ndjson")
DIRECTORY_SUFFIXES = (INSPECT_LOG_SUFFIX, JSON_SUFFIX, *JSONL_SUFFIXES)
"""The files read from a directory; other files there are left alone."""


class ReadProblem(BaseModel):
    """Input that could not be read, or only in part."""

    source: str
    """Where: `file:line`, `file#index`, a file, or an Inspect log and sample."""
    message: str


Read = Trajectory | ReadProblem


def read_trajectories(path: Path) -> Iterator[Read]:
    """Every transcript in a file, or in every transcript file under a directory.

    Raises FileNotFoundError for a path that does not exist; any other trouble is
    yielded as a `ReadProblem`.
    """
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if path.is_dir():
        yield from _read_directory(path)
    else:
        yield from _read_file(path)


def unreadable_arguments(call: TrajectoryCall) -> str | None:
    """The raw arguments of a call they could not be decoded from, else None."""
    if set(call.arguments) != {UNREADABLE_ARGUMENTS}:
        return None
    return str(call.arguments[UNREADABLE_ARGUMENTS])


# -- files ---------------------------------------------------------------------------


def _read_directory(folder: Path) -> Iterator[Read]:
    for file in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in file.relative_to(folder).parts)
        if file.is_file() and not hidden and file.suffix.lower() in DIRECTORY_SUFFIXES:
            yield from _read_file(file)


def _read_file(file: Path) -> Iterator[Read]:
    suffix = file.suffix.lower()
    if suffix == INSPECT_LOG_SUFFIX:
        yield from _read_inspect_log(file)
        return
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        yield ReadProblem(source=str(file), message=f"cannot read the file: {error}")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(file, text)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if suffix == JSON_SUFFIX:
            yield ReadProblem(source=str(file), message=f"not valid JSON: {_json_error(error)}")
        else:
            yield from _read_jsonl(file, text)
        return
    if isinstance(data, dict) and "eval" in data and "messages" not in data:
        yield from _read_inspect_log(file)
    else:
        yield from _read_chat_json(file, data)


def _json_error(error: json.JSONDecodeError) -> str:
    return f"{error.msg} (line {error.lineno}, column {error.colno})"


def _read_jsonl(file: Path, text: str) -> Iterator[Read]:
    """One transcript per line; blank lines are skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        place = f"{file}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            yield ReadProblem(
                source=place, message=f"not valid JSON: {error.msg} (column {error.colno})"
            )
            continue
        yield from _chat_transcript(data, place)


def _read_chat_json(file: Path, data: Any) -> Iterator[Read]:
    """A transcript object, a bare list of messages, or a list of transcripts."""
    if isinstance(data, list) and data and not all(_is_message(item) for item in data):
        for index, item in enumerate(data):
            yield from _chat_transcript(item, f"{file}#{index}")
    elif data != []:
        yield from _chat_transcript(data, str(file))


# -- OpenAI chat transcripts -------------------------------------------------------------


def _is_message(item: Any) -> bool:
    return isinstance(item, dict) and "role" in item


def _chat_transcript(data: Any, place: str) -> Iterator[Read]:
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        given = data.get("id")
        trajectory_id = place if given is None else str(given)
        yield from _chat_trajectory(data["messages"], trajectory_id, place)
    elif isinstance(data, list):
        yield from _chat_trajectory(data, place, place)
    else:
        yield ReadProblem(
            source=place,
            message="not a transcript: expected an object with `messages` or a list of messages",
        )


def _chat_trajectory(messages: list[Any], trajectory_id: str, place: str) -> Iterator[Read]:
    calls: list[TrajectoryCall] = []
    problems: list[ReadProblem] = []
    for position, message in enumerate(messages, start=1):
        where = f"message {position}"
        if not isinstance(message, dict):
            problems.append(ReadProblem(source=place, message=f"{where} is not an object; skipped"))
            continue
        role = message.get("role")
        if role == "assistant":
            calls.extend(_assistant_calls(message, where, place, problems))
        elif role == "tool":
            _attach(calls, message.get("tool_call_id"), _text(message.get("content")))
        elif role == "function":
            _attach_legacy(calls, message.get("name"), _text(message.get("content")))
    task = _task((m.get("role"), _text(m.get("content"))) for m in messages if isinstance(m, dict))
    yield Trajectory(id=trajectory_id, source=place, task=task, calls=calls)
    yield from problems


def _assistant_calls(
    message: dict[str, Any], where: str, place: str, problems: list[ReadProblem]
) -> list[TrajectoryCall]:
    tool_calls = message.get("tool_calls")
    if tool_calls and not isinstance(tool_calls, list):
        problems.append(ReadProblem(source=place, message=f"{where}: tool_calls is not a list"))
    calls = []
    for call in assistant_calls(message):
        if call.name is None:
            what = "without a name" if call.problem == NO_NAME else "that is not a function call"
            problems.append(ReadProblem(source=place, message=f"{where}: a tool call {what}"))
            continue
        if call.problem is not None:
            why = f"{where}, call {call.id or call.name}: {call.problem}; judged as unreadable"
            problems.append(ReadProblem(source=place, message=why))
        calls.append(TrajectoryCall(function=call.name, arguments=call.arguments, id=call.id))
    return calls


def _attach(calls: list[TrajectoryCall], call_id: Any, result: str | None) -> None:
    for call in reversed(calls):
        if call.id is not None and call.id == _optional_str(call_id):
            call.result = result
            return


def _attach_legacy(calls: list[TrajectoryCall], name: Any, result: str | None) -> None:
    """A legacy `function` message answers the latest unanswered call of that name."""
    for call in reversed(calls):
        if call.id is None and call.result is None and call.function == name:
            call.result = result
            return


def _text(content: Any) -> str | None:
    """Message content as text: a string, text parts joined, or other JSON as JSON."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [_part_text(part) for part in content]
        return "\n".join(part for part in parts if part)
    return json.dumps(content)


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return part["text"]
    return None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _task(messages: Iterable[tuple[Any, str | None]]) -> str | None:
    """The system messages before the first user message, and that message."""
    opening = []
    for role, text in messages:
        if role in ("system", "developer", "user") and text:
            opening.append(text)
        if role == "user":
            break
    else:
        return None
    task = "\n\n".join(opening)
    return task if len(task) <= TASK_LIMIT else task[: TASK_LIMIT - 1] + "…"


# -- Inspect logs ---------------------------------------------------------------------


def _read_inspect_log(file: Path) -> Iterator[Read]:
    # Inspect is imported only here: the proxy reads chat transcripts alone and starts
    # without Inspect's model stack.
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(file, resolve_attachments=True)
    except Exception as error:  # Inspect fails in many ways on a damaged log; report any of them.
        yield ReadProblem(source=str(file), message=f"not a readable Inspect log: {error}")
        return
    if not log.samples:
        yield ReadProblem(
            source=str(file), message=f"the Inspect log holds no samples (run {log.status})"
        )
        return
    for sample in log.samples:
        yield from _inspect_trajectory(file, log.eval.task, sample)


def _inspect_trajectory(file: Path, task: str, sample: EvalSample) -> Iterator[Read]:
    place = f"{file}#{sample.id}/{sample.epoch}"
    steps = list(conversation(sample.messages))
    problems: list[ReadProblem] = []
    calls = [
        _inspect_call(call, place, problems)
        for step in steps
        if isinstance(step, Turn)
        for call in step.calls
    ]
    opening = _task((step.role, step.text) for step in steps)
    yield Trajectory(
        id=f"{task}/{sample.id}/{sample.epoch}", source=place, task=opening, calls=calls
    )
    yield from problems


def _inspect_call(call: Call, place: str, problems: list[ReadProblem]) -> TrajectoryCall:
    arguments = call.arguments
    if call.parse_error is not None:
        why = f"call {call.id}: {call.parse_error}; judged as unreadable"
        problems.append(ReadProblem(source=place, message=why))
        arguments = {UNREADABLE_ARGUMENTS: _raw_arguments(call)}
    result = None if call.answer is None else call.answer.text or call.answer.error
    return TrajectoryCall(function=call.function, arguments=arguments, id=call.id, result=result)


def _raw_arguments(call: Call) -> str:
    """What is left of arguments Inspect could not parse: any part it kept, else its error."""
    if call.arguments:
        return json.dumps(call.arguments, default=str)
    return call.parse_error or ""
