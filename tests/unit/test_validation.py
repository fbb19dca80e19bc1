"""The kinds of JSON values and the error-collecting checker that the
snapshot reader and the wire messages share."""

import math

import pytest

from nova_livemig import exception
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
