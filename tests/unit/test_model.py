"""Snapshot v1 validation: every error names the JSON path, the value and
what is allowed, and all of them are reported at once."""

import copy
import json

import pytest

from nova_livemig import exception
from nova_livemig import model


def valid():
    """Two racks of two hosts, a ToR each, joined by a spine."""
    return {
        'version': 1,
        'hosts': [
            {'name': 'h1', 'vcpus': 16, 'memory_mib': 65536,
             'aggregates': ['general']},
            {'name': 'h2', 'vcpus': 16, 'memory_mib': 65536,
             'cpu_allocation_ratio': 4.0, 'ram_allocation_ratio': 1.5,
             'state': 'maintenance', 'cpu_util': 0.4,
             'power_idle_w': 100.0, 'power_max_w': 300.0},
            {'name': 'h3', 'vcpus': 16, 'memory_mib': 65536},
            {'name': 'h4', 'vcpus': 16, 'memory_mib': 65536, 'state': 'down'},
        ],
        'vms': [
            {'id': 'vm1', 'host': 'h1', 'vcpus': 2, 'memory_mib': 4096,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 20.0},
            {'id': 'vm2', 'host': 'h2', 'vcpus': 4, 'memory_mib': 8192,
             'cpu_util': 0.0, 'dirty_rate_mib_s': 0.0, 'wws_mib': 512.0,
             'pinned': True, 'dirty_rate_err_mib_s': 2.0,
             'resident_mib': 8192},
        ],
        'network': {
            'switches': ['tor1', 'tor2', 'spine'],
            'links': [
                {'a': 'h1', 'b': 'tor1', 'gbit_s': 25.0},
                {'a': 'h2', 'b': 'tor1', 'gbit_s': 25.0, 'used_gbit_s': 5},
                {'a': 'h3', 'b': 'tor2', 'gbit_s': 25.0},
                {'a': 'h4', 'b': 'tor2', 'gbit_s': 10.0},
                {'a': 'tor1', 'b': 'spine', 'gbit_s': 100.0},
                {'a': 'spine', 'b': 'tor2', 'gbit_s': 100.0},
            ]},
    }


def errors(doc):
    """``{json path: allowed}`` of every error the document has."""
    with pytest.raises(exception.InvalidSnapshot) as info:
        model.from_primitive(doc)
    found = {}
    for err in info.value.errors:
        assert isinstance(err, exception.InvalidInput)
        found[err.field] = err.allowed
    return found


def one_error(doc):
    found = errors(doc)
    assert len(found) == 1, found
    return next(iter(found.items()))


def with_change(path, value):
    """A valid document with one value changed; ``path`` is a tuple of
    keys and indexes; value ``DELETE`` removes the key."""
    doc = copy.deepcopy(valid())
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()


def test_the_valid_document_loads_with_defaults():
    snap = model.from_primitive(valid())
    assert list(snap.hosts) == ['h1', 'h2', 'h3', 'h4']
    h1, h2 = snap.hosts['h1'], snap.hosts['h2']
    assert (h1.cpu_allocation_ratio, h1.state, h1.aggregates) == (
        1.0, 'up', ('general',))
    assert h2.vcpu_capacity == 64.0
    assert h2.memory_capacity_mib == 98304.0
    assert snap.vms['vm2'].pinned and not snap.vms['vm1'].pinned
    assert snap.switches == ('tor1', 'tor2', 'spine')
    assert snap.links[1].free_gbit_s == 20.0


def test_a_snapshot_survives_a_round_trip_through_json():
    snap = model.from_primitive(valid())
    again = model.loads(model.dumps(snap))
    assert again == snap


def test_the_shipped_example_is_valid_and_realistic(example_snapshot):
    snap = example_snapshot
    assert 5 <= len(snap.hosts) <= 8 and 15 <= len(snap.vms) <= 30
    assert [h.name for h in snap.hosts.values()
            if h.state == 'maintenance'] == ['cmp-r1-03']
    assert sum(vm.pinned for vm in snap.vms.values()) == 1
    assert len({a for h in snap.hosts.values() for a in h.aggregates}) == 2
    assert any(vm.dirty_rate_mib_s >= 500 for vm in snap.vms.values())
    assert {'tor-r1', 'tor-r2', 'spine-1'} <= set(snap.switches)


@pytest.mark.parametrize('version', [0, 2, '1', None, DELETE])
def test_unknown_or_missing_version(version):
    field, allowed = one_error(with_change(('version',), version))
    assert field == '$.version'
    assert 'only format version known' in allowed


@pytest.mark.parametrize('doc', [[], 'hosts', 1, None])
def test_a_document_that_is_not_an_object(doc):
    assert errors(doc) == {'$': 'a JSON object'}


def test_unknown_top_level_field():
    field, allowed = one_error(with_change(('clusters',), []))
    assert field == '$.clusters'
    assert allowed.startswith('no such field; known fields: version')


@pytest.mark.parametrize('key,value,allowed', [
    ('hosts', None, 'a JSON list'),
    ('hosts', {}, 'a JSON list'),
    ('vms', 'vm1', 'a JSON list'),
    ('network', [], 'a JSON object with "switches" and "links"'),
])
def test_top_level_containers_of_the_wrong_type(key, value, allowed):
    assert errors(with_change((key,), value)) == {f'$.{key}': allowed}


def test_no_hosts_at_all():
    doc = with_change(('hosts',), [])
    doc['vms'] = []
    doc['network'] = {'switches': [], 'links': []}
    assert errors(doc) == {'$.hosts': 'at least one host'}


@pytest.mark.parametrize('field,allowed', [
    ('name', 'a required string'),
    ('vcpus', 'a required positive integer'),
    ('memory_mib', 'a required positive integer'),
])
def test_missing_host_fields(field, allowed):
    # h3 has no VM, so dropping it only costs it its links
    doc = with_change(('hosts', 2, field), DELETE)
    found = errors(doc)
    assert found[f'$.hosts[2].{field}'] == allowed


@pytest.mark.parametrize('field,value,allowed', [
    ('name', '', 'a non-empty string'),
    ('name', 7, 'a non-empty string'),
    ('vcpus', 0, 'a positive integer'),
    ('vcpus', -4, 'a positive integer'),
    ('vcpus', 2.5, 'a positive integer'),
    ('vcpus', '16', 'a positive integer'),
    ('vcpus', True, 'a positive integer'),
    ('memory_mib', 0, 'a positive integer'),
    ('memory_mib', -1024, 'a positive integer'),
    ('memory_mib', float('nan'), 'a positive integer'),
    ('cpu_allocation_ratio', 0, 'a positive ratio'),
    ('ram_allocation_ratio', -1.5, 'a positive ratio'),
    ('state', 'disabled', 'one of up, down, maintenance'),
    ('state', 'UP', 'one of up, down, maintenance'),
    ('cpu_util', 1.2, 'a fraction from 0 to 1'),
    ('cpu_util', -0.1, 'a fraction from 0 to 1'),
    ('cpu_util', '50%', 'a fraction from 0 to 1'),
    ('power_idle_w', -5.0, 'a non-negative number'),
    ('aggregates', 'general', 'a list of non-empty strings'),
    ('aggregates', ['ok', ''], 'a list of non-empty strings'),
    ('aggregates', [1], 'a list of non-empty strings'),
])
def test_bad_host_values(field, value, allowed):
    doc = with_change(('hosts', 0, field), value)
    found = errors(doc)
    assert found[f'$.hosts[0].{field}'] == allowed


def test_unknown_host_field_lists_the_known_ones():
    field, allowed = one_error(with_change(('hosts', 0, 'ram_gb'), 64))
    assert field == '$.hosts[0].ram_gb'
    assert allowed == ('no such field; known fields: name, vcpus, '
                       'memory_mib, cpu_allocation_ratio, '
                       'ram_allocation_ratio, state, cpu_util, '
                       'power_idle_w, power_max_w, aggregates')


def test_peak_power_below_idle_power():
    doc = with_change(('hosts', 1, 'power_max_w'), 50.0)
    field, allowed = one_error(doc)
    assert field == '$.hosts[1].power_max_w'
    assert allowed == 'at least power_idle_w (100.0)'


def test_duplicate_host_name():
    doc = with_change(('hosts', 3, 'name'), 'h1')
    found = errors(doc)
    assert found['$.hosts[3].name'] == 'a name no other host has'


def test_a_host_that_is_not_an_object():
    doc = with_change(('hosts', 2), 'h3')
    assert errors(doc)['$.hosts[2]'] == 'a JSON object'


@pytest.mark.parametrize('field,allowed', [
    ('id', 'a required string'),
    ('host', 'a required string'),
    ('vcpus', 'a required positive integer'),
    ('memory_mib', 'a required positive integer'),
    ('cpu_util', 'a required fraction from 0 to 1'),
    ('dirty_rate_mib_s', 'a required non-negative number'),
])
def test_missing_vm_fields(field, allowed):
    field_path, got = one_error(with_change(('vms', 0, field), DELETE))
    assert (field_path, got) == (f'$.vms[0].{field}', allowed)


@pytest.mark.parametrize('field,value,allowed', [
    ('id', '', 'a non-empty string'),
    ('host', ['h1'], 'a non-empty string'),
    ('vcpus', 0, 'a positive integer'),
    ('memory_mib', -1, 'a positive integer'),
    ('memory_mib', 4096.5, 'a positive integer'),
    ('cpu_util', 1.0001, 'a fraction from 0 to 1'),
    ('cpu_util', -1, 'a fraction from 0 to 1'),
    ('dirty_rate_mib_s', -3.0, 'a non-negative number'),
    ('dirty_rate_mib_s', float('inf'), 'a non-negative number'),
    ('dirty_rate_mib_s', None, 'a non-negative number'),
    ('wws_mib', 0, 'a positive number'),
    ('pinned', 'yes', 'true or false'),
    ('pinned', 1, 'true or false'),
    ('dirty_rate_err_mib_s', -0.5, 'a non-negative number'),
    ('resident_mib', -1, 'a positive number'),
])
def test_bad_vm_values(field, value, allowed):
    field_path, got = one_error(with_change(('vms', 0, field), value))
    assert (field_path, got) == (f'$.vms[0].{field}', allowed)


@pytest.mark.parametrize('field', ['wws_mib', 'resident_mib'])
def test_vm_memory_figures_above_its_memory(field):
    field_path, got = one_error(with_change(('vms', 0, field), 4097.0))
    assert (field_path, got) == (f'$.vms[0].{field}',
                                 'at most memory_mib (4096)')


def test_unknown_vm_field():
    field, allowed = one_error(with_change(('vms', 1, 'flavor'), 'm1'))
    assert field == '$.vms[1].flavor'
    assert allowed.startswith('no such field; known fields: id, host, ')


def test_duplicate_vm_id():
    field, allowed = one_error(with_change(('vms', 1, 'id'), 'vm1'))
    assert (field, allowed) == ('$.vms[1].id', 'an id no other VM has')


def test_vm_on_an_unknown_host():
    field, allowed = one_error(with_change(('vms', 1, 'host'), 'h9'))
    assert (field, allowed) == ('$.vms[1].host',
                                'the name of a host in $.hosts')


@pytest.mark.parametrize('switches,index,allowed', [
    (['tor1', 'tor2', 'spine', ''], 3, 'a non-empty string'),
    (['tor1', 'tor2', 'spine', 'h1'], 3,
     'a name no host or other switch has'),
    (['tor1', 'tor2', 'spine', 'tor1'], 3,
     'a name no host or other switch has'),
])
def test_bad_switch_names(switches, index, allowed):
    doc = with_change(('network', 'switches'), switches)
    assert errors(doc) == {f'$.network.switches[{index}]': allowed}


def test_switches_that_are_not_a_list():
    doc = with_change(('network', 'switches'), 'tor1')
    assert errors(doc)['$.network.switches'] == 'a list of switch names'


def test_unknown_network_field():
    doc = with_change(('network', 'vlans'), [])
    assert errors(doc) == {
        '$.network.vlans': 'no such field; known fields: switches, links'}


def test_link_to_an_unknown_node():
    field, allowed = one_error(with_change(('network', 'links', 0, 'b'),
                                           'tor9'))
    assert (field, allowed) == ('$.network.links[0].b',
                                'the name of a host or switch')


@pytest.mark.parametrize('field,value,allowed', [
    ('gbit_s', 0, 'a positive number'),
    ('gbit_s', -10.0, 'a positive number'),
    ('gbit_s', '25G', 'a positive number'),
    ('used_gbit_s', -1.0, 'a non-negative number'),
])
def test_bad_bandwidth(field, value, allowed):
    field_path, got = one_error(with_change(('network', 'links', 0, field),
                                            value))
    assert (field_path, got) == (f'$.network.links[0].{field}', allowed)


def test_background_use_above_the_capacity():
    field, allowed = one_error(with_change(
        ('network', 'links', 3, 'used_gbit_s'), 12.0))
    assert (field, allowed) == ('$.network.links[3].used_gbit_s',
                                'at most gbit_s (10.0)')


def test_a_link_from_a_node_to_itself():
    doc = with_change(('network', 'links', 4, 'b'), 'tor1')
    assert errors(doc) == {'$.network.links[4].b': 'a node other than "a"'}


def test_two_links_between_the_same_pair_either_way_round():
    doc = valid()
    doc['network']['links'].append({'a': 'tor1', 'b': 'h1', 'gbit_s': 25.0})
    field, allowed = one_error(doc)
    assert field == '$.network.links[6]'
    assert allowed.startswith('one link per pair of nodes')


def test_a_host_with_no_link_at_all():
    doc = valid()
    doc['network']['links'] = [lk for lk in doc['network']['links']
                               if lk['a'] != 'h3']
    field, allowed = one_error(doc)
    assert field == '$.hosts[2].name'
    assert allowed.startswith('a host with a path of links')


def test_two_fabrics_not_joined():
    doc = valid()
    doc['network']['links'].pop()  # spine - tor2: rack 2 is cut off
    found = errors(doc)
    assert set(found) == {'$.hosts[2].name', '$.hosts[3].name'}
    assert "(none to 'h1')" in found['$.hosts[2].name']


def test_hosts_do_not_forward_traffic():
    # h3 hangs off h1 only: the link graph never routes through a host
    doc = valid()
    doc['network']['links'][2] = {'a': 'h3', 'b': 'h1', 'gbit_s': 25.0}
    field, allowed = one_error(doc)
    assert field == '$.hosts[2].name'
    assert 'through switches only' in allowed


def test_hosts_joined_only_by_direct_links():
    doc = {'version': 1,
           'hosts': [{'name': n, 'vcpus': 4, 'memory_mib': 4096}
                     for n in ('a', 'b', 'c')],
           'vms': [],
           'network': {'links': [{'a': 'a', 'b': 'b', 'gbit_s': 10.0},
                                 {'a': 'b', 'b': 'c', 'gbit_s': 10.0},
                                 {'a': 'c', 'b': 'a', 'gbit_s': 10.0}]}}
    assert set(model.from_primitive(doc).hosts) == {'a', 'b', 'c'}
    doc['network']['links'].pop()  # a and c now only meet through b
    assert set(errors(doc)) == {'$.hosts[0].name', '$.hosts[2].name'}


def test_a_single_host_needs_no_link():
    doc = {'version': 1,
           'hosts': [{'name': 'solo', 'vcpus': 4, 'memory_mib': 4096}],
           'vms': [], 'network': {}}
    assert list(model.from_primitive(doc).hosts) == ['solo']


def test_every_error_is_reported_at_once():
    doc = valid()
    doc['hosts'][0]['vcpus'] = 0
    doc['hosts'][1]['state'] = 'broken'
    doc['vms'][0]['cpu_util'] = 2.0
    doc['vms'][1]['host'] = 'nowhere'
    doc['network']['links'][0]['gbit_s'] = -1
    with pytest.raises(exception.InvalidSnapshot) as info:
        model.from_primitive(doc)
    fields = [e.field for e in info.value.errors]
    assert fields == ['$.hosts[0].vcpus', '$.hosts[1].state',
                      '$.vms[0].cpu_util', '$.vms[1].host',
                      '$.network.links[0].gbit_s']
    text = str(info.value)
    assert text.startswith('invalid snapshot (5 error(s)):')
    assert "$.hosts[1].state: got 'broken'; allowed: one of up, down, " \
           'maintenance' in text


def test_text_that_is_not_json():
    with pytest.raises(exception.InvalidSnapshot) as info:
        model.loads('{"version": 1, "hosts": [')
    [err] = info.value.errors
    assert err.field == '$'
    assert err.allowed.startswith('JSON text (')


def test_an_unreadable_file(tmp_path):
    with pytest.raises(exception.InvalidInput) as info:
        model.load(tmp_path / 'missing.json')
    assert info.value.field == 'snapshot'
    assert 'a readable file' in info.value.allowed
    assert info.value.exit_code == 2


def test_load_reads_a_file(tmp_path):
    path = tmp_path / 'snap.json'
    path.write_text(json.dumps(valid()))
    assert set(model.load(path).vms) == {'vm1', 'vm2'}


def test_lookups_name_what_is_known():
    snap = model.from_primitive(valid())
    with pytest.raises(exception.NotFound, match="unknown vm 'vm9'; known: "
                       'vm1, vm2'):
        snap.vm('vm9')
    with pytest.raises(exception.NotFound, match='known: h1, h2, h3, h4'):
        snap.host('h9')
    assert [vm.id for vm in snap.vms_on('h2')] == ['vm2']


def test_an_invalid_host_is_one_error_not_one_per_reference():
    # h1 carries vm1 and a link: neither is reported as naming an unknown
    # host because h1 itself is invalid
    doc = with_change(('hosts', 0, 'memory_mib'), 0)
    assert errors(doc) == {'$.hosts[0].memory_mib': 'a positive integer'}
