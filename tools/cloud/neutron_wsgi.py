"""Neutron's API WSGI application with its ORM mappers configured.

Neutron's ``get_ports`` reads ``Port.port_forwardings``, a backref that
exists only once SQLAlchemy has configured the mappers; in neutron 29's
``neutron.wsgi.api`` nothing does that before the first request, so
``GET /v2.0/ports`` (which Nova calls for every server) fails with an
AttributeError.  Configure them at load time.
"""

from neutron.wsgi.api import application  # noqa: F401
from sqlalchemy import orm

orm.configure_mappers()
