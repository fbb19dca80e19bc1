"""Console scripts.

oslo.messaging imports eventlet when it is installed (oslo.service depends
on it), which warns that eventlet is deprecated. nova-livemig never
monkey-patches and runs the threading executor only, so the warning says
nothing to an operator: it is silenced for the console scripts.
"""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
