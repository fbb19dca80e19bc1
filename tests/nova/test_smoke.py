import os, sysconfig
import pytest
pytest.importorskip('nova')
from nova.tests.functional import integrated_helpers

class T(integrated_helpers.ProviderUsageBaseTestCase):
    compute_driver = 'fake.MediumFakeDriver'
    def setUp(self):
        self.flags(api_paste_config=os.path.join(sysconfig.get_path('data'), 'etc/nova/api-paste.ini'), group='wsgi')
        super().setUp()
    def _clear_attrs(self):
        keep = self.__dict__.get(self._testMethodName)
        super()._clear_attrs()
        if keep is not None:
            self.__dict__[self._testMethodName] = keep
    def test_boot(self):
        self._start_compute('host1')
        self._start_compute('host2')
        s = self._create_server(networks='none', az='nova:host1')
        assert s['OS-EXT-SRV-ATTR:host'] == 'host1'
