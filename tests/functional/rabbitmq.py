"""A private RabbitMQ node for the functional tests.

Debian's ``rabbitmq-server`` package (``tools/install-rabbitmq.sh``),
started as our own Erlang node: its own node name, free loopback ports
(AMQP, Erlang distribution, epmd), and its mnesia, logs and Erlang cookie
in a temporary directory. It never touches a system instance. Given a
server certificate, it also listens for AMQP over TLS on another port
(``listeners.ssl`` in its ``rabbitmq.conf``; ``tls_url``).

>>> server = RabbitServer('/tmp/x')  # doctest: +SKIP
>>> server.start(); server.url      # doctest: +SKIP
'rabbit://guest:guest@127.0.0.1:41234/'
"""

import os
import shutil
import signal
import socket
import subprocess
import time

LIB_BIN = '/usr/lib/rabbitmq/bin'


def _tool(name):
    # /usr/sbin/rabbitmq-* switch to the rabbitmq user; the scripts in
    # /usr/lib/rabbitmq/bin run as whoever calls them
    path = os.path.join(LIB_BIN, name)
    return path if os.access(path, os.X_OK) else shutil.which(name)


def installed():
    """None when rabbitmq-server and epmd are installed, else why not."""
    missing = [n for n in ('rabbitmq-server', 'rabbitmq-diagnostics',
                           'rabbitmqctl') if not _tool(n)]
    if not shutil.which('epmd'):
        missing.append('epmd')
    if missing:
        return ('RabbitMQ is not installed (missing ' + ', '.join(missing)
                + '); run tools/install-rabbitmq.sh')
    return None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class RabbitServer:
    """One private RabbitMQ node.

    :param base_dir: directory for its data, logs and cookie (created)
    :param port: AMQP port; a free one when None
    :param tls: ``(ca_file, cert_file, key_file)`` of a TLS listener on
        ``tls_port`` (clients need no certificate), or None for none
    """

    def __init__(self, base_dir, port=None, start_timeout_s=90.0,
                 tls=None):
        self.base_dir = os.path.abspath(base_dir)
        self.port = port or free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f'livemig{os.getpid()}x{self.port}@localhost'
        self.start_timeout_s = start_timeout_s
        self._server = None
        self._epmd = None

    @property
    def url(self):
        return f'rabbit://guest:guest@127.0.0.1:{self.port}/'

    @property
    def tls_url(self):
        """The transport URL of the TLS listener (clients also set
        ``[oslo_messaging_rabbit] ssl`` and ``ssl_ca_file``)."""
        return f'rabbit://guest:guest@127.0.0.1:{self.tls_port}/'

    def _write_config(self):
        """``rabbitmq.conf``: the TLS listener, when there is one (the
        plain listener comes from the environment)."""
        if not self.tls:
            return
        ca_file, cert_file, key_file = self.tls
        lines = [f'listeners.ssl.default = 127.0.0.1:{self.tls_port}',
                 f'ssl_options.cacertfile = {ca_file}',
                 f'ssl_options.certfile = {cert_file}',
                 f'ssl_options.keyfile = {key_file}',
                 'ssl_options.verify = verify_none',
                 'ssl_options.fail_if_no_peer_cert = false',
                 'ssl_options.versions.1 = tlsv1.3',
                 'ssl_options.versions.2 = tlsv1.2']
        with open(os.path.join(self.base_dir, 'rabbitmq.conf'), 'w') as f:
            f.write(''.join(line + '\n' for line in lines))

    def _env(self):
        d = self.base_dir
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update({
            'HOME': d,  # the Erlang cookie lives here
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_MNESIA_BASE': os.path.join(d, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(d, 'log'),
            'RABBITMQ_PID_FILE': os.path.join(d, 'rabbit.pid'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(d, 'plugins'),
            'RABBITMQ_CONFIG_FILE': os.path.join(d, 'rabbitmq'),
            'RABBITMQ_CONF_ENV_FILE': os.path.join(d, 'rabbitmq-env.conf'),
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
            'ERL_EPMD_PORT': str(self.epmd_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
        })
        return env

    def _ctl(self, tool, *args, timeout=30):
        return subprocess.run([_tool(tool), '-q', '-n', self.node, *args],
                              env=self._env(), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def ping(self):
        """True when the node answers and its AMQP port accepts."""
        try:
            if self._ctl('rabbitmq-diagnostics', 'ping',
                         timeout=15).returncode != 0:
                return False
        except subprocess.TimeoutExpired:
            return False
        try:
            for port in (self.port, self.tls_port):
                if port is not None:
                    with socket.create_connection(('127.0.0.1', port), 1):
                        pass
            return True
        except OSError:
            return False

    def start(self):
        """Start the node and wait until it serves AMQP.

        :raises RuntimeError: when it does not come up in time (its log
            tail is in the message)
        """
        os.makedirs(self.base_dir, exist_ok=True)
        with open(os.path.join(self.base_dir, 'plugins'), 'w') as f:
            f.write('[].\n')
        open(os.path.join(self.base_dir, 'rabbitmq-env.conf'), 'a').close()
        self._write_config()
        env = self._env()
        if self._epmd is None or self._epmd.poll() is not None:
            self._epmd = subprocess.Popen(
                ['epmd', '-port', str(self.epmd_port), '-address',
                 '127.0.0.1'], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        with open(os.path.join(self.base_dir, 'server.out'), 'ab') as log:
            self._server = subprocess.Popen(
                [_tool('rabbitmq-server')], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f'RabbitMQ node {self.node} did not start within '
                           f'{self.start_timeout_s:g} s:\n{tail}')

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.base_dir, 'server.out'),
                      errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return '(no server output)'

    def stop(self, keep_epmd=False):
        """Stop the node (rabbitmqctl stop, then signals to its own
        process group); the epmd too unless ``keep_epmd``."""
        if self._server is not None:
            if self._server.poll() is None:
                try:
                    self._ctl('rabbitmqctl', 'stop', timeout=60)
                except subprocess.TimeoutExpired:
                    pass
            self._end(self._server, grace_s=20)
            self._server = None
        if self._epmd is not None and not keep_epmd:
            self._end(self._epmd, grace_s=0)
            self._epmd = None

    @staticmethod
    def _end(proc, grace_s):
        for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 10),
                            (signal.SIGKILL, 10)):
            if sig is not None:
                try:
                    os.killpg(proc.pid, sig)  # the group we started
                except ProcessLookupError:
                    pass
            try:
                proc.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        # beam may outlive the script that started it, in the same group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def restart(self, down_s=0.0):
        """Stop the node, stay down ``down_s`` seconds, start it again on
        the same ports with the same data (for "RabbitMQ restarts
        mid-plan" tests)."""
        self.stop(keep_epmd=True)
        time.sleep(down_s)
        self.start()
