"""The two personas every rule is built from."""

from oslo_policy import policy

ADMIN = 'rule:livemig_admin'
READER = 'rule:livemig_reader'
#: the scope of every rule: plans concern the whole cloud, and a
#: project-scoped token with the role is what operators hold
SCOPES = ['project']

RULES = [
    policy.RuleDefault(
        'livemig_admin', 'role:admin',
        description='An administrator: may change what the conductor '
                    'does (create, execute, abort, delete plans; refit).'),
    policy.RuleDefault(
        'livemig_reader', 'role:reader or role:admin',
        description='A reader: may look at plans, steps, the snapshot, '
                    'the history, the calibration and the schedule.'),
]


def rule(name, check, method, path, description):
    """A documented rule of one operation, of :data:`SCOPES`."""
    return policy.DocumentedRuleDefault(
        name, check, description, [{'method': method, 'path': path}],
        scope_types=SCOPES)


def list_rules():
    return RULES
