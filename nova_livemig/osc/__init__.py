"""The ``openstack livemig ...`` commands (an OpenStackClient plugin,
entry points ``openstack.cli.extension`` and ``openstack.livemig.v1``);
they call the API through :mod:`nova_livemig.client`."""
