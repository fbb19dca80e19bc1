"""A picture as plain shapes, in pixels, for any back-end to render.

* :class:`Line`, :class:`Polygon`, :class:`Circle`, :class:`Rect`,
  :class:`Text`: the shapes; ``y`` grows downwards, as on a screen.
* :class:`Scene`: a canvas size and its shapes, back to front.
* :func:`text_box`, :func:`overlaps`: where a text lands, estimated from a
  width table of the DejaVu Sans face (what matplotlib draws with, and what
  the page asks a browser for first), so labels can be placed without
  overlapping before anything is rendered.

The SVG and PNG back-ends (:mod:`nova_livemig.cmd.picture.svg`,
:mod:`nova_livemig.cmd.picture.png`) draw the same scene, so both show the
same content.
"""

import dataclasses

#: width of a character in ems (DejaVu Sans); others count as DEFAULT_EM
NARROW_EM = {c: 0.32 for c in ' .,:;!|\'ilj()[]'}
NARROW_EM.update({'-': 0.37, 'f': 0.36, 't': 0.40, 'r': 0.42, '_': 0.5})
WIDE_EM = {'m': 0.98, 'w': 0.82, 'M': 0.87, 'W': 0.99, '%': 0.95}
DEFAULT_EM = 0.64
#: how much wider a bold face runs
BOLD_WIDER = 1.12
#: height of a line of text, in ems
LINE_EM = 1.2
FONT = 'DejaVu Sans, Verdana, Arial, sans-serif'


@dataclasses.dataclass(frozen=True)
class Line:
    """An open polyline; ``points`` is ``((x, y), ...)``."""
    points: tuple
    colour: str
    width_px: float = 1.0
    alpha: float = 1.0
    dashed: bool = False
    tip: str = ''


@dataclasses.dataclass(frozen=True)
class Polygon:
    """A filled closed polygon (an arrowhead)."""
    points: tuple
    colour: str
    alpha: float = 1.0
    tip: str = ''


@dataclasses.dataclass(frozen=True)
class Circle:
    """A dot; ``fill`` ``'none'`` draws a ring."""
    x: float
    y: float
    r: float
    fill: str
    stroke: str = ''
    tip: str = ''


@dataclasses.dataclass(frozen=True)
class Rect:
    """An axis-aligned box with its top-left corner at ``(x, y)``."""
    x: float
    y: float
    w: float
    h: float
    fill: str
    alpha: float = 1.0
    tip: str = ''


@dataclasses.dataclass(frozen=True)
class Text:
    """One line of text, vertically centred on ``y``.

    :ivar anchor: ``start``, ``middle`` or ``end``: which end of the text
        sits on ``x`` (before rotating)
    :ivar rotate_deg: 0, or 90 for text that reads upwards, turned about
        ``(x, y)``
    :ivar halo: a white outline, to stay legible over lines
    :ivar label_of: the node a topology label names, or ``''``
    """
    x: float
    y: float
    text: str
    size_px: float
    anchor: str = 'start'
    rotate_deg: int = 0
    colour: str = '#222222'
    bold: bool = False
    halo: bool = False
    label_of: str = ''


@dataclasses.dataclass(frozen=True)
class Scene:
    """A canvas of ``width`` x ``height`` pixels and its shapes."""
    width: float
    height: float
    shapes: tuple
    title: str = ''


def text_width_px(text, size_px):
    """Estimated advance width of ``text``.

    >>> round(text_width_px('cmp-r1-01', 10.0), 1)
    53.4
    """
    return size_px * sum(NARROW_EM.get(c) or WIDE_EM.get(c) or DEFAULT_EM
                         for c in text)


def text_box(t):
    """``(x0, y0, x1, y1)``: the box a :class:`Text` covers on the canvas.

    >>> text_box(Text(100.0, 50.0, 'ab', 10.0, anchor='middle'))
    (93.6, 44.0, 106.4, 56.0)
    >>> text_box(Text(100.0, 50.0, 'ab', 10.0, anchor='end', rotate_deg=90))
    (94.0, 50.0, 106.0, 62.8)
    """
    w = text_width_px(t.text, t.size_px) * (BOLD_WIDER if t.bold else 1.0)
    h = t.size_px * LINE_EM
    lead = {'start': 0.0, 'middle': w / 2, 'end': w}[t.anchor]
    if t.rotate_deg == 90:   # reads upwards: the text's start is lowest
        return (round(t.x - h / 2, 3), round(t.y - w + lead, 3),
                round(t.x + h / 2, 3), round(t.y + lead, 3))
    return (round(t.x - lead, 3), round(t.y - h / 2, 3),
            round(t.x - lead + w, 3), round(t.y + h / 2, 3))


def overlaps(a, b, gap=0.0):
    """Whether two boxes ``(x0, y0, x1, y1)`` come closer than ``gap``.

    >>> overlaps((0, 0, 10, 10), (10, 0, 20, 10))
    False
    >>> overlaps((0, 0, 10, 10), (9, 9, 20, 20))
    True
    """
    return (a[0] < b[2] + gap and b[0] < a[2] + gap
            and a[1] < b[3] + gap and b[1] < a[3] + gap)
