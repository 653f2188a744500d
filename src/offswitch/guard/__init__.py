"""The runtime guard: a policy engine that judges an agent's tool calls before they run.

Its parts: the policy (`load_policy`), the engine (`Guard`, `GuardSession`, `Decision`),
the shell reader (`guard.shell`), the Inspect approver (`guard`), the hash-chained audit
log (`AuditLog`, `verify`), transcript scans (`scan_path`), the LLM monitor, the proxy
(`guard.proxy`) and the bench (`guard.bench`). The guard depends on nothing above
`offswitch.world`; importing this package is cheap, each name loading on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    **dict.fromkeys(
        ("Policy", "PolicyError", "load_policy", "parse_policy"), "offswitch.guard.policy"
    ),
    **dict.fromkeys(("Decision", "Guard", "GuardSession"), "offswitch.guard.engine"),
    **dict.fromkeys(
        ("AuditEntry", "AuditError", "AuditLog", "entries", "verify"), "offswitch.guard.audit"
    ),
    **dict.fromkeys(("ScanReport", "scan_path"), "offswitch.guard.scan"),
    **dict.fromkeys(("GuardRecord", "load_record"), "offswitch.guard.record"),
    "guard": "offswitch.guard.approver",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
