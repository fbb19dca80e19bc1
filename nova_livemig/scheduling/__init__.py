"""When each move of a plan runs.

:mod:`.simulation` is the event-driven scheduler; :mod:`.sharing` shares
link bandwidth between concurrent migrations (max-min fair) and caches
predictions at a share; :mod:`.bounds` holds the lower bounds a plan and a
schedule are judged against. Pure: no I/O, no messaging.
"""
