"""Resident memory learnt from a VM's own migrations: the pure function
and the live model that gives it to VMs whose reports have none."""

import copy

from nova_livemig.conductor import livemodel
from nova_livemig.history import record
from nova_livemig.history import resident
from tests import fixtures
from tests.unit import conductor_fixtures as cf

MIB_PAGES = 256  # 4 KiB pages per MiB


def rec(vm, finished_at, zero_mib, memory_mib=2048, completed=True):
    data = copy.deepcopy(record.EXAMPLE)
    data.update(vm=vm, finished_at=finished_at)
    data['before']['memory_mib'] = memory_mib
    data['after'].update(
        completed=completed, aborted=False,
        zero_pages=None if zero_mib is None else int(zero_mib * MIB_PAGES))
    return record.from_primitive(data)


def test_latest_completed_record_with_page_counts_wins():
    records = [rec('v1', 30.0, 1024), rec('v1', 10.0, 512),
               rec('v1', 40.0, 100, completed=False),  # failed: no word
               rec('v1', 50.0, None),                  # no page counts
               rec('v2', 5.0, 2000), rec('v3', 5.0, None)]
    assert resident.latest_resident_mib(records) == {'v1': 1024.0,
                                                     'v2': 48.0}
    # order of the list does not matter, finished_at does
    assert resident.latest_resident_mib(records[::-1]) == {'v1': 1024.0,
                                                           'v2': 48.0}


def test_a_guest_all_zero_pages_says_nothing():
    assert resident.latest_resident_mib([rec('v1', 1.0, 2048)]) == {}
    assert resident.latest_resident_mib([]) == {}


def _live():
    clock = fixtures.Clock(1000.0)
    live = livemodel.LiveModel(30, clock=clock)
    vms = [dict(cf.vm('v1'), host='a'),
           dict(cf.vm('v2'), host='a', resident_mib=300.0),
           dict(cf.vm('v3', memory_mib=1024), host='a')]
    live.update({'host': cf.host('a'), 'vms': vms, 'measured_at': 1000.0,
                 'driver': 'fake', 'migration_uri': None})
    live.update({'host': cf.host('b'), 'vms': [], 'measured_at': 1000.0,
                 'driver': 'fake', 'migration_uri': None})
    return live


def test_live_model_fills_resident_memory_only_where_missing():
    live = _live()
    assert live.snapshot().vms['v1'].resident_mib is None
    # v3 was resized down since: its figure is cut to its memory
    live.learn(rec('v1', 10.0, 1536), rec('v2', 10.0, 1024),
               rec('v3', 10.0, 0, memory_mib=4096))
    snap = live.snapshot()
    assert snap.vms['v1'].resident_mib == 512.0
    assert snap.vms['v2'].resident_mib == 300.0  # measured: kept
    assert snap.vms['v3'].resident_mib == 1024
    # a later migration tells more
    live.learn(rec('v1', 20.0, 1024))
    assert live.snapshot().vms['v1'].resident_mib == 1024.0
    # ... and an older one, learnt later, does not undo it
    live.learn(rec('v1', 5.0, 2000))
    assert live.snapshot().vms['v1'].resident_mib == 1024.0


def test_live_model_follows_moved_vms():
    live = _live()
    live.learn(rec('v1', 10.0, 1536))
    live.vm_moved('v1', 'b', at=1001.0)  # after the last report
    vm = live.snapshot().vms['v1']
    assert (vm.host, vm.resident_mib) == ('b', 512.0)


def test_with_resident_never_sets_zero():
    vm = {'id': 'v', 'memory_mib': 512}
    assert livemodel.with_resident(vm, 0.0) == vm
    assert livemodel.with_resident(vm, 128.0)['resident_mib'] == 128.0
