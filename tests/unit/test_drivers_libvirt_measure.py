"""The libvirt driver's measurement with libvirt's objects stubbed: every
guest sampled at once, window by window, short windows then the long one,
and the VM entries carrying every window as ``dirty_rate_samples``."""

import json
import types

import pytest

from nova_livemig import conf as conf_mod
from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import messages

libvirt = pytest.importorskip('libvirt')


@pytest.fixture
def lvd(monkeypatch):
    from nova_livemig.drivers import libvirt as module
    monkeypatch.setattr(module, 'start_event_loop', lambda: None)
    return module


def _conf(**libvirt_opts):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig', default_config_files=[])
    conf.set_override('host', 'node1', 'agent')
    conf.set_override('live_migration_with_native_tls', False, 'libvirt')
    conf.set_override('vm_id', 'name', 'libvirt')
    for key, value in libvirt_opts.items():
        conf.set_override(key, value, 'libvirt')
    return conf


class Dom:
    """A running guest dirtying ``rate_mib_s`` over ``wws_mib``."""

    def __init__(self, name, events, rate_mib_s, wws_mib):
        self._name, self.events = name, events
        self.rate_mib_s, self.wws_mib = rate_mib_s, wws_mib
        self.window_s = None

    def name(self):
        return self._name

    def state(self):
        return (libvirt.VIR_DOMAIN_RUNNING, 1)

    def info(self):
        return (1, 512 * 1024, 512 * 1024, 1, 0)

    def startDirtyRateCalc(self, window_s, flags):
        self.events.append(('start', self._name, window_s))
        self.window_s = window_s


class Conn:
    def __init__(self, doms):
        self.doms = doms

    def getInfo(self):
        return ['x86_64', 15872, 8]

    def listAllDomains(self, flags):
        return self.doms

    def getCPUStats(self, cpu):
        return {'kernel': 0, 'user': 0, 'idle': 1, 'iowait': 0}

    def domainListGetStats(self, doms, flags):
        assert flags == libvirt.VIR_DOMAIN_STATS_DIRTYRATE
        return [(d, {'dirtyrate.calc_status': 2,
                     'dirtyrate.megabytes_per_second': round(
                         dirtyrate.window_rate_mib_s(
                             d.rate_mib_s, d.wws_mib, d.window_s))})
                for d in doms]


class Qemu:
    """``libvirt_qemu``: the monitor of each :class:`Dom`."""

    def __init__(self, events, refuse=()):
        self.events, self.refuse = events, refuse

    def qemuMonitorCommand(self, dom, command, flags):
        cmd = json.loads(command)
        if dom.name() in self.refuse:
            raise libvirt.libvirtError('unknown command calc-time-unit')
        if cmd['execute'] == 'calc-dirty-rate':
            args = cmd['arguments']
            assert args['calc-time-unit'] == 'millisecond'
            self.events.append(('qmp', dom.name(), args['calc-time'],
                                args['sample-pages']))
            dom.window_s = args['calc-time'] / 1000.0
            return '{"return": {}}'
        assert cmd['execute'] == 'query-dirty-rate'
        return json.dumps({'return': {
            'status': 'measured', 'calc-time': dom.window_s * 1000,
            'dirty-rate': round(dirtyrate.window_rate_mib_s(
                dom.rate_mib_s, dom.wws_mib, dom.window_s))}})


def _measure(lvd, monkeypatch, refuse=(), **opts):
    events = []
    doms = [Dom('busy', events, 160.0, 64.0),
            Dom('calm', events, 10.0, 400.0)]
    monkeypatch.setattr(lvd, 'libvirt_qemu', Qemu(events, refuse))
    monkeypatch.setattr(lvd, 'time', types.SimpleNamespace(
        monotonic=lambda: 0.0,
        sleep=lambda s: events.append(('sleep', s))))
    driver = lvd.LibvirtDriver(_conf(**opts))
    driver._conn = types.SimpleNamespace(isAlive=lambda: True)
    monkeypatch.setattr(driver, '_connection', lambda: Conn(doms))
    host, vms = driver.measure()
    return host, {v['id']: v for v in vms}, events


def test_all_guests_sampled_at_once_short_windows_then_the_long(
        lvd, monkeypatch):
    _host, vms, events = _measure(lvd, monkeypatch)
    starts = [e for e in events if e[0] == 'start']
    # both guests started before each window's wait: one wait per window
    assert [e for e in events if e[0] == 'sleep'] == [
        ('sleep', 1), ('sleep', 1), ('sleep', 1), ('sleep', 3)]
    for i, window_s in enumerate((1, 1, 1, 3)):
        assert {e[1] for e in starts[2 * i:2 * i + 2]} == {'busy', 'calm'}
        assert {e[2] for e in starts[2 * i:2 * i + 2]} == {window_s}
    busy = vms['busy']
    assert [s['window_s'] for s in busy['dirty_rate_samples']] == \
        [1.0, 1.0, 1.0, 3.0]
    # the mean and spread are the short windows' alone
    assert busy['dirty_rate_mib_s'] == 59.0
    assert busy['dirty_rate_err_mib_s'] == 0.0
    assert busy['dirty_rate_samples'][-1]['mib_s'] == 21.0


def test_the_report_shows_the_busy_guests_working_set(lvd, monkeypatch):
    host, vms, _events = _measure(lvd, monkeypatch)
    report = messages.HostReport.from_primitive({
        'host': host, 'vms': list(vms.values()), 'measured_at': 1.0,
        'driver': 'libvirt', 'migration_uri': None})
    samples = {v['id']: tuple((s['window_s'], s['mib_s'])
                              for s in v['dirty_rate_samples'])
               for v in report.vms}
    busy = dirtyrate.estimate(samples['busy'])
    assert busy.wws_mib == pytest.approx(64.0, rel=0.05)
    assert busy.rate_mib_s > 100.0  # far above the 59 the windows read
    # a calm guest over a large set: no saturation, no working set
    assert dirtyrate.estimate(samples['calm']).wws_mib is None


def test_short_windows_through_the_monitor_tell_the_true_rate(
        lvd, monkeypatch):
    _host, vms, events = _measure(lvd, monkeypatch,
                                  dirty_rate_short_window_ms=250,
                                  dirty_rate_sample_pages=4096)
    qmp = [e for e in events if e[0] == 'qmp']
    # three quarter-second windows of both guests, then libvirt's
    assert [e[2:] for e in qmp] == [(250, 4096)] * 6
    assert events.index(qmp[-1]) < events.index(
        next(e for e in events if e[0] == 'start'))
    busy = vms['busy']
    assert [s['window_s'] for s in busy['dirty_rate_samples']] == \
        [0.25] * 3 + [1.0] * 3 + [3.0]
    # the reported rate is the shortest windows' mean: 160 MiB/s over
    # 64 MiB reads 119 on a quarter second, 59 on a second
    assert busy['dirty_rate_mib_s'] == 119.0
    est = dirtyrate.estimate(tuple((s['window_s'], s['mib_s'])
                                   for s in busy['dirty_rate_samples']))
    assert est.rate_mib_s == pytest.approx(160.0, rel=0.1)
    assert est.wws_mib == pytest.approx(64.0, rel=0.1)


def test_a_qemu_without_millisecond_windows_keeps_libvirts(
        lvd, monkeypatch):
    _host, vms, _events = _measure(lvd, monkeypatch, refuse=('busy',),
                                   dirty_rate_short_window_ms=250)
    assert [s['window_s'] for s in vms['busy']['dirty_rate_samples']] == \
        [1.0] * 3 + [3.0]
    assert [s['window_s'] for s in vms['calm']['dirty_rate_samples']] == \
        [0.25] * 3 + [1.0] * 3 + [3.0]


def test_no_long_window(lvd, monkeypatch):
    _host, vms, events = _measure(lvd, monkeypatch,
                                  dirty_rate_long_window_s=0,
                                  dirty_rate_windows=2)
    assert [e for e in events if e[0] == 'sleep'] == [('sleep', 1)] * 2
    assert [s['window_s'] for s in vms['busy']['dirty_rate_samples']] == \
        [1.0, 1.0]


def test_a_long_window_not_longer_than_the_short_is_refused(lvd):
    with pytest.raises(exception.InvalidInput) as info:
        lvd.LibvirtDriver(_conf(dirty_rate_window_s=3))
    assert info.value.field == '[libvirt] dirty_rate_long_window_s'


def test_the_options(lvd):
    conf = _conf()
    assert conf.libvirt.dirty_rate_long_window_s == 3
    assert conf.libvirt.dirty_rate_windows == 3
    conf.set_override('dirty_rate_long_window_s', 0, 'libvirt')
    assert conf.libvirt.dirty_rate_long_window_s == 0
    for key, bad in (('dirty_rate_long_window_s', 61),
                     ('dirty_rate_long_window_s', -1),
                     ('dirty_rate_windows', 32)):
        with pytest.raises(ValueError):
            conf.set_override(key, bad, 'libvirt')
    # the most windows a measurement takes fit in one report
    opts = {o.name: o for o in conf_mod.libvirt.OPTS}
    # short windows, as many 1 s ones and the long one
    assert (2 * opts['dirty_rate_windows'].type.max + 1
            <= dirtyrate.MAX_SAMPLES)
