"""The REST API of nova-livemig (``nova-livemig-api``).

A WSGI application (:func:`nova_livemig.api.deploy.make_app`) that
authenticates requests with keystonemiddleware, authorizes them with
oslo.policy rules defined in code (:mod:`nova_livemig.api.policies`) and
calls the conductor over RPC (:mod:`nova_livemig.api.conductor`): the API
service holds the bus credentials, its users hold a Keystone token. One
module per resource in :mod:`nova_livemig.api.handlers`; the routes in
:mod:`nova_livemig.api.router`; the reference is ``doc/api-ref.md``.
"""
