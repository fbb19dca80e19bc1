"""Throwaway certificate authorities for the functional tests, made with
the ``openssl`` command line (EC P-256 keys: instant to generate).

>>> ca = make_ca('/tmp/x', 'test CA')                  # doctest: +SKIP
>>> server = issue(ca, '/tmp/x', 'broker', ['127.0.0.1', 'localhost'])
...                                                     # doctest: +SKIP
"""

import dataclasses
import ipaddress
import os
import secrets
import shutil
import subprocess

_CA_CONFIG = """[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = {name}
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_LEAF_EXTENSIONS = """basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = {names}
"""


@dataclasses.dataclass(frozen=True)
class Pair:
    """A certificate and its private key, PEM files."""
    cert: str
    key: str


def missing():
    """None when ``openssl`` is installed, else why not."""
    return None if shutil.which('openssl') else 'openssl is not installed'


def _openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def _ec_key(path, cwd):
    _openssl('genpkey', '-algorithm', 'EC', '-pkeyopt',
             'ec_paramgen_curve:P-256', '-out', path, cwd=cwd)
    os.chmod(path, 0o600)


def make_ca(directory, name, days=2):
    """A self-signed CA in ``directory`` (created), files named after
    ``name``."""
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, name.replace(' ', '-'))
    config = stem + '.cnf'
    with open(config, 'w') as f:
        f.write(_CA_CONFIG.format(name=name))
    _ec_key(stem + '.key', directory)
    _openssl('req', '-x509', '-new', '-key', stem + '.key', '-config',
             config, '-days', str(days), '-sha256', '-out', stem + '.pem',
             cwd=directory)
    return Pair(stem + '.pem', stem + '.key')


def issue(ca, directory, name, hosts, days=2):
    """A server certificate signed by ``ca`` for ``hosts`` (IP addresses
    and DNS names: its subject alternative names)."""
    stem = os.path.join(directory, name)
    _ec_key(stem + '.key', directory)
    _openssl('req', '-new', '-key', stem + '.key', '-subj', f'/CN={name}',
             '-out', stem + '.csr', cwd=directory)
    names = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
            names.append(f'IP:{host}')
        except ValueError:
            names.append(f'DNS:{host}')
    with open(stem + '.ext', 'w') as f:
        f.write(_LEAF_EXTENSIONS.format(names=','.join(names)))
    _openssl('x509', '-req', '-in', stem + '.csr', '-CA', ca.cert, '-CAkey',
             ca.key, '-set_serial', str(secrets.randbits(63)), '-days',
             str(days), '-sha256', '-extfile', stem + '.ext', '-out',
             stem + '.pem', cwd=directory)
    return Pair(stem + '.pem', stem + '.key')
