"""The LLM judge: answers what the deterministic detectors cannot decide.

`judge_transcript` asks the grader model about one episode; `judged` fills its answers
into the detectors' findings, before `offswitch.detect.derive` derives what follows.
Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "JudgeContext": "offswitch.judge.prompt",
    "JudgeResult": "offswitch.judge.judge",
    "MalformedVerdict": "offswitch.judge.judge",
    "judge_settings": "offswitch.judge.judge",
    "judge_transcript": "offswitch.judge.judge",
    "parse_verdict": "offswitch.judge.judge",
    "JudgeSettings": "offswitch.judge.verdict",
    "Verdict": "offswitch.judge.verdict",
    "judge_context": "offswitch.judge.merge",
    "judged": "offswitch.judge.merge",
    "render_transcript": "offswitch.judge.transcript",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
