"""The one exception hierarchy of nova-livemig.

Every error a user can cause names the field, the value and what is allowed,
so that a command can print it and exit non-zero without a traceback.
"""


class LivemigError(Exception):
    """Base class of every error nova-livemig raises on purpose."""

    #: Exit status a command returns when this error reaches it.
    exit_code = 2


class InvalidInput(LivemigError):
    """A value given by a user or another program is not allowed.

    :param field: where the value sits (a JSON path, an option or an
        argument name)
    :param value: the offending value
    :param allowed: what would have been accepted, in words
    """

    def __init__(self, field, value, allowed):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f'{field}: got {value!r}; allowed: {allowed}')


class InvalidSnapshot(LivemigError):
    """A document (a cluster snapshot, a history file, a calibration)
    failed validation.

    :param errors: list of :class:`InvalidInput`, all problems found
    :param what: what the document is, for the message
    """

    def __init__(self, errors, what='snapshot'):
        self.errors = list(errors)
        lines = '\n'.join(f'  {e}' for e in self.errors)
        super().__init__(
            f'invalid {what} ({len(self.errors)} error(s)):\n{lines}')


class NotFound(LivemigError):
    """A named object (host, VM, plan, policy, algorithm) does not exist."""

    def __init__(self, kind, name, known=None):
        self.kind = kind
        self.name = name
        hint = ''
        if known is not None:
            known = sorted(known)
            shown = ', '.join(known[:10]) + (', ...' if len(known) > 10
                                             else '')
            hint = f'; known: {shown}' if known else '; none are known'
        super().__init__(f'unknown {kind} {name!r}{hint}')


class PluginLoadError(LivemigError):
    """A stevedore plugin could not be found or loaded."""

    def __init__(self, namespace, name, reason):
        self.namespace = namespace
        self.name = name
        super().__init__(
            f'cannot load {name!r} from {namespace}: {reason}')


class InvalidPlan(LivemigError):
    """A plan does not fit the snapshot it is applied to."""


class MigrationFailed(LivemigError):
    """A migration did not complete; the VM stays on its source."""

    exit_code = 1


class StepRefused(MigrationFailed):
    """The executor refused a step before anything started (Nova's HTTP
    400 or 409, an agent that will not take it): the VM did not move and
    sending the same step again would be refused again."""
