"""``client.plans``: plans and their steps."""


class Plans:
    def __init__(self, http):
        self.http = http
        self.adapter = http.adapter

    def list(self, limit=None, marker=None, state=None, policy=None):
        """One page of plan summaries, newest first.

        :returns: ``(plans, next_marker)``; ``next_marker`` is None on the
            last page
        """
        data = self.http.request('GET', '/plans', params={
            'limit': limit, 'marker': marker, 'state': state,
            'policy': policy})
        plans = data['plans']
        more = any(link.get('rel') == 'next'
                   for link in data.get('plans_links', ()))
        return plans, (plans[-1]['id'] if more and plans else None)

    def create(self, policy, hosts=(), vms=(), dry_run=False):
        """:returns: the plan (it may be ``planning`` still)"""
        return self.http.request('POST', '/plans', body={
            'policy': policy, 'hosts': list(hosts), 'vms': list(vms),
            'dry_run': dry_run})['plan']

    def get(self, plan_id):
        return self.http.request('GET', f'/plans/{plan_id}')['plan']

    def execute(self, plan_id):
        return self.http.request('POST', f'/plans/{plan_id}/execute')['plan']

    def abort(self, plan_id):
        return self.http.request('POST', f'/plans/{plan_id}/abort')['plan']

    def delete(self, plan_id):
        self.http.request('DELETE', f'/plans/{plan_id}')

    def steps(self, plan_id):
        return self.http.request('GET', f'/plans/{plan_id}/steps')['steps']
