"""A conductor chore run in a thread of its own, again and again.

>>> import threading
>>> ran = threading.Event()
>>> loop = Loop('livemig-doc', ran.set, 10.0, 'the doctest chore')
>>> loop.start(); _ = ran.wait(5); loop.stop()
>>> ran.is_set()
True
"""

import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class Loop:
    """Call ``body()`` every ``interval_s`` until stopped; an exception
    is logged (naming ``what``) and the loop goes on.

    :param name: the thread's name
    :param body: the chore, without arguments
    :param interval_s: seconds between the end of one call and the next
    :param what: the chore in words, for the log
    """

    def __init__(self, name, body, interval_s, what):
        self.name = name
        self.body = body
        self.interval_s = interval_s
        self.what = what
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name,
                                        daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.body()
            except Exception:  # noqa: BLE001 - keep the thread alive
                LOG.exception('%s failed', self.what)
            self._stop.wait(self.interval_s)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
