"""The kinds of JSON values and the error-collecting checker that the
snapshot reader and the wire messages share."""

import math

import pytest

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import validation as v


@pytest.mark.parametrize('kind,good,clean', [
    (v.STRING, 'a', 'a'),
    (v.BOOLEAN, False, False),
    (v.STRINGS, ['x', 'y'], ('x', 'y')),
    (v.STRINGS, [], ()),
    (v.POSITIVE_INTEGER, 1, 1),
    (v.FRACTION, 0, 0.0),
    (v.FRACTION, 1, 1.0),
    (v.RATIO, 0.5, 0.5),
    (v.POSITIVE, 1e-9, 1e-9),
    (v.NON_NEGATIVE, 0, 0.0),
    (v.number(), -3, -3.0),
    (v.integer(minimum=0), 0, 0),
    (v.one_of(('up', 'down')), 'down', 'down'),
])
def test_allowed_values_come_back_clean(kind, good, clean):
    got = kind.check('f', good)
    assert got == clean and type(got) is type(clean)


@pytest.mark.parametrize('kind,bad', [
    (v.STRING, ''), (v.STRING, None), (v.STRING, 3),
    (v.BOOLEAN, 1), (v.BOOLEAN, 'true'),
    (v.STRINGS, ['x', '']), (v.STRINGS, 'x'), (v.STRINGS, ('x',)),
    (v.POSITIVE_INTEGER, 0), (v.POSITIVE_INTEGER, 2.0),
    (v.POSITIVE_INTEGER, True),
    (v.FRACTION, 1.0001), (v.FRACTION, -0.1), (v.FRACTION, math.nan),
    (v.RATIO, 0), (v.POSITIVE, 0.0), (v.NON_NEGATIVE, -1e-9),
    (v.NON_NEGATIVE, math.inf), (v.number(), -math.inf),
    (v.number(), True), (v.number(), '1'),
    (v.integer(minimum=0), -1), (v.integer(minimum=0), False),
    (v.one_of(('up',)), 'UP'), (v.one_of(('up',)), ['up']),
])
def test_refused_values_name_field_value_and_what_is_allowed(kind, bad):
    with pytest.raises(exception.InvalidInput) as info:
        kind.check('$.x', bad)
    err = info.value
    assert (err.field, err.allowed) == ('$.x', kind.allowed)
    assert err.value is bad


@pytest.mark.parametrize('kind,allowed', [
    (v.number(), 'a number'),
    (v.number(minimum=0), 'a number >= 0'),
    (v.number(minimum=0, exclusive=True), 'a number > 0'),
    (v.number(minimum=1, maximum=2.5), 'a number >= 1 and <= 2.5'),
    (v.integer(minimum=0), 'an integer >= 0'),
    (v.number(minimum=0).or_null(), 'a number >= 0 or null'),
    (v.one_of(('a', 'b')), 'one of a, b'),
])
def test_default_words_say_the_bounds(kind, allowed):
    assert kind.allowed == allowed


def test_or_null_takes_null_and_still_checks_the_rest():
    kind = v.POSITIVE.or_null()
    assert kind.check('f', None) is None
    assert kind.check('f', 2) == 2.0
    with pytest.raises(exception.InvalidInput, match='or null'):
        kind.check('f', 0)


def test_checker_collects_every_error_and_fills_defaults():
    table = {'name': v.required(v.STRING),
             'size': v.optional(v.POSITIVE, 1.0),
             'tags': v.optional(v.STRINGS, ())}
    chk = v.Checker()
    assert chk.obj('$.a', {'name': 'x'}, table) == {
        'name': 'x', 'size': 1.0, 'tags': ()}
    assert chk.errors == []
    assert chk.obj('$.b', {'size': -1, 'colour': 'red'}, table) is None
    assert chk.obj('$.c', ['not', 'an', 'object'], table) is None
    assert [(e.field, e.allowed) for e in chk.errors] == [
        ('$.b.colour', 'no such field; known fields: name, size, tags'),
        ('$.b.name', 'a required string'),
        ('$.b.size', 'a positive number'),
        ('$.c', 'a JSON object')]


def test_checker_check_records_and_returns_invalid():
    chk = v.Checker()
    assert chk.check('$.s[0]', 'tor', v.STRING) == 'tor'
    assert chk.check('$.s[1]', '', v.STRING) is v.INVALID
    assert [str(e) for e in chk.errors] == [
        "$.s[1]: got ''; allowed: a non-empty string"]


def test_parse_json_names_the_start_of_bad_text():
    assert v.parse_json('{"a": [1]}') == {'a': [1]}
    text = '{"hosts": [' + ' ' * 60
    with pytest.raises(exception.InvalidInput) as info:
        v.parse_json(text)
    err = info.value
    assert err.field == '$' and err.value == text[:40] + '...'
    assert err.allowed.startswith('JSON text (')


# parse_json is strict: each claim of its docstring, checked.


@pytest.mark.parametrize('text,complaint', [
    ('{"a": 1, "a": 1}', "duplicate key 'a'"),
    ('{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
    ('[1' + '0' * 20 + ']', 'more than 20 digits'),
    ('-1' + '0' * 400, 'more than 20 digits'),
    ('[NaN]', 'NaN is not JSON'),
    ('[Infinity]', 'Infinity is not JSON'),
    ('-Infinity', '-Infinity is not JSON'),
    ('[' * 200_000 + ']' * 200_000, 'nested too deeply'),
    ('{"a": ' * 200_000 + '1' + '}' * 200_000, 'nested too deeply'),
], ids=['dup', 'nested-dup', '21-digits', '401-digits', 'nan', 'inf',
        '-inf', 'deep-lists', 'deep-objects'])
def test_parse_json_refuses(text, complaint):
    with pytest.raises(exception.InvalidInput) as info:
        v.parse_json(text, 'f')
    assert info.value.field == 'f'
    assert complaint in info.value.allowed
    assert len(str(info.value)) < 200


def test_parse_json_keeps_twenty_digits():
    assert v.parse_json('[-99999999999999999999]') == [-(10 ** 20 - 1)]


@pytest.mark.parametrize('literal', [
    '1e400', '-1e400', '1e-400', '5e-324', '-2e-310',
    pytest.param('0.' + '0' * 400 + '1', id='long-underflow')])
def test_a_number_no_float_holds_is_refused_where_it_sits(literal):
    value = v.parse_json(literal)
    assert isinstance(value, v.OutOfRange)
    for kind in (v.number(), v.NON_NEGATIVE, v.POSITIVE, v.FRACTION,
                 v.POSITIVE_INTEGER):
        with pytest.raises(exception.InvalidInput) as info:
            kind.check('$.x', value)
        assert 'beyond the range of a float' in str(info.value)
        assert len(str(info.value)) < 200


@pytest.mark.parametrize('literal,value', [
    ('0.0', 0.0), ('-0.0', 0.0), ('0e-500', 0.0), ('2.2250738585072014e-308',
                                                    2.2250738585072014e-308),
    ('1.7976931348623157e308', 1.7976931348623157e308)])
def test_numbers_a_float_holds_come_back(literal, value):
    got = v.parse_json(literal)
    assert got == value and type(got) is float


def test_parse_json_bounds_the_depth_and_names_where():
    doc = '{"a": [1, {"b": [[[]]]}]}'
    assert v.parse_json(doc, max_depth=6) == {'a': [1, {'b': [[[]]]}]}
    with pytest.raises(exception.InvalidInput) as info:
        v.parse_json(doc, 'snap', max_depth=5)
    assert info.value.field == 'snap.a[1].b[0][0]'
    assert 'nested at most 5 deep' in info.value.allowed
    assert v.parse_json('3', max_depth=1) == 3


# What errors show: short, printable.


def test_a_long_value_is_shown_shortened_with_its_size():
    err = exception.InvalidInput('$.name', loglines.shown('x' * 200_000_000),
                                 'a name')
    text = str(err)
    assert len(text) < 150 and '(200000000 characters)' in text


@pytest.mark.parametrize('value', [
    '\x1b' * 10_000, '\U0010ffff' * 1000, list(range(10 ** 5)),
    {str(i): i for i in range(1000)}, 10 ** 5000, [[[[[[[[1]]]]]]]],
    ['x' * 10 ** 6], [10 ** 5000]],
    ids=['escapes', 'astral', 'list', 'dict', 'int', 'nested',
         'list-of-long', 'list-of-huge-int'])
def test_every_value_is_shown_in_a_hundred_odd_characters(value):
    shown = repr(loglines.shown(value))
    assert len(shown) <= 120 and shown.isprintable()


@pytest.mark.parametrize('value', ['short', 3, 2.5, None, True, ['x'],
                                   {'a': 1}])
def test_a_short_value_is_itself(value):
    assert loglines.shown(value) is value


def test_a_kind_shows_a_long_value_shortened():
    with pytest.raises(exception.InvalidInput) as info:
        v.POSITIVE.check('$.s', 'x' * 10 ** 6 + '\x1b')
    assert len(str(info.value)) < 200


def test_an_odd_key_is_quoted_in_the_path():
    assert loglines.member('$.a', 'ok_1') == '$.a.ok_1'
    assert loglines.member('$.a', 'a.b') == "$.a['a.b']"
    assert loglines.member('$', '\x1b[2J') == "$['\\x1b[2J']"
    assert len(loglines.member('$', 'k' * 10 ** 6)) < 120
    chk = v.Checker()
    chk.unknown_fields('$', {'\r\x00': 1}, ('a',))
    assert str(chk.errors[0]).startswith("$['\\r\\x00']: got 1")


@pytest.mark.parametrize('name', ['h\x1b[2J', 'h\r', 'h\x00', 'h\x7f',
                                  'h\x9b', 'h\u202e', 'h\u2028', 'h\ud800',
                                  'h\t', '', 'h' * 256, 7, None],
                         ids=repr)
def test_a_name_is_printable_and_not_too_long(name):
    with pytest.raises(exception.InvalidInput) as info:
        v.NAME.check('$.name', name)
    assert str(info.value).isprintable()


@pytest.mark.parametrize('name', ['h1', 'cmp-r1-01.example.org',
                                  'hôte 1', 'h' * 255])
def test_a_name_may_be_any_printable_text(name):
    assert v.NAME.check('$.name', name) == name


def test_printable_escapes_what_a_terminal_acts_on():
    assert loglines.printable('plain text') == 'plain text'
    assert (loglines.printable('a\x1b[2J\rb\x00\ud800')
            == 'a\\x1b[2J\\rb\\x00\\ud800')


def test_message_lines_one_error_one_line():
    err = exception.InvalidSnapshot([exception.InvalidInput(
        '$\x1b', 'x', 'y')])
    assert loglines.message_lines(err) == [
        "invalid snapshot: $\\x1b: got 'x'; allowed: y"]


def test_message_lines_cut_many_errors_and_long_lines():
    errs = [exception.InvalidInput('$.' + 'f' * 2000, i, 'y')
            for i in range(100)]
    lines = loglines.message_lines(
        exception.InvalidSnapshot(errs, 'calibration'))
    assert lines[0] == 'invalid calibration (100 error(s)):'
    assert lines[-1] == '  ... and 80 more'
    assert len(lines) == 22
    assert all(len(line) <= loglines.MAX_LINE_CHARS for line in lines)
