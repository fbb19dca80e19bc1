"""Nova's functional harness, for tests that run only in the nova venv.

Build that venv with ``tools/nova-venv.sh``; run with
``tools/run-nova-tests.sh``. Where nova is not installed nothing here is
collected.
"""

import importlib.util

if importlib.util.find_spec('nova') is None:
    collect_ignore_glob = ['*.py']
else:
    # Nova patches (or not) its concurrency backend before anything else
    # imports eventlet, threading or oslo.service.
    from nova import monkey_patch

    monkey_patch.patch()
