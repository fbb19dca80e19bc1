"""Hostile RPC messages are refused cleanly, by ``from_primitive`` and by
the real endpoints.

The corpus is :mod:`tests.hostile.messages`: every field of every message
with values its kind does not allow. ``from_primitive`` must raise
``InvalidInput`` naming the field, in a short printable message. A sample
goes through the conductor's and the agent's endpoints, signed by the
right agent (or the conductor) so that it passes the signature check and
reaches validation: each is refused with one short log line, changes
nothing and logs no traceback. A valid message through the same harness
does change the state: the checks can fail.
"""

import dataclasses
import logging

import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import signing
from nova_livemig.agent import manager as agent_mod
from tests.hostile import messages as corpus
from tests.unit import test_agent_signed as tas
from tests.unit import test_conductor_signed as tcs

CASES = corpus.cases()
BY_MESSAGE = {m: [c for c in CASES if c.message == m] for m in corpus.BASE}
#: every how-many-th case of a message goes through an endpoint too
STRIDE = 3


def _cls(case):
    return getattr(messages, case.message)


def test_the_corpus_is_hundreds_of_distinct_cases():
    assert len(CASES) >= 1000
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize('name', list(corpus.BASE))
def test_every_field_of_every_message_is_in_the_corpus(name):
    cls = getattr(messages, name)
    covered = {path[0] for m, path, *_ in corpus.FIELDS if m == name}
    assert covered == {f.name for f in dataclasses.fields(cls)}
    # and the base message is valid: each case differs from it in one way
    assert cls.from_primitive(corpus.BASE[name]).to_primitive()


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_from_primitive_refuses_naming_the_field(case):
    with pytest.raises(exception.InvalidInput) as info:
        _cls(case).from_primitive(case.data)
    err = info.value
    text = str(err)
    assert err.field.startswith(case.field), text[:300]
    assert len(text) < 1000, text[:300]
    assert text.isprintable(), text[:300]


def test_the_documented_maxima_are_accepted():
    vms = [dict(corpus.REPORT['vms'][0], id=f'v{i}')
           for i in range(messages.MAX_REPORT_VMS)]
    report = dict(corpus.REPORT, vms=vms)
    assert len(messages.HostReport.from_primitive(report).vms) == len(vms)
    name = 'n' * 255
    step = dict(corpus.STEP, plan_id=name, step_id=name, vm=name,
                deadline_s=float(messages.MAX_SECONDS))
    assert messages.MigrationStep.from_primitive(step).vm == name
    with pytest.raises(exception.InvalidInput) as info:
        messages.HostReport.from_primitive(dict(report, vms=vms + vms[:1]))
    assert info.value.field == 'HostReport.vms'
    assert str(messages.MAX_REPORT_VMS) in info.value.allowed


# Through the endpoints ------------------------------------------------------

def _signable(args):
    try:
        signing.canonical({}, args)
    except ValueError:  # NaN and infinity: no MAC covers them
        return False
    return True


def _no_traceback_one_short_line(caplog):
    assert not [r for r in caplog.records
                if r.levelno >= logging.ERROR and r.exc_info]
    lines = [r.getMessage() for r in caplog.records
             if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert len(lines[0]) < 1000 and lines[0].isprintable(), lines[0][:300]
    return lines[0]


class Conductor:
    """A conductor that takes unsigned casts (so NaN, which no signature
    covers, reaches validation too) but checks every signed one: host a
    runs v1 and v2, one step of a drain of a runs."""

    def __init__(self, tmp_path):
        self.ep = tcs._make(tmp_path, require_signed=False)
        self.step = tcs._running_step(self.ep)
        #: what the corpus' base names, and what it stands for here
        self.ids = {'p1-0': self.step['step_id'], 'v1': self.step['vm'],
                    'b': self.step['destination']}

    def state(self):
        row = self.ep.conductor.db.get_step(self.step['step_id'])
        return tcs._placement(self.ep), dict(row)

    def rebase(self, message, data):
        """The case's message about the running step (fields the case did
        not make hostile)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)  # the top level only: values may nest deeply
        if message == 'HostReport':
            if data.get('measured_at') == corpus.REPORT['measured_at']:
                data['measured_at'] = 1001.0  # newer than the last report
            return data
        for key in ('step_id', 'vm', 'host'):
            if key in data and isinstance(data[key], str) and \
                    data[key] in self.ids:
                data[key] = self.ids[data[key]]
        return data

    def send(self, message, data):
        method, arg = {
            'HostReport': ('report_measurements', 'report'),
            'Progress': ('migration_progress', 'progress'),
            'Result': ('migration_result', 'result')}[message]
        ctxt = {}
        if _signable({arg: data}):
            ctxt = tcs._signed('a', method, **{arg: data})
        getattr(self.ep, method)(ctxt, data)


@pytest.fixture(scope='module')
def conductor(tmp_path_factory):
    return Conductor(tmp_path_factory.mktemp('conductor'))


CONDUCTOR_CASES = [c for m in ('HostReport', 'Progress', 'Result')
                   for c in BY_MESSAGE[m][::STRIDE]]


@pytest.mark.parametrize('case', CONDUCTOR_CASES,
                         ids=[c.name for c in CONDUCTOR_CASES])
def test_the_conductor_refuses_and_changes_nothing(conductor, case, caplog):
    before = conductor.state()
    caplog.clear()
    conductor.send(case.message, conductor.rebase(case.message, case.data))
    assert conductor.state() == before
    line = _no_traceback_one_short_line(caplog)
    assert line.startswith(f'dropping a garbled {case.message}: '
                           f'{case.field}'), line[:300]


@pytest.mark.parametrize('message', ['Progress', 'HostReport', 'Result'])
def test_a_valid_message_through_the_same_harness_changes_the_state(
        tmp_path, message):
    conductor = Conductor(tmp_path)
    before = conductor.state()
    conductor.send(message, conductor.rebase(message,
                                             corpus.BASE[message]))
    assert conductor.state() != before


def _agent():
    stub = tas.StubAgent()
    verifier = signing.Verifier({'a': tas.KEY_A}.get, require_signed=False)
    return agent_mod.AgentEndpoint(stub, verifier), stub


AGENT_CASES = [pytest.param(method, case, id=f'{method}-{case.name}')
               for i, case in enumerate(BY_MESSAGE['MigrationStep'])
               if i % STRIDE == 0
               for method in ('live_migrate', 'tune_migration')]


@pytest.mark.parametrize('method, case', AGENT_CASES)
def test_the_agent_refuses_and_starts_nothing(method, case, caplog):
    endpoint, stub = _agent()
    args = {'step': case.data}
    ctxt = (tas._conductor_ctxt(method, args) if _signable(args) else {})
    getattr(endpoint, method)(ctxt, **args)
    assert stub.calls == []
    line = _no_traceback_one_short_line(caplog)
    assert line.startswith(f'{method} rejected: invalid step: '
                           f'{case.field}'), line[:300]


@pytest.mark.parametrize('method', ['live_migrate', 'tune_migration'])
def test_a_valid_step_through_the_same_harness_is_started(method):
    endpoint, stub = _agent()
    args = {'step': corpus.STEP}
    getattr(endpoint, method)(tas._conductor_ctxt(method, args), **args)
    assert stub.calls == [(method, 'p1-0')]
