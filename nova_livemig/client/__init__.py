"""A small Python client of the nova-livemig REST API, over a
keystoneauth1 session (the ``openstack livemig`` commands use it).

>>> from keystoneauth1 import session, token_endpoint
>>> sess = session.Session(auth=token_endpoint.Token(
...     'http://livemig.example:9599', 'a-token'))
>>> client = Client(sess)
>>> client.plans.adapter.service_type
'livemig'
"""

from nova_livemig.client.http import SERVICE_TYPE
from nova_livemig.client.http import Client
from nova_livemig.client.http import ClientError

__all__ = ['SERVICE_TYPE', 'ClientError', 'Client']
