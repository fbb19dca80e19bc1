"""The link graph: widest paths between hosts, through switches only."""

import pytest

from nova_livemig import exception
from nova_livemig import graph
from nova_livemig import model


def snapshot(links, hosts=('a', 'b', 'c'), switches=()):
    return model.from_primitive({
        'version': 1,
        'hosts': [{'name': h, 'vcpus': 8, 'memory_mib': 8192}
                  for h in hosts],
        'vms': [],
        'network': {'switches': list(switches), 'links': [
            dict(zip(('a', 'b', 'gbit_s', 'used_gbit_s'), lk))
            for lk in links]}})


def two_racks():
    """a, b on tor1; c on tor2; the spine is busy, a's uplink half used."""
    return graph.LinkGraph(snapshot([
        ('a', 'tor1', 25.0, 12.5),
        ('b', 'tor1', 25.0, 0.0),
        ('c', 'tor2', 25.0, 0.0),
        ('tor1', 'spine', 100.0, 90.0),
        ('tor2', 'spine', 100.0, 0.0),
    ], switches=('tor1', 'tor2', 'spine')))


def test_in_rack_traffic_stays_under_the_tor():
    g = two_racks()
    p = g.widest_path('b', 'a')
    assert p.nodes == ('b', 'tor1', 'a')
    assert p.links == (('b', 'tor1'), ('a', 'tor1'))
    assert p.free_gbit_s == 12.5


def test_cross_rack_traffic_is_limited_by_the_busiest_link():
    g = two_racks()
    p = g.widest_path('b', 'c')
    assert p.nodes == ('b', 'tor1', 'spine', 'tor2', 'c')
    assert p.free_gbit_s == 10.0  # the spine uplink has 10 of 100 free
    assert g.bandwidth_gbit_s('c', 'b') == 10.0


def test_the_widest_path_beats_the_shortest():
    # a-b directly at 1 Gbit/s, or through a switch at 10
    g = graph.LinkGraph(snapshot([
        ('a', 'b', 1.0, 0.0), ('a', 's', 10.0, 0.0), ('s', 'b', 10.0, 0.0),
        ('c', 's', 10.0, 0.0)], switches=('s',)))
    assert g.widest_path('a', 'b').nodes == ('a', 's', 'b')
    assert g.bandwidth_gbit_s('a', 'b') == 10.0


def test_among_equally_wide_paths_the_fewest_hops():
    g = graph.LinkGraph(snapshot([
        ('a', 's1', 10.0, 0.0), ('s1', 's2', 10.0, 0.0),
        ('s2', 's3', 10.0, 0.0), ('s3', 'b', 10.0, 0.0),
        ('s1', 'b', 10.0, 0.0), ('c', 's1', 10.0, 0.0)],
        switches=('s1', 's2', 's3')))
    assert g.widest_path('a', 'b').nodes == ('a', 's1', 'b')


def test_a_fully_used_link_leaves_no_bandwidth():
    g = graph.LinkGraph(snapshot([
        ('a', 's', 10.0, 10.0), ('b', 's', 10.0, 0.0),
        ('c', 's', 10.0, 0.0)], switches=('s',)))
    assert g.bandwidth_gbit_s('a', 'b') == 0.0
    assert g.bandwidth_gbit_s('b', 'c') == 10.0


def test_paths_never_cross_another_host():
    # only a direct a-b and b-c link: b would have to forward a -> c
    snap = model.Snapshot(
        hosts={h: model.Host(h, 8, 8192) for h in 'abc'}, vms={},
        switches=(), links=(model.Link('a', 'b', 10.0),
                            model.Link('b', 'c', 10.0)))
    g = graph.LinkGraph(snap)
    assert g.widest_path('a', 'c') is None
    assert g.bandwidth_gbit_s('a', 'c') == 0.0
    assert g.widest_path('a', 'b').nodes == ('a', 'b')


def test_a_host_to_itself():
    g = two_racks()
    assert g.widest_path('a', 'a') is None
    assert g.bandwidth_gbit_s('a', 'a') == float('inf')


def test_unknown_names():
    g = two_racks()
    with pytest.raises(exception.NotFound, match="unknown host 'zz'"):
        g.widest_path('zz', 'a')
    with pytest.raises(exception.NotFound, match="unknown host 'zz'"):
        g.bandwidth_gbit_s('a', 'zz')


def test_links_are_found_by_key_either_way_round():
    g = two_racks()
    assert g.link(('a', 'tor1')).used_gbit_s == 12.5
    assert len(g.links) == 5
    assert g.graph.nodes['spine']['kind'] == 'switch'


def test_the_example_cluster(example_snapshot):
    g = graph.LinkGraph(example_snapshot)
    # same rack: the two host uplinks; across racks: also the spine links
    same = g.widest_path('cmp-r1-03', 'cmp-r1-02')
    across = g.widest_path('cmp-r1-03', 'cmp-r2-01')
    assert same.nodes == ('cmp-r1-03', 'tor-r1', 'cmp-r1-02')
    assert across.nodes == ('cmp-r1-03', 'tor-r1', 'spine-1', 'tor-r2',
                            'cmp-r2-01')
    assert same.free_gbit_s > across.free_gbit_s


def test_the_hop_tie_break_holds_after_a_narrower_link():
    # To x: wide but long (a-s1-s2-s3-x at 100) or narrow but short (a-x,
    # 20 through s4). Past x the 10 Gbit/s link evens them out, so the
    # short way is the one to take.
    g = graph.LinkGraph(snapshot([
        ('a', 's1', 100.0, 0.0), ('s1', 's2', 100.0, 0.0),
        ('s2', 's3', 100.0, 0.0), ('s3', 'x', 100.0, 0.0),
        ('a', 's4', 20.0, 0.0), ('s4', 'x', 20.0, 0.0),
        ('x', 'b', 10.0, 0.0), ('c', 'x', 100.0, 0.0)],
        switches=('s1', 's2', 's3', 's4', 'x')))
    assert g.widest_path('a', 'b').nodes == ('a', 's4', 'x', 'b')
    assert g.widest_path('a', 'c').nodes == ('a', 's1', 's2', 's3', 'x', 'c')
    assert g.bandwidth_gbit_s('a', 'b') == 10.0


def leaf_spine():
    """Hosts h1..h8 on tor1 and tor2; three spines: s1 and s2 free, s3
    with a quarter of its uplinks free (narrower than half the widest)."""
    hosts = [f'h{i}' for i in range(1, 9)]
    links = [(h, 'tor1' if i < 4 else 'tor2', 25.0, 0.0)
             for i, h in enumerate(hosts)]
    for tor in ('tor1', 'tor2'):
        links += [(tor, 's1', 100.0, 0.0), (tor, 's2', 100.0, 0.0),
                  (tor, 's3', 100.0, 75.0)]
    return graph.LinkGraph(snapshot(
        links, hosts=hosts, switches=('tor1', 'tor2', 's1', 's2', 's3')))


def test_path_finder_keeps_rack_traffic_under_the_tor():
    finder = graph.PathFinder(leaf_spine())
    assert finder.path('h1', 'h2') == ((('h1', 'tor1'), ('h2', 'tor1')),
                                       25.0)
    assert finder.switch_of('h1') == 'tor1'
    assert finder.nic_gbit_s('h5') == 25.0


def test_path_finder_spreads_cross_rack_flows_over_wide_spines():
    finder = graph.PathFinder(leaf_spine())
    spines = set()
    for src in ('h1', 'h2', 'h3', 'h4'):
        for dst in ('h5', 'h6', 'h7', 'h8'):
            links, gbit_s = finder.path(src, dst)
            assert links[0][0] == src and links[-1][0] == dst
            assert gbit_s == 25.0
            (spine,) = {n for k in links for n in k} & {'s1', 's2', 's3'}
            spines.add(spine)
    # both free spines carry flows; s3 (25 of 100 free) is too narrow
    assert spines == {'s1', 's2'}
