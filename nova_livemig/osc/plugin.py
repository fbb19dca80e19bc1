"""The OpenStackClient plugin hooks: how ``openstack`` builds the
``livemig`` client of its ``client_manager``."""

from osc_lib import utils

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_livemig_api_version'
API_NAME = 'livemig'
API_VERSIONS = {'1': 'nova_livemig.client.Client'}


def make_client(instance):
    """The :class:`nova_livemig.client.Client` of an OSC
    ``ClientManager``: its session, interface and region; the endpoint
    from the catalog (service type ``livemig``) unless ``--os-endpoint``
    or a token-endpoint auth gives it."""
    from nova_livemig import client
    return client.Client(instance.session, interface=instance.interface,
                         region_name=instance.region_name)


def build_option_parser(parser):
    parser.add_argument(
        '--os-livemig-api-version', metavar='<livemig-api-version>',
        default=utils.env('OS_LIVEMIG_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='nova-livemig API version, default '
             f'{DEFAULT_API_VERSION} (Env: OS_LIVEMIG_API_VERSION)')
    return parser
