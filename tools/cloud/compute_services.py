"""Record each testbed node's nova-compute service before its first start.

Usage: compute_services.py NOVA_CONF NODE STATE_PATH [NODE STATE_PATH ...]

A nova-compute that finds no service record of its own refuses to start
while its hypervisor runs any domain ("My hypervisor has existing
instances"); on the shared testbed other tests' guests come and go on
every node.  So, as a first start would, this creates the service record
(in the cell database of NOVA_CONF) and the node's local identity file
(``STATE_PATH/compute_id``), each only where it is missing.  Prints the
nodes it recorded.
"""

import os
import sys
import uuid


def main(argv):
    if len(argv) < 4 or len(argv) % 2:
        sys.exit(__doc__.split('\n\n')[1])
    from nova import config
    from nova import context
    from nova import objects

    objects.register_all()
    config.parse_args(['compute_services', '--config-file', argv[1]])
    ctxt = context.get_admin_context()
    for host, state_path in zip(argv[2::2], argv[3::2]):
        identity = os.path.join(state_path, 'compute_id')
        if not os.path.exists(identity):
            os.makedirs(state_path, exist_ok=True)
            with open(identity, 'w') as f:
                f.write(str(uuid.uuid4()) + '\n')
        if objects.Service.get_by_host_and_binary(ctxt, host,
                                                  'nova-compute'):
            continue
        objects.Service(ctxt, host=host, binary='nova-compute',
                        topic='compute', report_count=0).create()
        print(host)


if __name__ == '__main__':
    main(sys.argv)
