"""The API's behaviour as scenario files (``gabbits/*.yaml``, gabbi), run
in-process through wsgi-intercept against the real conductor endpoint
over ``fake://`` RPC and keystonemiddleware with its token fixture.

Each file is one test, run as a unittest suite (gabbi's pytest plugin
would take every test id holding a colon, in the whole session, for one
of its own); a failure shows the requests gabbi made and what failed.
"""

import io
import pathlib
import shutil
import unittest

from gabbi import driver
import pytest

from tests.unit.api import gabbi_fixtures

GABBITS = pathlib.Path(__file__).parent / 'gabbits'


@pytest.mark.parametrize('scenario', sorted(GABBITS.glob('*.yaml')),
                         ids=lambda p: p.stem)
def test_scenario(tmp_path, scenario):
    shutil.copy(scenario, tmp_path / scenario.name)
    suite = driver.build_tests(
        str(tmp_path), unittest.TestLoader(),
        intercept=gabbi_fixtures.setup_app, fixture_module=gabbi_fixtures,
        test_loader_name=f'gabbi_{scenario.stem}')
    out = io.StringIO()
    result = unittest.TextTestRunner(stream=out, verbosity=2).run(suite)
    assert result.testsRun > 1
    assert result.wasSuccessful(), out.getvalue()
