"""One migration while the scheduler simulates it: a mutable record.

A :class:`Task` is private to the scheduler (its event loop, its admission
of moves onto shared links, its breaking of cycles); what leaves the
scheduler is a :class:`~nova_livemig.scheduling.schedule.ScheduledMove`.
"""


class Task:
    """One migration being simulated.

    :param order: the sort key of its priority (smallest first)
    :param vm: the :class:`~nova_livemig.model.Vm`
    :param links: the link keys of its path
    :param planned: the algorithm the plan gave it
    :param note: how the scheduler changed the plan's move, in words
    """

    __slots__ = (
        'algorithm',
        'base_bytes',
        'bytes',
        'destination',
        'hopped',
        'last_s',
        'links',
        'min_rate',
        'need',
        'need_q',
        'note',
        'order',
        'planned',
        'pred',
        'progress',
        'rate',
        'rates',
        'ref_gbit_s',
        'ref_s',
        'source',
        'start_s',
        'state',
        'total_s',
        'version',
        'vm',
        'wait_token',
        'waited_s',
    )

    def __init__(self, order, vm, source, destination, links, planned,
                 note=''):
        self.order = order
        self.vm = vm
        self.source = source
        self.destination = destination
        self.links = links
        self.planned = planned
        self.note = note
        self.state = 'pending'
        self.hopped = False
        self.waited_s = None
        self.rate = None
        self.ref_gbit_s = None   # the share its prediction was made at
        self.ref_s = None        # its sending time at that share
        self.version = 0
        self.wait_token = 0
        self.need = 0.0
        self.need_q = 0.0   # :attr:`need` quantized (the predictions' grid)

    def add_note(self, text):
        """Append to :attr:`note`, ``'; '`` between notes."""
        self.note = f'{self.note}; {text}' if self.note else text
