"""``client.history``, ``.calibration``, ``.snapshot``, ``.periodic``,
``.whatif``: what the conductor knows of the cluster."""


class _Resource:
    def __init__(self, http):
        self.http = http


class History(_Resource):
    def list(self, limit=None, since=None):
        """Migration records, newest first."""
        return self.http.request('GET', '/history', params={
            'limit': limit, 'since': since})['history']


class Calibration(_Resource):
    def get(self):
        return self.http.request('GET', '/calibration')['calibration']

    def refit(self):
        return self.http.request('POST', '/calibration/refit')['calibration']


class Snapshot(_Resource):
    def get(self):
        return self.http.request('GET', '/snapshot')['snapshot']


class Periodic(_Resource):
    def list(self):
        return self.http.request('GET', '/periodic')['periodic']

    def dry_run(self, policy):
        return self.http.request('POST', f'/periodic/{policy}/dry-run')[
            'plan']


class WhatIf(_Resource):
    def plan(self, snapshot, policy, hosts=(), vms=(), schedule=True,
             max_downtime_ms=None):
        """Plan on ``snapshot`` (a dict, format v1); nothing is recorded."""
        body = {'snapshot': snapshot, 'policy': policy, 'hosts': list(hosts),
                'vms': list(vms), 'schedule': schedule}
        if max_downtime_ms is not None:
            body['max_downtime_ms'] = max_downtime_ms
        return self.http.request('POST', '/whatif', body=body)['plan']
