"""Policy files: a reason template the guard could not fill is an error when loading."""

import pytest

from offswitch.guard.engine import Guard
from offswitch.guard.policy import PolicyError, parse_policy

POLICY = """
rules:
  - id: weights-copy
    kind: exfiltration
    decision: block
    reason: {reason}
    when: {{verbs: [copy], assets: [weights]}}
"""


@pytest.mark.parametrize("reason", ['"{"', '"{0}"', '"{}"', '"{target.upper}"', '"{target:q}"'])
def test_a_reason_the_guard_cannot_fill_is_an_error_naming_the_rule(reason: str) -> None:
    with pytest.raises(PolicyError, match=r"rules\.0: .*rule 'weights-copy': reason .* template"):
        parse_policy(POLICY.format(reason=reason), "p.yaml")


@pytest.mark.parametrize("reason", ['"copies {target} to {host!r}"', '"{target:>8} {nothing}"'])
def test_named_fields_conversions_and_specs_load(reason: str) -> None:
    assert Guard(parse_policy(POLICY.format(reason=reason), "p.yaml"))
