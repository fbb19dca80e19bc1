"""What a cloud guest's own memory check says, from its console log.

The guest is the testbed's self-checking initramfs (``dirtier``); its
status lines are described in tools/testbed/README.md.
"""

import re
import time


def last_status(console_text):
    """The last ``DIRTIER`` line as ``{'status', 'seq', 'scans', 'corrupt'}``,
    or None before the guest printed one.

    >>> last_status('DIRTIER start\\nDIRTIER ok seq=3 gen=0 scans=1 corrupt=0')
    {'status': 'ok', 'seq': 3, 'scans': 1, 'corrupt': 0}
    """
    lines = [ln for ln in console_text.splitlines()
             if ln.startswith(('DIRTIER ok ', 'DIRTIER CORRUPT '))]
    if not lines:
        return None
    line = lines[-1]
    fields = dict(re.findall(r'(\w+)=(\d+)', line))
    return {'status': 'ok' if 'DIRTIER ok' in line else 'corrupt',
            'seq': int(fields.get('seq', -1)),
            'scans': int(fields.get('scans', 0)),
            'corrupt': int(fields.get('corrupt', 0))}


def wait_for_scans(cloud, name, min_scans=1, timeout_s=120):
    """Wait until server ``name`` has checked its whole memory
    ``min_scans`` times; its last status."""
    deadline = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < deadline:
        text = cloud.run('console', 'log', 'show', name).stdout
        status = last_status(text)
        if status and (status['status'] != 'ok'
                       or status['scans'] >= min_scans):
            return status
        time.sleep(2)
    raise AssertionError(f'guest {name} did not complete {min_scans} memory '
                         f'checks within {timeout_s} s (last: {status})')
