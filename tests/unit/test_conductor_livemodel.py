"""The live model: reports in, a snapshot out; stale hosts; publishing."""

import json
import os

import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import model
from nova_livemig.conductor import livemodel
from tests.unit import conductor_fixtures as cf


def report(name, vms, at, state='up'):
    return {'host': cf.host(name, state), 'vms': vms, 'measured_at': at,
            'driver': 'fake', 'migration_uri': f'fake://{name}'}


@pytest.fixture
def live(clock):
    """A live model (hosts down after 30 s without a report) on the test
    clock, at 100 s."""
    return livemodel.LiveModel(30, clock=clock)


def test_no_reports_is_a_clear_error():
    with pytest.raises(exception.InvalidInput, match='agent report'):
        livemodel.LiveModel(30).snapshot()


def test_snapshot_from_reports_and_stale_hosts_go_down(live, clock):
    live.update(report('a', [cf.vm('v1')], 100.0))
    clock.now = 120.0
    live.update(report('b', [], 120.0))
    snap = live.snapshot()
    assert snap.vms['v1'].host == 'a'
    assert {h.name: h.state for h in snap.hosts.values()} == {
        'a': 'up', 'b': 'up'}
    clock.now = 131.0
    snap = live.snapshot()
    assert snap.hosts['a'].state == 'down' and snap.vms['v1'].host == 'a'
    assert live.hosts_up() == {'b'}
    assert not live.is_fresh('a') and live.is_fresh('b')


def test_completed_move_wins_over_older_reports(live):
    live.update(report('a', [cf.vm('v1')], 100.0))
    live.update(report('b', [], 100.0))
    live.vm_moved('v1', 'b', at=101.0)
    assert live.snapshot().vms['v1'].host == 'b'
    # a newer report is the truth again
    live.update(report('a', [cf.vm('v1')], 102.0))
    assert live.snapshot().vms['v1'].host == 'a'


def test_vm_in_two_reports_is_where_the_newest_says(live):
    live.update(report('a', [cf.vm('v1')], 90.0))
    live.update(report('b', [cf.vm('v1')], 95.0))
    assert live.snapshot().vms['v1'].host == 'b'
    assert not live.update(report('b', [], 80.0))  # older: ignored


def test_garbled_report_is_rejected_and_changes_nothing(live):
    live.update(report('a', [cf.vm('v1')], 100.0))
    bad = report('a', [dict(cf.vm('v1'), memory_mib=-5)], 101.0)
    with pytest.raises(exception.InvalidInput, match='memory_mib'):
        live.update(bad)
    assert live.snapshot().vms['v1'].memory_mib == 2048


def test_topology_network_is_used_and_unknown_hosts_hang_off_a_switch(
        clock):
    topo = model.from_primitive({
        'version': 1, 'hosts': [cf.host('a'), cf.host('b')], 'vms': [],
        'network': {'switches': ['tor'], 'links': [
            {'a': 'a', 'b': 'tor', 'gbit_s': 25.0},
            {'a': 'b', 'b': 'tor', 'gbit_s': 25.0}]}})
    live = livemodel.LiveModel(30, topology=topo, default_link_gbit_s=1.0,
                               clock=clock)
    for name in ('a', 'c'):
        live.update(report(name, [], 100.0))
    snap = live.snapshot()
    links = {lk.key: lk.gbit_s for lk in snap.links}
    assert links[('a', 'tor')] == 25.0 and ('b', 'tor') not in links
    assert links[('c', livemodel.SWITCH)] == 1.0


def test_publish_is_atomic_and_readable(live, tmp_path):
    live.update(report('a', [cf.vm('v1')], 100.0))
    path = tmp_path / 'pub' / 'snapshot.json'
    live.publish(str(path))
    assert model.load(str(path)).vms['v1'].host == 'a'
    assert os.listdir(path.parent) == ['snapshot.json']  # no temp left
    json.loads(path.read_text())


def test_moved_vm_stays_accounted_for_when_its_host_goes_quiet(live):
    live.update(report('a', [cf.vm('v1')], 100.0))
    live.update(report('b', [], 100.0))
    live.vm_moved('v1', 'b', at=101.0)
    live.update(report('a', [], 102.0))  # a no longer has it; b is silent
    assert live.snapshot().vms['v1'].host == 'b'


def test_after_an_outage_hosts_get_time_to_report_again(live, clock):
    live.update(report('a', [], 100.0))
    live.update(report('b', [], 100.0))
    clock.now = 200.0  # nothing came for 100 s: an outage
    assert not live.any_fresh()
    live.update(report('a', [], 200.0))  # the first report after it
    assert live.any_fresh() and live.is_fresh('b')
    assert live.snapshot().hosts['b'].state == 'up'
    clock.now = 215.0
    live.update(report('a', [], 215.0))
    clock.now = 231.0  # b had its report_max_age_s: now it is down
    live.update(report('a', [], 231.0))
    assert not live.is_fresh('b')
    assert live.snapshot().hosts['b'].state == 'down'


def test_dirty_rate_samples_reach_the_planners_snapshot(live, tmp_path):
    samples = [{'window_s': 1, 'mib_s': 58.75},
               {'window_s': 1, 'mib_s': 58.0},
               {'window_s': 3, 'mib_s': 21.3}]
    vm = dict(cf.vm('v1'), host='a', dirty_rate_samples=samples)
    wire = json.loads(json.dumps(messages.HostReport.from_primitive(
        report('a', [vm], 100.0)).to_primitive()))
    live.update(messages.HostReport.from_primitive(wire))
    live.update(report('b', [], 100.0))
    want = ((1.0, 58.75), (1.0, 58.0), (3.0, 21.3))
    assert live.snapshot().vms['v1'].dirty_rate_samples == want
    # in the file the weigher reads, and after a move the conductor saw
    live.vm_moved('v1', 'b', at=101.0)
    path = tmp_path / 'snap.json'
    live.publish(str(path))
    published = model.load(str(path)).vms['v1']
    assert published.host == 'b'
    assert published.dirty_rate_samples == want
