"""Synthetic clusters for benchmarks: seeded, and shaped like a real cloud.

Racks of ``rack_size`` hosts under a ToR switch; every ToR has an uplink to
each spine switch (leaf-spine). Racks are homogeneous: most are general
purpose, some high-memory (their own aggregate), a few hold SSD hosts (a
second aggregate on top of ``general``). A few hosts are in maintenance or
down. VMs get a realistic flavor mix and a long-tailed dirty rate (most
guests dirty a few MiB/s, a few databases and caches dirty hundreds), and are
placed where they fit, as a scheduler would have put them; 1 % are pinned.

Only the standard library is used, so the fleet benchmarks can reuse it:

>>> doc = generate(n_hosts=80, n_vms=400, seed=1)
>>> len(doc['hosts']), len(doc['vms']), doc['network']['switches'][:3]
(80, 400, ['tor-000', 'tor-001', 'spine-0'])
"""

import math
import random

#: (name, vcpus, memory_mib, weight, host class)
FLAVORS = (
    ('m1.small', 1, 2048, 12, 'general'),
    ('m1.medium', 2, 4096, 22, 'general'),
    ('m1.large', 4, 8192, 25, 'general'),
    ('m1.xlarge', 8, 16384, 16, 'general'),
    ('m1.2xlarge', 16, 32768, 10, 'general'),
    ('db.xlarge', 8, 65536, 8, 'general'),
    ('r.2xlarge', 16, 131072, 5, 'highmem'),
    ('r.4xlarge', 32, 262144, 2, 'highmem'),
)
#: (class, vcpus, memory_mib, cpu ratio, rack share)
HOST_CLASSES = (
    ('general', 64, 393216, 4.0, 0.80),
    ('highmem', 96, 786432, 2.0, 0.20),
)


def _rack_classes(n_racks, rng):
    """A class per rack: the shares of HOST_CLASSES, every class at least
    one rack when there are enough racks, general purpose otherwise."""
    classes = []
    for name, _, _, _, share in HOST_CLASSES[1:]:
        if len(classes) < n_racks - 1:
            classes += [name] * max(1, round(share * n_racks))
    classes = classes[:max(n_racks - 1, 0)]
    classes += [HOST_CLASSES[0][0]] * (n_racks - len(classes))
    rng.shuffle(classes)
    return classes


def _dirty_rate(rng):
    """Long-tailed: median ~15 MiB/s, 5 % above ~300 MiB/s."""
    return round(min(rng.lognormvariate(math.log(15.0), 1.8), 4000.0), 1)


#: (scale, weight): host sizes of a mixed fleet, as a multiple of the
#: class's vcpus and memory (small, standard, large)
MIXED_SIZES = ((0.5, 0.35), (1.0, 0.40), (2.0, 0.25))


def generate_mixed(n_hosts=2000, n_vms=20000, seed=0, sizes=MIXED_SIZES,
                   **kwargs):
    """:func:`generate` with hosts of several sizes in every rack and
    aggregate: each host's vcpus and memory scaled by a factor drawn from
    ``sizes``. VMs land on hosts picked at random where they fit, so small
    hosts end up fuller than large ones, as in a cloud grown over years.

    >>> doc = generate_mixed(n_hosts=80, n_vms=400, seed=1)
    >>> sorted({h['vcpus'] for h in doc['hosts']})
    [32, 48, 64, 96, 128, 192]
    """
    return generate(n_hosts=n_hosts, n_vms=n_vms, seed=seed,
                    host_sizes=sizes, **kwargs)


def generate(n_hosts=10000, n_vms=100000, rack_size=40, spines=4, seed=0,
             maintenance_fraction=0.005, down_fraction=0.002,
             host_sizes=None):
    """A snapshot v1 document (plain dicts and lists, not yet validated).

    :param n_hosts: compute hosts
    :param n_vms: VMs to place (fewer if the cluster runs out of room)
    :param rack_size: hosts per rack (one ToR switch each)
    :param spines: spine switches; each ToR has a 100 Gbit/s uplink to each
    :param seed: the only source of randomness
    :param host_sizes: ``((scale, weight), ...)``: scale each host's vcpus
        and memory by a factor drawn from these (None: one size per class)
    :returns: a dict in snapshot format v1
    """
    rng = random.Random(seed)
    n_racks = math.ceil(n_hosts / rack_size)
    rack_class = _rack_classes(n_racks, rng)
    classes = {c[0]: c for c in HOST_CLASSES}
    tors = [f'tor-{r:03d}' for r in range(n_racks)]
    spine_names = [f'spine-{s}' for s in range(spines)]
    hosts, links = [], []
    size_rng = random.Random(seed + 101)  # the default fleet stays as it was
    for i in range(n_hosts):
        rack = i // rack_size
        cls, vcpus, memory_mib, ratio, _ = classes[rack_class[rack]]
        if host_sizes:
            scale = size_rng.choices([s for s, _ in host_sizes],
                                     [w for _, w in host_sizes])[0]
            vcpus, memory_mib = int(vcpus * scale), int(memory_mib * scale)
        aggregates = [cls]
        if cls == 'general' and rack % 7 == 3:
            aggregates.append('ssd')
        roll = rng.random()
        state = ('maintenance' if roll < maintenance_fraction else
                 'down' if roll < maintenance_fraction + down_fraction
                 else 'up')
        name = f'cmp-r{rack:03d}-{i % rack_size:02d}'
        hosts.append({'name': name, 'vcpus': vcpus, 'memory_mib': memory_mib,
                      'cpu_allocation_ratio': ratio,
                      'ram_allocation_ratio': 1.0, 'state': state,
                      'aggregates': aggregates})
        uplink = 25.0 if cls == 'general' else 50.0
        links.append({'a': name, 'b': tors[rack], 'gbit_s': uplink,
                      'used_gbit_s': round(uplink * rng.uniform(0.0, 0.6),
                                           2)})
    for tor in tors:
        for spine in spine_names:
            links.append({'a': tor, 'b': spine, 'gbit_s': 100.0,
                          'used_gbit_s': round(rng.uniform(10.0, 75.0), 1)})
    vms = _place_vms(hosts, n_vms, rng)
    return {'version': 1, 'hosts': hosts, 'vms': vms,
            'network': {'switches': tors + spine_names, 'links': links}}


def _place_vms(hosts, n_vms, rng):
    by_class = {}
    for index, host in enumerate(hosts):
        if host['state'] != 'down':
            by_class.setdefault(host['aggregates'][0], []).append(index)
    free_vcpus = [h['vcpus'] * h['cpu_allocation_ratio'] for h in hosts]
    free_mem = [h['memory_mib'] * h['ram_allocation_ratio'] for h in hosts]
    weights = [f[3] for f in FLAVORS]
    vms = []
    misses = 0
    while len(vms) < n_vms and misses < 50 * n_vms:
        _, vcpus, memory_mib, _, cls = rng.choices(FLAVORS, weights)[0]
        candidates = by_class.get(cls)
        if not candidates:
            misses += 1
            continue
        index = candidates[rng.randrange(len(candidates))]
        if free_vcpus[index] < vcpus or free_mem[index] < memory_mib:
            misses += 1
            continue
        free_vcpus[index] -= vcpus
        free_mem[index] -= memory_mib
        dirty = _dirty_rate(rng)
        # pages rewritten within a minute or two, at least the hot core
        wws = min(max(dirty * rng.uniform(20.0, 120.0), 128.0),
                  memory_mib * 0.9)
        vms.append({
            'id': f'vm-{len(vms):06d}', 'host': hosts[index]['name'],
            'vcpus': vcpus, 'memory_mib': memory_mib,
            'cpu_util': round(rng.betavariate(2, 5), 3),
            'dirty_rate_mib_s': dirty,
            'dirty_rate_err_mib_s': round(dirty * rng.uniform(0.05, 0.3), 1),
            'wws_mib': round(wws, 1),
            'resident_mib': round(memory_mib * rng.uniform(0.4, 1.0), 1),
            'pinned': rng.random() < 0.01,
        })
    return vms
