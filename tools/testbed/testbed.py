"""Helpers for tests and people using the libvirt/QEMU namespace testbed.

The testbed is brought up by ``tools/testbed/up.sh``, which writes a JSON
state file (``/run/nova-livemig-testbed/state.json`` unless
``$TESTBED_STATE`` says otherwise).  This module reads it, builds domain XML
for guests running the ``dirtier`` workload, starts guests on a node and
reads a guest's memory-check status from its serial log, whichever node it
runs on (the log lives in a directory every node sees).

Only :func:`start_guest` imports ``libvirt``.  Command line::

    python3 tools/testbed/testbed.py start node1 quiet --memory-mib 256 \\
        --dirty-mib-s 2 --wws-mib 64
    python3 tools/testbed/testbed.py status quiet
    python3 tools/testbed/testbed.py xml quiet --memory-mib 256
    python3 tools/testbed/testbed.py measure-link node1 node2 --seconds 5
    virsh -c "$(python3 tools/testbed/testbed.py uri node1)" list
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import time
from xml.sax import saxutils

DEFAULT_STATE = '/run/nova-livemig-testbed/state.json'
STATUS_RE = re.compile(
    r'DIRTIER (ok|CORRUPT) seq=(\d+) .*scans=(\d+) corrupt=(\d+)')


class TestbedError(Exception):
    """The testbed is absent or misbehaves."""


class TestbedNotUp(TestbedError):
    """No state file: ``tools/testbed/up.sh`` has not run."""


def state_path():
    """Path of the state file: ``$TESTBED_STATE`` or the default."""
    return pathlib.Path(os.environ.get('TESTBED_STATE', DEFAULT_STATE))


def load_state(path=None):
    """Read the state file written by ``up.sh``.

    :param path: state file; default :func:`state_path`.
    :returns: dict with ``nodes`` (each: ``name``, ``address``,
        ``libvirt_uri``, ``netns``, ``link_mbit_s``, ``gbit_s``,
        ``log_dir``), ``switch``, ``kernel``, ``initramfs``, ``emulator``,
        ``guest_dir``, ``management``.
    :raises TestbedNotUp: if the file does not exist.
    """
    path = pathlib.Path(path) if path else state_path()
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError as exc:
        raise TestbedNotUp(f'no testbed state file at {path}: '
                           'run tools/testbed/up.sh') from exc


def node(name, state=None):
    """The node dict called ``name`` (``node1``...)."""
    state = state or load_state()
    for n in state['nodes']:
        if n['name'] == name:
            return n
    names = ', '.join(n['name'] for n in state['nodes'])
    raise TestbedError(f'no node {name!r}; nodes are: {names}')


def serial_log(name, state=None):
    """Path of guest ``name``'s serial log (readable from any namespace)."""
    state = state or load_state()
    return pathlib.Path(state['guest_dir']) / f'{name}.log'


def domain_xml(name, memory_mib=256, dirty_mib_s=2, wws_mib=64, vcpus=1,
               state=None, scan_s=10):
    """Libvirt domain XML for a dirtier guest.

    :param name: domain name; also names the serial log.
    :param memory_mib: guest memory.  The kernel and initramfs need about
        40 MiB besides the working set.
    :param dirty_mib_s: rate at which the guest rewrites its working set.
    :param wws_mib: writable working set size.
    :param vcpus: virtual CPUs (each TCG vCPU is a host thread).
    :param scan_s: seconds between full memory checks.
    :returns: XML text: TCG (type qemu), QEMU 10 wrapper, direct kernel boot,
        no disk, no NIC, serial port appended to :func:`serial_log`.
    """
    if wws_mib + 48 > memory_mib:
        raise TestbedError(f'wws_mib={wws_mib} does not fit in memory_mib='
                           f'{memory_mib}: need memory_mib >= wws_mib + 48')
    state = state or load_state()
    esc = saxutils.escape
    cmdline = (f'console=ttyS0 quiet clocksource=hpet '
               f'dirty_mib_s={dirty_mib_s} wws_mib={wws_mib} scan_s={scan_s}')
    return f"""<domain type='qemu'>
  <name>{esc(name)}</name>
  <memory unit='MiB'>{int(memory_mib)}</memory>
  <vcpu>{int(vcpus)}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{esc(state['kernel'])}</kernel>
    <initrd>{esc(state['initramfs'])}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{esc(state['emulator'])}</emulator>
    <serial type='file'>
      <source path='{esc(str(serial_log(name, state)))}' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def start_guest(node_name, name, memory_mib=256, dirty_mib_s=2, wws_mib=64,
                vcpus=1, state=None, persistent=False, scan_s=10):
    """Start guest ``name`` on ``node_name`` with an empty serial log.

    :param persistent: define the domain before starting it; by default it
        is transient (``createXML``).
    :returns: the libvirt domain (its connection stays open).
    """
    import libvirt  # only this helper needs libvirt-python

    state = state or load_state()
    xml = domain_xml(name, memory_mib, dirty_mib_s, wws_mib, vcpus, state,
                     scan_s)
    log = serial_log(name, state)
    log.write_text('')
    conn = libvirt.open(node(node_name, state)['libvirt_uri'])
    if persistent:
        dom = conn.defineXML(xml)
        dom.create()
        return dom
    return conn.createXML(xml, 0)


def guest_status(name, state=None):
    """Memory-check status of guest ``name`` from its serial log.

    :returns: dict with ``status`` (``ok``, ``corrupt``, ``crashed``,
        ``booting``), ``seq`` (number of the last status line, -1 if none),
        ``scans`` (full memory checks done), ``corrupt`` (pages found
        corrupt) and ``line`` (last status line).
        Corruption is sticky: one CORRUPT line makes the status corrupt.
    """
    try:
        text = serial_log(name, state).read_text(errors='replace')
    except FileNotFoundError:
        text = ''
    result = {'status': 'booting', 'seq': -1, 'scans': 0, 'corrupt': 0,
              'line': ''}
    for line in text.splitlines():
        m = STATUS_RE.search(line)
        if m:
            result.update(seq=int(m.group(2)), scans=int(m.group(3)),
                          line=line.strip(),
                          corrupt=max(result['corrupt'], int(m.group(4))))
            if result['status'] != 'corrupt':
                result['status'] = 'ok' if m.group(1) == 'ok' else 'corrupt'
        elif 'DIRTIER CORRUPT' in line:
            result['status'] = 'corrupt'
        elif ('Kernel panic' in line or 'DIRTIER FAILED' in line) and \
                result['status'] != 'corrupt':
            result['status'] = 'crashed'
            result['line'] = line.strip()
    return result


def wait_for_status(name, after_seq=-1, min_scans=0, timeout_s=60,
                    state=None):
    """Wait for a status line numbered above ``after_seq`` reporting at
    least ``min_scans`` full memory checks, or for corruption or a crash.

    :returns: :func:`guest_status` result.
    :raises TestbedError: on timeout, with the last status.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        status = guest_status(name, state)
        if status['status'] in ('corrupt', 'crashed'):
            return status
        if status['seq'] > after_seq and status['scans'] >= min_scans:
            return status
        if time.monotonic() > deadline:
            raise TestbedError(
                f'guest {name}: no status line after seq {after_seq} with '
                f'scans >= {min_scans} in {timeout_s} s: {status}')
        time.sleep(0.5)


_RECEIVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print('ready', flush=True)
c, _ = s.accept(); n = 0; t0 = None
while True:
    b = c.recv(1 << 20)
    if not b: break
    if t0 is None: t0 = time.monotonic()
    n += len(b)
print(n, time.monotonic() - t0, flush=True)
"""
_SENDER = """
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = b'x' * (1 << 20); end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end: c.sendall(buf)
c.close()
"""


def measure_link(src, dst, seconds=5.0, port=5201, state=None):
    """Measure TCP throughput from node ``src`` to node ``dst`` (root only).

    :returns: received Mbit/s (payload, measured by the receiver).
    """
    state = state or load_state()
    s, d = node(src, state), node(dst, state)
    recv = subprocess.Popen(
        ['ip', 'netns', 'exec', d['netns'], sys.executable, '-c', _RECEIVER,
         d['address'], str(port)], stdout=subprocess.PIPE, text=True)
    try:
        recv.stdout.readline()
        subprocess.run(['ip', 'netns', 'exec', s['netns'], sys.executable,
                        '-c', _SENDER, d['address'], str(port), str(seconds)],
                       check=True)
        nbytes, elapsed = recv.stdout.readline().split()
    finally:
        recv.wait(timeout=30)
    return int(nbytes) * 8 / float(elapsed) / 1e6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    for cmd in ('start', 'xml'):
        sp = sub.add_parser(cmd)
        if cmd == 'start':
            sp.add_argument('node')
        sp.add_argument('name')
        sp.add_argument('--memory-mib', type=int, default=256)
        sp.add_argument('--dirty-mib-s', type=int, default=2)
        sp.add_argument('--wws-mib', type=int, default=64)
        sp.add_argument('--vcpus', type=int, default=1)
    sp = sub.add_parser('status')
    sp.add_argument('name')
    sp = sub.add_parser('uri')
    sp.add_argument('node')
    sp = sub.add_parser('measure-link')
    sp.add_argument('src')
    sp.add_argument('dst')
    sp.add_argument('--seconds', type=float, default=5.0)
    args = p.parse_args(argv)
    try:
        if args.cmd == 'xml':
            print(domain_xml(args.name, args.memory_mib, args.dirty_mib_s,
                             args.wws_mib, args.vcpus), end='')
        elif args.cmd == 'start':
            start_guest(args.node, args.name, args.memory_mib,
                        args.dirty_mib_s, args.wws_mib, args.vcpus)
            print(f'started {args.name} on {args.node}; serial log '
                  f'{serial_log(args.name)}')
        elif args.cmd == 'status':
            print(json.dumps(guest_status(args.name)))
        elif args.cmd == 'uri':
            print(node(args.node)['libvirt_uri'])
        else:
            rate = measure_link(args.src, args.dst, args.seconds)
            print(f'{args.src} -> {args.dst}: {rate:.1f} Mbit/s')
    except TestbedError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
