"""The Nova scheduler weigher and its pure half.

``nova_livemig.weigher.MigrationCostWeigher`` is the name nova.conf's
``[filter_scheduler] weight_classes`` uses; the class lives in
:mod:`.migration_cost` and imports nova, so it is loaded only when that
name is asked for. :mod:`.cost_table` reads the published snapshot and
answers what each destination costs; it tests without nova.
"""


def __getattr__(name):
    # Nova resolves weight_classes with getattr() on this package; load the
    # nova-dependent module only then (PEP 562), so that importing
    # nova_livemig.weigher.cost_table never needs nova.
    if name == 'MigrationCostWeigher':
        from nova_livemig.weigher import migration_cost
        return migration_cost.MigrationCostWeigher
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
