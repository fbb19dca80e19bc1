"""The libvirt driver builds its migration URIs from its own options and
a checked host address: whatever a step carries, libvirt never sees a
transport, a query string or a user the source agent did not choose."""

import types

import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig.drivers import libvirt_flags
from nova_livemig.drivers import libvirt_uri
from tests.unit import fakehosts

#: what a hostile bus or a garbled report could put where an address goes
HOSTILE = [
    'qemu+ext:///system?command=/tmp/x',
    'qemu+tcp://evil/system',
    'qemu+tls://b/system?no_verify=1',
    'b?no_verify=1',
    'b/system',
    'b#frag',
    'root@b',
    'b:16509',
    '-oProxyCommand=touch${IFS}/tmp/x',
    'b -oProxyCommand=x',
    'b\n',
    'b%2f',
    'fe80::1%eth0',
    '[fd00::1]',
    '10.0.0.1/24',
    '010.0.0.1',
    '1.2.3',
    'b..c',
    'b.-c',
    'é.example',
    'a' * 64,
    '.'.join(['a' * 63] * 4),  # 255 characters
    '',
    None,
    5,
]


@pytest.mark.parametrize('value', HOSTILE)
def test_anything_but_a_host_name_or_address_is_refused(value):
    with pytest.raises(exception.InvalidInput) as info:
        libvirt_uri.check_address('MigrationStep.destination_uri', value)
    assert str(info.value).startswith('MigrationStep.destination_uri: got ')
    assert 'not a URI' in str(info.value)


@pytest.mark.parametrize('value, clean', [
    ('cmp-r1-03', 'cmp-r1-03'),
    ('cmp_r1_03.example.org', 'cmp_r1_03.example.org'),
    ('10.77.0.12', '10.77.0.12'),
    ('FD00:0::7', 'fd00::7'),
    ('a' * 63, 'a' * 63),
    ('.'.join(['a' * 63] * 3 + ['a' * 61]),
     '.'.join(['a' * 63] * 3 + ['a' * 61])),  # 253 characters
])
def test_host_names_and_ip_addresses_are_taken(value, clean):
    assert libvirt_uri.check_address('f', value) == clean


def test_the_uris_are_the_options_transport_and_the_address():
    assert libvirt_uri.connection_uri('tls', 'b') == 'qemu+tls://b/system'
    assert libvirt_uri.connection_uri('ssh', 'fd00::7') == \
        'qemu+ssh://[fd00::7]/system'
    assert libvirt_uri.migrate_uri('10.0.0.7') == 'tcp://10.0.0.7'
    with pytest.raises(exception.InvalidInput, match='live_migration_scheme'):
        libvirt_uri.connection_uri('ext', 'b')


def test_the_scheme_option_is_tls_and_allows_no_other_transport(tmp_path):
    conf = fakehosts.make_conf(tmp_path)
    assert conf.libvirt.live_migration_scheme == 'tls'
    for scheme in ('tcp', 'ssh'):
        conf.set_override('live_migration_scheme', scheme, 'libvirt')
    for scheme in ('ext', 'unix', 'qemu+ext'):
        with pytest.raises(ValueError):
            conf.set_override('live_migration_scheme', scheme, 'libvirt')


def test_migrate_uri_only_when_not_tunnelled():
    step = {'algorithm': 'precopy', 'bandwidth_mib_s': 0,
            'postcopy_after_s': None}
    opts = types.SimpleNamespace(
        live_migration_with_native_tls=False, live_migration_tunnelled=False,
        compression_methods=['xbzrle'], parallel_connections=0)
    _flags, params = libvirt_flags.step_args(step, opts, False,
                                             migrate_uri='tcp://b')
    assert params == {libvirt_flags.PARAM_URI: 'tcp://b'}
    opts.live_migration_tunnelled = True
    _flags, params = libvirt_flags.step_args(step, opts, False,
                                             migrate_uri='tcp://b')
    assert params == {}


# -- the driver, with libvirt's objects stubbed ------------------------

class Dom:
    """A domain whose migration call is recorded and returns at once."""

    def __init__(self):
        self.calls = []

    def isPersistent(self):
        return 1

    def migrateSetMaxDowntime(self, ms, flags):
        pass

    def migrateToURI3(self, uri, params, flags):
        self.calls.append((uri, params, flags))

    def jobStats(self, flags=0):
        return {}  # no job yet (the call above may not have returned)


@pytest.fixture
def driver(monkeypatch, tmp_path):
    pytest.importorskip('libvirt')
    from nova_livemig.drivers import libvirt as module
    monkeypatch.setattr(module, 'start_event_loop', lambda: None)

    def make(**libvirt_opts):
        conf = fakehosts.make_conf(tmp_path, host='a')
        conf.set_override('live_migration_with_native_tls', False,
                          'libvirt')
        for key, value in libvirt_opts.items():
            conf.set_override(key, value, 'libvirt')
        drv = module.LibvirtDriver(conf)
        dom = Dom()
        monkeypatch.setattr(drv, '_lookup', lambda vm: dom)
        return drv, dom
    return make


def _step(destination='b', destination_uri=None):
    """A step as the bus delivers it (checked by the message schema)."""
    return messages.MigrationStep.from_primitive(dict(
        fakehosts.step(source='a').to_primitive(), destination=destination,
        destination_uri=destination_uri))


def test_driver_default_is_tls_to_the_destination_host(driver):
    drv, dom = driver()
    drv.start_migration(_step())
    dom_uri, params, _flags = dom.calls[0]
    assert dom_uri == 'qemu+tls://b/system'
    # no inbound address reported: libvirt picks the stream's address
    assert libvirt_flags.PARAM_URI not in params


def test_driver_uses_the_reported_inbound_address(driver):
    drv, dom = driver(live_migration_scheme='tcp')
    drv.start_migration(_step(destination_uri='10.77.0.12'))
    dom_uri, params, _flags = dom.calls[0]
    assert dom_uri == 'qemu+tcp://10.77.0.12/system'
    assert params[libvirt_flags.PARAM_URI] == 'tcp://10.77.0.12'


@pytest.mark.parametrize('field', ['destination', 'destination_uri'])
@pytest.mark.parametrize('value', [
    'qemu+ext:///system?command=/tmp/x', 'qemu+tcp://evil/system',
    'b?no_verify=1', 'fake://b', '-oProxyCommand=x'])
def test_driver_refuses_a_uri_from_the_bus(driver, field, value):
    drv, dom = driver(live_migration_scheme='tcp')
    step = _step(**{field: value})
    with pytest.raises(exception.InvalidInput) as info:
        drv.start_migration(step)
    assert f'MigrationStep.{field}' in str(info.value)
    assert dom.calls == []  # libvirt was never asked


def test_driver_reports_its_checked_inbound_address(driver):
    assert driver()[0].migration_uri() is None
    drv, _dom = driver(migration_inbound_addr='10.77.0.11')
    assert drv.migration_uri() == '10.77.0.11'


@pytest.mark.parametrize('opts, field', [
    ({'migration_inbound_addr': 'qemu+tcp://a/system'},
     '[libvirt] migration_inbound_addr'),
    ({'migration_uri_scheme': 'qemu+tcp://%s/system'},
     '[libvirt] migration_uri_scheme'),
])
def test_driver_refuses_to_start_on_uri_options(driver, opts, field):
    with pytest.raises(exception.InvalidInput) as info:
        driver(**opts)
    assert str(info.value).startswith(f'{field}: got ')
