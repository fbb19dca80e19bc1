"""Two conductors on one database: only the lease holder runs its loops
and serves RPC; the standby starts them once the holder stops, and a
fenced conductor stops them."""

from nova_livemig import rpc
from nova_livemig.cmd import conductor as conductor_cmd
from nova_livemig.conductor import rpcapi
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from nova_livemig.db import leases
from tests import fixtures
from tests.unit import test_conductor_endpoint as endpoint_tests


def _conductor(tmp_path, name):
    conf = endpoint_tests.make_conf(tmp_path)
    for option, value in (('host', name), ('lease_duration_s', 2.0),
                          ('lease_renew_interval_s', 0.1)):
        conf.set_override(option, value, 'conductor')
    conf.set_override('transport_url', 'fake:/')
    db = db_api.from_conf(conf)
    transport = rpc.get_transport(conf)
    return conductor_cmd.Service(conf, db, transport,
                                 own_transport=True)


def _runner_alive(svc):
    thread = svc.conductor.engine._thread
    return thread is not None and thread.is_alive()


def test_only_the_holder_runs_and_serves_until_it_stops(tmp_path):
    a, b = _conductor(tmp_path, 'cond-a'), _conductor(tmp_path, 'cond-b')
    try:
        assert a.start() is True
        assert b.start() is False
        assert (a.server.running, b.server.running) == (True, False)
        assert _runner_alive(a) and not _runner_alive(b)
        a.stop()  # releases: b takes over at its next look
        assert not a.server.running and not _runner_alive(a)
        fixtures.wait_until(lambda: b.server.running and _runner_alive(b),
                            10, what='cond-b serving and running')
        assert b.conductor.epoch == 2
    finally:
        a.stop()
        b.stop()


def test_a_conductor_taken_over_stops_at_its_next_renewal(tmp_path):
    a = _conductor(tmp_path, 'cond-a')
    try:
        assert a.start()
        held = leases.read(a.conductor.db.engine, 'conductor')
        # another conductor took over (as after a pause of cond-a
        # longer than the lease)
        with a.conductor.db.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE leases SET holder = 'cond-b', epoch = epoch + 1 "
                "WHERE name = 'conductor'")
        fixtures.wait_until(
            lambda: not (a.conductor.active or a.server.running
                         or _runner_alive(a)), 10, what='cond-a fenced')
        # the fencing token it keeps is the stale one
        assert a.conductor.epoch == held.epoch
    finally:
        a.stop()


def test_a_standby_that_is_stopped_stops_cleanly(tmp_path):
    a, b = _conductor(tmp_path, 'cond-a'), _conductor(tmp_path, 'cond-b')
    try:
        a.start()
        b.start()
        b.stop()
        assert a.conductor.active and not b.conductor.active
        assert isinstance(b.conductor, service.Conductor)
    finally:
        a.stop()
        b.stop()


def test_a_lease_renewed_too_rarely_is_refused_before_the_database(
        tmp_path, capsys):
    conf = tmp_path / 'c.conf'
    conf.write_text('[conductor]\nlease_duration_s = 10\n'
                    'lease_renew_interval_s = 6\n'
                    f'[database]\nconnection = sqlite:///{tmp_path}/x.db\n')
    assert conductor_cmd.main(['--config-file', str(conf)]) == 2
    err = capsys.readouterr().err
    assert 'lease_renew_interval_s' in err and 'lease_duration_s' in err
    assert not (tmp_path / 'x.db').exists()


def test_a_fenced_conductor_elected_again_serves_again(tmp_path):
    a = _conductor(tmp_path, 'cond-a')
    api = rpcapi.ConductorAPI(a.transport, timeout=10)
    try:
        assert a.start()
        assert api.list_plans({}) == []
        with a.conductor.db.engine.begin() as conn:
            conn.exec_driver_sql(  # taken over, and already expired
                "UPDATE leases SET holder = 'cond-b', epoch = epoch + 1, "
                "expires_at = 0 WHERE name = 'conductor'")
        fixtures.wait_until(lambda: a.conductor.epoch == 3
                            and a.server.running and _runner_alive(a),
                            10, what='cond-a active again at epoch 3')
        assert api.list_plans({}) == []
    finally:
        a.stop()
