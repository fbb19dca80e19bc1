"""The ``migrateToURI3`` flags and parameters of a step, with plain values
only (:mod:`nova_livemig.drivers.libvirt_flags`)."""

import types

import pytest

from nova_livemig import exception
from nova_livemig.drivers import libvirt_flags as lf


def _step(algorithm, bandwidth_mib_s=0, postcopy_after_s=None):
    return {'algorithm': algorithm, 'bandwidth_mib_s': bandwidth_mib_s,
            'postcopy_after_s': postcopy_after_s}


def _opts(native_tls=False, tunnelled=False):
    return types.SimpleNamespace(
        live_migration_with_native_tls=native_tls,
        live_migration_tunnelled=tunnelled,
        compression_methods=['zstd'], parallel_connections=2)


def test_precopy_is_live_peer_to_peer_only():
    flags, params = lf.migrate_args(_step('precopy'))
    assert flags == lf.VIR_MIGRATE_LIVE | lf.VIR_MIGRATE_PEER2PEER
    assert params == {}


@pytest.mark.parametrize('algorithm,flag', [
    ('autoconverge', 'VIR_MIGRATE_AUTO_CONVERGE'),
    ('compress', 'VIR_MIGRATE_COMPRESSED'),
    ('postcopy', 'VIR_MIGRATE_POSTCOPY'),
    ('hybrid', 'VIR_MIGRATE_POSTCOPY')])
def test_each_algorithm_sets_its_flag(algorithm, flag):
    flags, _params = lf.migrate_args(_step(algorithm))
    assert flags & getattr(lf, flag)
    assert flags & lf.VIR_MIGRATE_LIVE and flags & lf.VIR_MIGRATE_PEER2PEER
    others = {'VIR_MIGRATE_AUTO_CONVERGE', 'VIR_MIGRATE_COMPRESSED',
              'VIR_MIGRATE_POSTCOPY'} - {flag}
    assert not any(flags & getattr(lf, o) for o in others)


def test_precopy_with_a_postcopy_deadline_can_switch():
    flags, _ = lf.migrate_args(_step('precopy', postcopy_after_s=20.0))
    assert flags & lf.VIR_MIGRATE_POSTCOPY


def test_bandwidth_cap_in_whole_mib_s_and_zero_is_unlimited():
    assert lf.migrate_args(_step('precopy', 12.2))[1] == {'bandwidth': 13}
    assert lf.migrate_args(_step('precopy', 0.3))[1] == {'bandwidth': 1}
    assert 'bandwidth' not in lf.migrate_args(_step('precopy', 0))[1]


def test_compress_methods_and_parallel_connections():
    flags, params = lf.migrate_args(_step('compress'),
                                    compression=('zstd',),
                                    parallel_connections=4)
    assert flags & lf.VIR_MIGRATE_COMPRESSED
    assert flags & lf.VIR_MIGRATE_PARALLEL
    assert params == {'compression': ['zstd'], 'parallel.connections': 4}


def test_persistent_domain_moves_its_definition():
    flags, _ = lf.migrate_args(_step('precopy'), persistent=True)
    assert flags & lf.VIR_MIGRATE_PERSIST_DEST
    assert flags & lf.VIR_MIGRATE_UNDEFINE_SOURCE


def test_tls_choices():
    flags, _ = lf.migrate_args(_step('postcopy'), native_tls=True)
    assert flags & lf.VIR_MIGRATE_TLS
    assert not flags & lf.VIR_MIGRATE_TUNNELLED
    flags, _ = lf.migrate_args(_step('precopy'), tunnelled=True)
    assert flags & lf.VIR_MIGRATE_TUNNELLED
    with pytest.raises(ValueError, match='exclude'):
        lf.migrate_args(_step('precopy'), native_tls=True, tunnelled=True)


@pytest.mark.parametrize('step', [_step('postcopy'), _step('hybrid'),
                                  _step('precopy', postcopy_after_s=5)])
def test_tunnelled_postcopy_is_refused(step):
    with pytest.raises(ValueError, match='post-copy'):
        lf.migrate_args(step, tunnelled=True)


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match='xbzrle-only'):
        lf.migrate_args(_step('xbzrle-only'))


def test_migrate_uri_parameter():
    _, params = lf.migrate_args(_step('precopy'),
                                migrate_uri='tcp://10.0.0.2')
    assert params == {'migrate_uri': 'tcp://10.0.0.2'}


def test_step_args_follow_the_libvirt_options():
    flags, params = lf.step_args(_step('compress', 40.5),
                                 _opts(native_tls=True), persistent=True)
    assert flags == (lf.VIR_MIGRATE_LIVE | lf.VIR_MIGRATE_PEER2PEER
                     | lf.VIR_MIGRATE_PERSIST_DEST
                     | lf.VIR_MIGRATE_UNDEFINE_SOURCE | lf.VIR_MIGRATE_TLS
                     | lf.VIR_MIGRATE_COMPRESSED | lf.VIR_MIGRATE_PARALLEL)
    assert params == {'compression': ['zstd'], 'parallel.connections': 2,
                      'bandwidth': 41}


def test_step_args_refusal_is_a_failed_migration():
    with pytest.raises(exception.MigrationFailed,
                       match="'postcopy' needs post-copy"):
        lf.step_args(_step('postcopy'), _opts(tunnelled=True), False)


def test_options_that_exclude_each_other_are_refused():
    lf.check_options(_opts(native_tls=True))
    lf.check_options(_opts(tunnelled=True))
    with pytest.raises(exception.InvalidInput,
                       match='live_migration_tunnelled: got True; allowed: '
                             'false while live_migration_with_native_tls'):
        lf.check_options(_opts(native_tls=True, tunnelled=True))


def test_speed_in_whole_mib_s_rounded_up():
    assert [lf.speed_mib_s(v) for v in (0.01, 1.0, 40.0, 40.2)] == [
        1, 1, 40, 41]
