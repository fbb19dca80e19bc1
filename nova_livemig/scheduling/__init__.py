"""When each move of a plan runs.

:func:`.simulation.schedule` is the entry point: an event-driven simulation
of the moves over hosts and links, which returns a :class:`.schedule.Schedule`
(:mod:`.schedule` holds the result values and the readers of a finished
schedule). The simulation draws on :mod:`.sharing` (max-min fair shares of
link bandwidth), :mod:`.predictions` (the cost models' predictions at a
share, cached), :mod:`.admission` (whether a move may start on links it
would share), :mod:`.cycles` (temporary hops, moves given up),
:mod:`.nova_default` (the baseline: what Nova does by default) and
:mod:`.task` (a move while it is simulated). :mod:`.bounds` holds the lower
bounds a plan and a schedule are judged against. Pure: no I/O, no
messaging.
"""
