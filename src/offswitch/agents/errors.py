"""Errors of the reference personas."""


class PersonaConfigError(ValueError):
    """An unknown persona, an invalid model argument or an invalid rate table."""


class PersonaError(RuntimeError):
    """A persona met a conversation or a tool result it cannot act on."""
