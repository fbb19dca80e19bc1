"""A corpus of malformed and hostile snapshot files.

:func:`cases` makes several hundred :class:`Case` s from one small valid
snapshot (:func:`base_doc`): every numeric field with numbers no float
holds, negative numbers, NaN spelled every way, booleans, strings and
containers; every name with control characters, a lone surrogate, a
megabyte of text or something else than a string; and the files a
careless or hostile operator can give: deep nesting, duplicate keys,
versions that only look like 1, bytes that are not UTF-8, an empty file,
a sparse file larger than the bound, a FIFO, a socket, a directory, a
symlink to ``/dev/zero``.

Each case writes its file into a directory and says which field the
error must name. Every case is refused: exit status 2 from ``nova-livemig
plan --snapshot``, no opinion from the weigher.
"""

import copy
import json
import os
import pathlib
import socket
import typing

from nova_livemig import model

#: the top of the source tree
ROOT = pathlib.Path(__file__).resolve().parents[2]
#: stands for the hostile value in the JSON text of a case
HOLE = '__HOSTILE_VALUE__'
MIB = 1024 * 1024


def base_doc():
    """A valid snapshot with every optional field set: h1 (vm1) and h2
    (vm2) on switch tor; switch spare has no link."""
    host = {'vcpus': 16, 'memory_mib': 65536, 'cpu_allocation_ratio': 2.0,
            'ram_allocation_ratio': 1.0, 'state': 'up', 'cpu_util': 0.25,
            'power_idle_w': 100.0, 'power_max_w': 300.0,
            'aggregates': ['general']}
    vm = {'vcpus': 2, 'memory_mib': 4096, 'cpu_util': 0.5,
          'dirty_rate_mib_s': 20.0, 'wws_mib': 512.0, 'pinned': False,
          'dirty_rate_err_mib_s': 2.0, 'resident_mib': 2048.0,
          'dirty_rate_samples': [{'window_s': 1.0, 'mib_s': 20.0},
                                 {'window_s': 10.0, 'mib_s': 8.0}]}
    return {
        'version': 1,
        'hosts': [dict(copy.deepcopy(host), name=name)
                  for name in ('h1', 'h2')],
        'vms': [dict(copy.deepcopy(vm), id=f'vm{i}', host=f'h{i}')
                for i in (1, 2)],
        'network': {'switches': ['tor', 'spare'], 'links': [
            {'a': 'h1', 'b': 'tor', 'gbit_s': 25.0, 'used_gbit_s': 1.0},
            {'a': 'h2', 'b': 'tor', 'gbit_s': 10.0, 'used_gbit_s': 0.0}]},
    }


#: every numeric field of the format: (path in base_doc, JSON path)
NUMBER_FIELDS = [
    (('version',), '$.version'),
] + [
    (('hosts', 0, key), f'$.hosts[0].{key}')
    for key in ('vcpus', 'memory_mib', 'cpu_allocation_ratio',
                'ram_allocation_ratio', 'cpu_util', 'power_idle_w',
                'power_max_w')
] + [
    (('vms', 0, key), f'$.vms[0].{key}')
    for key in ('vcpus', 'memory_mib', 'cpu_util', 'dirty_rate_mib_s',
                'wws_mib', 'dirty_rate_err_mib_s', 'resident_mib')
] + [
    (('vms', 0, 'dirty_rate_samples', 1, key), '$.vms[0].dirty_rate_samples')
    for key in ('window_s', 'mib_s')
] + [
    (('network', 'links', 0, key), f'$.network.links[0].{key}')
    for key in ('gbit_s', 'used_gbit_s')
]

#: JSON literals no numeric field accepts, by name. A 401-digit integer
#: is refused by the parser, which names the document ('$').
BAD_NUMBERS = {
    'int-401-digits': '1' + '0' * 400,
    'int-21-digits': '1' + '0' * 20,
    'overflow': '1e400',
    'negative-overflow': '-1e400',
    'underflow': '1e-400',
    'long-underflow': '0.' + '0' * 5000 + '1',
    'subnormal': '5e-324',
    'negative': '-1',
    'bare-nan': 'NaN',
    'bare-infinity': 'Infinity',
    'bare-minus-infinity': '-Infinity',
    'string-nan': '"nan"',
    'string-inf': '"inf"',
    'string-number': '"1e400"',
    'true': 'true',
    'false': 'false',
    'null': 'null',
    'list': '[1]',
    'object': '{"value": 1}',
}
#: the parser refuses these before any field is checked
PARSER_REFUSES = {'int-401-digits', 'int-21-digits', 'bare-nan',
                  'bare-infinity', 'bare-minus-infinity'}

#: every name of the format, and the state (a word): (path, JSON path)
STRING_FIELDS = [
    (('hosts', 0, 'name'), '$.hosts[0].name'),
    (('hosts', 0, 'state'), '$.hosts[0].state'),
    (('hosts', 0, 'aggregates', 0), '$.hosts[0].aggregates'),
    (('vms', 0, 'id'), '$.vms[0].id'),
    (('vms', 0, 'host'), '$.vms[0].host'),
    (('network', 'switches', 1), '$.network.switches[1]'),
    (('network', 'links', 0, 'a'), '$.network.links[0].a'),
    (('network', 'links', 0, 'b'), '$.network.links[0].b'),
]

#: values no name accepts, as Python values (json.dumps writes them)
BAD_STRINGS = {
    'escape-sequence': 'h\x1b[2J\x1b[31mred',
    'carriage-return': 'h1\roverwritten',
    'newline': 'h1\nnext line',
    'nul': 'h\x001',
    'bell': '\x07',
    'delete': 'h\x7f',
    'c1-control': 'h\x9b2J',
    'bidi-override': 'h\u202e1',
    'line-separator': 'h\u20281',
    'lone-surrogate': 'h\ud800',
    'lone-low-surrogate': '\udfff',
    'megabyte': 'h' * MIB,
    'megabyte-of-escapes': '\x1b' * MIB,
    'empty': '',
    'number': 7,
    'boolean': True,
    'null': None,
    'list': ['h1'],
    'object': {'name': 'h1'},
}
# the aggregates field takes a list of names: a bad list item is the case


class Case(typing.NamedTuple):
    """One hostile snapshot file.

    :ivar name: the case's id
    :ivar write: ``write(directory) -> path``: makes the file
    :ivar field: what the error must name (a JSON path, or ``snapshot``
        for a file that is not read)
    :ivar max_lines: lines the error may take (more than one only for a
        document with many errors)
    """
    name: str
    write: typing.Callable
    field: str
    max_lines: int = 1


def _put(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _text_with(path, literal):
    """The base snapshot's JSON text with ``literal`` at ``path``."""
    doc = base_doc()
    _put(doc, path, HOLE)
    return json.dumps(doc).replace(json.dumps(HOLE), literal)


def _text_file(text):
    def write(directory):
        path = os.path.join(directory, 'snapshot.json')
        with open(path, 'w', encoding='utf-8',
                  errors='surrogatepass') as f:
            f.write(text)
        return path
    return write


def _bytes_file(data):
    def write(directory):
        path = os.path.join(directory, 'snapshot.json')
        with open(path, 'wb') as f:
            f.write(data)
        return path
    return write


def _dotted(path):
    return '.'.join(str(key) for key in path)


def number_cases():
    for path, field in NUMBER_FIELDS:
        for bad, literal in BAD_NUMBERS.items():
            expected = '$' if bad in PARSER_REFUSES else field
            yield Case(f'number:{_dotted(path)}={bad}',
                       _text_file(_text_with(path, literal)), expected)


def string_cases():
    for path, field in STRING_FIELDS:
        # a host without its name: its VM and link name an unknown host
        lines = 4 if field == '$.hosts[0].name' else 1
        for bad, value in BAD_STRINGS.items():
            yield Case(f'name:{_dotted(path)}={bad}',
                       _text_file(_text_with(path, json.dumps(value))),
                       field, lines)


def _deep(depth, where='hosts'):
    doc = base_doc()
    _put(doc, (where,), HOLE)
    return json.dumps(doc).replace(json.dumps(HOLE),
                                   '[' * depth + ']' * depth)


def _keyed(key, where=()):
    doc = base_doc()
    _put(doc, where + (key,), 1)
    return json.dumps(doc)


def document_cases():
    """Whole documents that are not a snapshot, or not JSON."""
    valid = json.dumps(base_doc())
    body = valid[1:]  # the text after the opening brace
    yield from [
        Case('empty-file', _text_file(''), '$'),
        Case('whitespace', _text_file(' \n\t\n'), '$'),
        Case('truncated', _text_file(valid[:len(valid) // 2]), '$'),
        Case('top-level-list', _text_file('[' + valid + ']'), '$'),
        Case('top-level-number', _text_file('1'), '$'),
        Case('top-level-megabyte-string',
             _text_file(json.dumps('\x1b[2J' * (MIB // 4))), '$'),
        Case('nested-200k', _text_file(_deep(200_000)), '$'),
        Case('nested-200k-objects', _text_file(
            '{"version": 1, "hosts": ' + '{"a": ' * 200_000 + '1'
            + '}' * 200_000 + '}'), '$'),
        Case('nested-50', _text_file(_deep(50)), '$.hosts'),
        Case('nested-50-in-a-field', _text_file(
            _text_with(('hosts', 0, 'cpu_util'), '[' * 50 + ']' * 50)),
            '$.hosts[0].cpu_util'),
        Case('duplicate-top-key', _text_file('{"version": 1, "version": 1, '
                                             + body), 'duplicate key'),
        Case('duplicate-host-key', _text_file(valid.replace(
            '"name": "h1"', '"name": "h1", "name": "h1"', 1)),
            'duplicate key'),
        Case('duplicate-megabyte-key', _text_file(
            '{"%s": 1, "%s": 2, ' % ('k' * MIB, 'k' * MIB) + body),
            'duplicate key'),
        Case('unknown-key-with-escapes', _text_file(_keyed('\x1b[2Jboom')),
             "$['\\x1b[2Jboom']"),
        Case('unknown-megabyte-key', _text_file(_keyed('k' * MIB)),
             "$['kkkk"),
        Case('unknown-host-key-surrogate', _text_file(
            _keyed('\ud800', ('hosts', 0))), "$.hosts[0]['\\ud800']"),
        Case('unknown-key-megabyte-value', _text_file(
            valid[:-1] + ', "extra": "%s"}' % ('x' * MIB)), '$.extra'),
        Case('raw-escape-in-string', _text_file(
            valid.replace('"h1"', '"h\x1b[2J1"', 1)), '$'),
        Case('raw-nul-in-text', _text_file('\x00' * (2 * MIB)), '$'),
        Case('utf8-bom', _bytes_file(b'\xef\xbb\xbf' + valid.encode()), '$'),
        Case('utf16-bom', _bytes_file(valid.encode('utf-16')), 'snapshot'),
        Case('utf16-le-no-bom', _bytes_file(valid.encode('utf-16-le')), '$'),
        Case('invalid-utf8', _bytes_file(
            valid.replace('"h1"', '"h\udcff1"', 1).encode(
                'utf-8', 'surrogateescape')), 'snapshot'),
        Case('encoded-surrogate', _bytes_file(
            valid.replace('"h1"', '"h\ud8001"', 1).encode(
                'utf-8', 'surrogatepass')), 'snapshot'),
        Case('latin1', _bytes_file(valid.replace('"h1"', '"h\xe91"', 1)
                                   .encode('latin-1')), 'snapshot'),
        Case('many-errors', _text_file(json.dumps(dict(
            base_doc(), hosts=[{'name': f'\x1b{i}'} for i in range(5000)]))),
            '$.hosts[0]', max_lines=22),
    ]


def version_cases():
    for name, literal in {'float': '1.0', 'true': 'true', 'string': '"1"',
                          'two': '2', 'zero': '0', 'null': 'null',
                          'list': '[1]', 'negative': '-1'}.items():
        yield Case(f'version={name}',
                   _text_file(_text_with(('version',), literal)),
                   '$.version')
    doc = base_doc()
    del doc['version']
    yield Case('version-missing', _text_file(json.dumps(doc)), '$.version')


def _special(make):
    def write(directory):
        path = os.path.join(directory, 'snapshot.json')
        make(path)
        return path
    return write


def _sparse(path):
    with open(path, 'wb') as f:
        f.truncate(model.MAX_SNAPSHOT_BYTES + 1)


def _socket(path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    sock.close()  # the socket file stays


def file_cases():
    """Paths that are not a snapshot file: nothing must block on them or
    load them whole."""
    return [
        Case('fifo', _special(os.mkfifo), 'snapshot'),
        Case('directory', _special(os.mkdir), 'snapshot'),
        Case('missing', _special(lambda path: None), 'snapshot'),
        Case('socket', _special(_socket), 'snapshot'),
        Case('symlink-to-dev-zero',
             _special(lambda path: os.symlink('/dev/zero', path)),
             'snapshot'),
        Case('symlink-to-dev-null',
             _special(lambda path: os.symlink('/dev/null', path)),
             'snapshot'),
        Case('dangling-symlink', _special(
            lambda path: os.symlink(path + '.absent', path)), 'snapshot'),
        Case('sparse-larger-than-the-bound', _special(_sparse), 'snapshot'),
    ]


def cases():
    """Every case of the corpus, in a stable order."""
    return (list(number_cases()) + list(string_cases())
            + list(version_cases()) + list(document_cases())
            + file_cases())
