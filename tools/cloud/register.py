"""Register the small cloud's catalog, images and flavors, idempotently.

Usage: register.py catalog | images

``catalog``: service projects, users and endpoints in Keystone (the
Keystone endpoint itself comes from ``keystone-manage bootstrap``).
``images``: the testbed's kernel and self-checking initramfs as Glance
kernel/ramdisk images, and a tiny root disk image per guest kind whose
``os_command_line`` tells the guest's dirtier how busy to be; flavors sized
for the testbed.  Credentials come from the environment (OS_* of the admin,
CLOUD_SERVICE_PASSWORD), never from the command line, and are not printed.
"""

import json
import os
import subprocess
import sys

import openstack

SERVICES = {
    # name: (service type, port variable, path)
    'placement': ('placement', 'CLOUD_PLACEMENT_PORT', ''),
    'glance': ('image', 'CLOUD_GLANCE_PORT', ''),
    'neutron': ('network', 'CLOUD_NEUTRON_PORT', ''),
    'nova': ('compute', 'CLOUD_NOVA_PORT', '/v2.1'),
}

#: guest kinds: the dirtier's kernel arguments (see tools/testbed/README.md)
GUESTS = {
    'quiet': {'dirty_mib_s': 1, 'wws_mib': 16},
    'busy': {'dirty_mib_s': 40, 'wws_mib': 128},
}

#: flavors sized for the testbed: name -> (memory_mib, vcpus, disk_gib)
FLAVORS = {'lm.tiny': (256, 1, 0), 'lm.small': (384, 1, 0)}


def _cloud():
    return openstack.connect(auth_url=os.environ['OS_AUTH_URL'],
                             username='admin',
                             password=os.environ['OS_PASSWORD'],
                             project_name='admin',
                             user_domain_name='Default',
                             project_domain_name='Default',
                             region_name='RegionOne')


def catalog(conn):
    host = os.environ['CLOUD_HOST']
    ident = conn.identity
    project = (ident.find_project('service', domain_id='default')
               or ident.create_project(name='service', domain_id='default'))
    admin_role = ident.find_role('admin')
    # keystonemiddleware accepts a service token (X-Service-Token, which
    # Nova sends with its [service_user]) only from a user with this role.
    service_role = ident.find_role('service') or ident.create_role(
        name='service')
    for name, (kind, port_var, path) in SERVICES.items():
        user = ident.find_user(name, domain_id='default')
        if user is None:
            user = ident.create_user(
                name=name, domain_id='default',
                password=os.environ['CLOUD_SERVICE_PASSWORD'],
                default_project_id=project.id)
        for role in (admin_role, service_role):
            ident.assign_project_role_to_user(project, user, role)
        service = ident.find_service(name)
        if service is None:
            service = ident.create_service(name=name, type=kind)
        url = f'http://{host}:{os.environ[port_var]}{path}'
        existing = {e.interface
                    for e in ident.endpoints(service_id=service.id)}
        for interface in ('public', 'internal', 'admin'):
            if interface not in existing:
                ident.create_endpoint(service_id=service.id, url=url,
                                      interface=interface,
                                      region_id='RegionOne')


def _image(conn, name, path, disk_format, properties):
    image = conn.image.find_image(name)
    if image is not None and image.status == 'active':
        return image
    if image is not None:
        conn.image.delete_image(image)
    return conn.create_image(name, filename=path, disk_format=disk_format,
                             container_format={'aki': 'aki', 'ari': 'ari'}
                             .get(disk_format, 'bare'),
                             visibility='public', wait=True, **properties)


def images(conn):
    with open(os.environ['TESTBED_STATE']) as f:
        state = json.load(f)
    kernel = _image(conn, 'lm-kernel', state['kernel'], 'aki', {})
    ramdisk = _image(conn, 'lm-initramfs', state['initramfs'], 'ari', {})
    disk = os.path.join(os.environ['CLOUD_VAR'], 'root-disk.qcow2')
    if not os.path.exists(disk):
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk,
                        '64M'], check=True)
    for kind, args in GUESTS.items():
        cmdline = ('console=ttyS0 quiet clocksource=hpet '
                   f"dirty_mib_s={args['dirty_mib_s']} "
                   f"wws_mib={args['wws_mib']} scan_s=10")
        _image(conn, f'lm-{kind}', disk, 'qcow2',
               {'kernel_id': kernel.id, 'ramdisk_id': ramdisk.id,
                'os_command_line': cmdline})
    for name, (ram, vcpus, disk_gib) in FLAVORS.items():
        if conn.compute.find_flavor(name) is None:
            conn.compute.create_flavor(name=name, ram=ram, vcpus=vcpus,
                                       disk=disk_gib, is_public=True)


def main(argv):
    what = argv[1] if len(argv) > 1 else ''
    actions = {'catalog': catalog, 'images': images}
    if what not in actions:
        sys.exit(f'usage: register.py {{{"|".join(actions)}}}')
    actions[what](_cloud())


if __name__ == '__main__':
    main(sys.argv)
