"""How ``nova-livemig plan ...`` and ``migrate`` reach the conductor:
through the REST API (:mod:`nova_livemig.client`), over a keystoneauth1
session built the usual OpenStack way. No message-bus credentials.

* ``--os-cloud NAME`` (or ``OS_CLOUD``): a cloud of ``clouds.yaml``;
  without it, the ``OS_*`` environment variables (``OS_AUTH_URL``,
  ``OS_USERNAME``, ...), as the ``openstack`` command reads them
  (:mod:`openstack.config`). The endpoint comes from the Keystone catalog
  (service type ``livemig``), unless ``--api-url`` or the cloud's
  ``livemig_endpoint_override`` names it.
* ``--api-url URL --os-token TOKEN``: that endpoint with that token and no
  Keystone (an admin token, or ``admin``/``reader`` of an API running
  with ``[api] auth_strategy = noauth``).

The arguments are checked before anything is contacted; an error names
the option and never shows the token.

>>> check_arguments(types.SimpleNamespace(api_url='ftp://x', os_token=None,
...     os_cloud=None, os_region_name=None))
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: --api-url: got 'ftp://x'; allowed: \
an http:// or https:// URL with a host name, e.g. http://controller:9599
"""

import os
import re
import time
import types  # noqa: F401 - the doctest's
import urllib.parse

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import validation
from nova_livemig.cmd import arguments

#: the longest --api-url
MAX_URL_CHARS = 2048
#: the longest --os-token (a Fernet token is about 250 characters, a JWS
#: one about 800)
MAX_TOKEN_CHARS = 8192
URL_ALLOWED = ('an http:// or https:// URL with a host name, e.g. '
               'http://controller:9599')
TOKEN_ALLOWED = (f'a token of 1 to {MAX_TOKEN_CHARS} printable ASCII '
                 'characters without spaces')
WHERE = ('a cloud of clouds.yaml (--os-cloud or OS_CLOUD), the OS_AUTH_URL '
         'and other OS_* variables, or --api-url with --os-token')
#: the options of this module: ``dest: flag``
OPTIONS = {'os_cloud': '--os-cloud', 'os_region_name': '--os-region-name',
           'os_interface': '--os-interface', 'api_url': '--api-url',
           'os_token': '--os-token'}
INTERFACES = ('public', 'internal', 'admin')
#: the states of the plans ``plan purge`` deletes (the conductor's own
#: purge deletes the same)
PURGEABLE = ('completed', 'failed', 'aborted', 'dry-run')
DAY_S = 86400
#: plans asked for per page while ``plan purge`` looks for old ones
PAGE = 1000
#: seconds a request to the API may take (``--api-url``; a cloud's
#: ``api_timeout`` otherwise)
TIMEOUT_S = 120


def add_arguments(parser):
    """The options that say where the API is and who is asking."""
    group = parser.add_argument_group(
        'reaching the API (nova-livemig-api)',
        'Keystone as the openstack command does: clouds.yaml or OS_* '
        'variables; or an explicit --api-url with --os-token')
    group.add_argument('--os-cloud', metavar='NAME',
                       help='a cloud of clouds.yaml (default: OS_CLOUD)')
    group.add_argument('--os-region-name', metavar='REGION',
                       help='the catalog region (default: OS_REGION_NAME)')
    group.add_argument('--os-interface', choices=INTERFACES,
                       help='the catalog interface (default: '
                            'OS_INTERFACE, else public)')
    group.add_argument('--api-url', metavar='URL',
                       help='the API endpoint, instead of the catalog\'s, '
                            'e.g. http://controller:9599')
    group.add_argument('--os-token', metavar='TOKEN',
                       help='with --api-url: the token to send (no '
                            'Keystone; never shown in errors)')
    return group


def _url(value):
    text = value if isinstance(value, str) else ''
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port  # a port out of range is a ValueError
    except ValueError:
        parts, port = None, None
    if (not text or len(text) > MAX_URL_CHARS or not text.isascii()
            or not text.isprintable() or ' ' in text or parts is None
            or parts.scheme not in ('http', 'https') or not parts.hostname
            or port == 0):
        return validation.INVALID
    if parts.username is not None or parts.password is not None:
        return validation.INVALID
    return text


def _token(value):
    if (isinstance(value, str) and 0 < len(value) <= MAX_TOKEN_CHARS
            and value.isascii() and value.isprintable()
            and ' ' not in value):
        return value
    return validation.INVALID


class _NotShown:
    """A value an error message describes instead of showing."""

    def __init__(self, words):
        self.words = words

    def __repr__(self):
        return self.words


_USERINFO = re.compile(r'([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@(.*)', re.S)


def _shown_url(value):
    """The URL for an error message: bounded, and without the
    ``user:password@`` part.

    >>> _shown_url('http://me:p@ss@api:9599/')
    'http://***@api:9599/'
    """
    match = _USERINFO.match(value)
    if match:
        value = f'{match[1]}***@{match[2]}'
    return loglines.shown(value)


def check_arguments(args):
    """Check the connection options, before anything is contacted.

    :raises InvalidInput: naming the option; the token is never shown
    """
    url, token, cloud, region = (getattr(args, dest, None) for dest in (
        'api_url', 'os_token', 'os_cloud', 'os_region_name'))
    if url is not None and _url(url) is validation.INVALID:
        raise exception.InvalidInput(
            '--api-url', _shown_url(url), URL_ALLOWED + (
                ', without a user:password@ part (credentials go in '
                '--os-token or clouds.yaml)' if _USERINFO.match(url)
                else ''))
    if token is not None:
        if _token(token) is validation.INVALID:
            raise exception.InvalidInput(
                '--os-token', _NotShown(f'a value of {len(token)} '
                                        'characters (not shown)'),
                TOKEN_ALLOWED)
        if url is None:
            raise exception.InvalidInput(
                '--os-token', _NotShown('a token (not shown)'),
                'only with --api-url (for Keystone: --os-cloud or the OS_* '
                'variables)')
        if cloud is not None:
            raise exception.InvalidInput(
                '--os-cloud', cloud, 'nothing with --os-token (the '
                'token and --api-url say it all)')
    arguments.check_names([
        ('--os-cloud', cloud, validation.NAME),
        ('--os-region-name', region, validation.NAME)])


def make_client(args, environ=None):
    """The API client the options and the environment say.

    :param args: parsed arguments with the :data:`OPTIONS`
    :param environ: the environment (``os.environ``)
    :returns: a :class:`nova_livemig.client.Client`
    :raises InvalidInput: naming the option, when no way to the API is
        configured or clouds.yaml has no such cloud
    """
    from keystoneauth1 import session as ks_session
    from keystoneauth1 import token_endpoint

    from nova_livemig import client as client_mod
    check_arguments(args)
    if args.os_token is not None:
        sess = ks_session.Session(auth=token_endpoint.Token(
            args.api_url, args.os_token), timeout=TIMEOUT_S)
        return client_mod.Client(sess, endpoint_override=args.api_url)
    environ = os.environ if environ is None else environ
    region = args.os_region_name or environ.get('OS_REGION_NAME')
    interface = args.os_interface or environ.get('OS_INTERFACE')
    cloud = _cloud(args.os_cloud or environ.get('OS_CLOUD'), region,
                   interface)
    service = client_mod.SERVICE_TYPE
    endpoint = args.api_url or cloud.get_endpoint(service)
    return client_mod.Client(cloud.get_session(),
                             endpoint_override=endpoint,
                             interface=cloud.get_interface(service),
                             region_name=cloud.get_region_name(service))


def _cloud(name, region, interface):
    """The :class:`openstack.config.cloud_region.CloudRegion` of ``name``
    (None: the only cloud of clouds.yaml, or the OS_* variables)."""
    from keystoneauth1 import exceptions as ks_exc
    from openstack import config
    from openstack import exceptions as sdk_exc
    kwargs = {k: v for k, v in (('region_name', region),
                                ('interface', interface)) if v}
    try:
        return config.OpenStackConfig().get_one(cloud=name, **kwargs)
    except ks_exc.MissingRequiredOptions as err:
        missing = ', '.join(o.dest for o in err.options)
        raise exception.InvalidInput(
            '--os-cloud', name, f'{WHERE} (the Keystone options lack '
            f'{missing})') from None
    except (sdk_exc.ConfigException, ks_exc.ClientException) as err:
        raise exception.InvalidInput(
            '--os-cloud', name,
            f'{WHERE} ({err})') from None


#: what a keystoneauth1 connection error means, in words
CONNECTION_ERRORS = {'ConnectFailure': 'connection refused or no route',
                     'ConnectTimeout': 'connection timed out',
                     'SSLError': 'the TLS handshake failed',
                     'UnknownConnectionError': 'the connection failed'}
#: the API's names of the fields the command takes as options
FIELDS = {'body.policy': '--policy', 'body.hosts': '--host',
          'body.vms': '--vm', 'query.marker': '--marker',
          'query.limit': '--limit', 'path.plan_id': 'ID'}


def _as_options(message):
    """The API's message with its field named as the command's option.

    >>> _as_options("body.hosts[0]: got 'zz'; allowed: a host")
    "--host: got 'zz'; allowed: a host"
    """
    for field, flag in FIELDS.items():
        if message.startswith(field):
            rest = message[len(field):]
            if rest.startswith('['):
                rest = rest[rest.find(']') + 1:]
            return flag + rest
    return message


class Plans:
    """The plans of the API, called as the command needs them; the
    client's errors become the command's (exit status 2 for what the
    caller can correct, 1 when the service failed or cannot be reached),
    with the token never shown.

    :param client: a :class:`nova_livemig.client.Client`
    :param secrets: strings to hide from every message (the token)
    """

    def __init__(self, client, secrets=()):
        self.client = client
        self.secrets = [s for s in secrets if s]

    def _hide(self, text):
        for secret in self.secrets:
            text = text.replace(secret, '***')
        return text

    def _call(self, func, *args, **kwargs):
        from keystoneauth1 import exceptions as ks_exc

        from nova_livemig import client as client_mod
        try:
            return func(*args, **kwargs)
        except client_mod.ClientError as err:
            message = self._hide(_as_options(err.message))
            if err.status >= 500:
                raise exception.MigrationFailed(
                    f'the API failed (HTTP {err.status}): {message}'
                ) from None
            if err.status == 401:
                message = (f'{message.rstrip(".")}; check the credentials '
                           '(--os-cloud, the OS_* variables, or --os-token)')
            raise exception.LivemigError(
                f'{message} (HTTP {err.status})') from None
        except ks_exc.EndpointNotFound:
            raise exception.InvalidInput(
                '--api-url', None, 'the API endpoint: the Keystone catalog '
                'has no "livemig" service in this region and interface; '
                'name it with --api-url') from None
        except ks_exc.Unauthorized as err:
            raise exception.LivemigError(
                'Keystone refused the credentials (--os-cloud, the OS_* '
                f'variables): {self._hide(str(err))}') from None
        except ks_exc.ConnectionError as err:
            raise exception.MigrationFailed(
                f'cannot reach the API at {self._endpoint()} '
                f'({CONNECTION_ERRORS.get(type(err).__name__, "no answer")};'
                ' is nova-livemig-api running there?)') from None
        except ks_exc.ClientException as err:
            raise exception.MigrationFailed(
                f'the API request failed: {self._hide(str(err))}') from None

    def _endpoint(self):
        adapter = self.client.plans.adapter
        try:
            url = adapter.endpoint_override or adapter.get_endpoint()
        except Exception:  # noqa: BLE001 - only for the message
            url = None
        return self._hide(str(url)) if url else 'the catalog\'s endpoint'

    def create_plan(self, policy, vms, hosts, dry_run):
        return self._call(self.client.plans.create, policy, hosts=hosts,
                          vms=vms, dry_run=dry_run)

    def list_plans(self, limit, marker=None, state=None):
        """:returns: ``(plans, next_marker)``"""
        return self._call(self.client.plans.list, limit=limit,
                          marker=marker, state=state)

    def show_plan(self, plan_id):
        return self._call(self.client.plans.get, plan_id)

    def execute_plan(self, plan_id):
        return self._call(self.client.plans.execute, plan_id)

    def abort_plan(self, plan_id):
        return self._call(self.client.plans.abort, plan_id)

    def purge_plans(self, older_than_days, now=None):
        """Delete the finished plans that finished more than
        ``older_than_days`` ago (a dry run counts from its creation), as
        the conductor's own purge does, one ``DELETE`` each.

        :param now: epoch seconds (default: this host's clock)
        :returns: ``{'plans': n, 'steps': n, 'older_than_days': days}``
        """
        before = (time.time() if now is None else now) \
            - older_than_days * DAY_S
        old = []
        for state in PURGEABLE:
            marker = None
            while True:
                page, marker = self.list_plans(PAGE, marker, state=state)
                old += [p for p in page
                        if (p.get('finished_at') or p['created_at'])
                        < before]
                if marker is None:
                    break
        plans = steps = 0
        for plan in old:
            if self.delete_plan(plan['id']):
                plans += 1
                steps += sum((plan.get('step_counts') or {}).values())
        return {'plans': plans, 'steps': steps,
                'older_than_days': older_than_days}

    def delete_plan(self, plan_id):
        """:returns: True, or False when the plan was gone already"""
        from nova_livemig import client as client_mod

        def delete():
            try:
                self.client.plans.delete(plan_id)
            except client_mod.ClientError as err:
                if err.status == 404:
                    return False
                raise
            return True
        return self._call(delete)


def plans_api(args, environ=None):
    """The :class:`Plans` of the API the options name."""
    return Plans(make_client(args, environ), secrets=(args.os_token,))
