"""Migration history: every migration the control plane ran, as a record.

A record says what the planner knew before a migration (the VM's size,
its measured dirty rate and samples, the path bandwidth the plan assumed,
the downtime target) and what happened (completed or not, time, pause,
bytes, passes, zero pages). :mod:`~nova_livemig.history.record` holds the
value and its JSON form (format version 1, ``doc/history.md``);
:mod:`~nova_livemig.history.jsonl` reads and writes files of them (JSON
Lines). The conductor stores one per finished step; ``nova-livemig
history export`` writes them; ``nova-livemig calibrate`` fits the cost
models' constants to them (:mod:`nova_livemig.calibration`).
"""
