"""A :class:`~nova_livemig.cmd.picture.scene.Scene` as a self-contained
HTML page.

* :func:`svg`: the scene as one SVG element; every shape with a tip shows
  it when pointed at (an SVG ``<title>``).
* :func:`page`: an HTML page holding that SVG and nothing else to fetch.

>>> from nova_livemig.cmd.picture import scene as sc
>>> print(svg(sc.Scene(20, 10, (sc.Circle(5, 5, 2, '#444', tip='a<b'),))))
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" \
viewBox="0 0 20 10" font-family="DejaVu Sans, Verdana, Arial, sans-serif">
<circle cx="5" cy="5" r="2" fill="#444"><title>a&lt;b</title></circle>
</svg>
"""

import html

from nova_livemig.cmd.picture import scene as sc


def _n(v):
    return f'{v:.2f}'.rstrip('0').rstrip('.')


def _points(points):
    return ' '.join(f'{_n(x)},{_n(y)}' for x, y in points)


def _close(tag, attrs, tip):
    if tip:
        return f'<{tag} {attrs}><title>{html.escape(tip)}</title></{tag}>'
    return f'<{tag} {attrs}/>'


def _shape(s):
    if isinstance(s, sc.Line):
        dash = ' stroke-dasharray="5,4"' if s.dashed else ''
        return _close('polyline', (
            f'points="{_points(s.points)}" fill="none" stroke="{s.colour}" '
            f'stroke-width="{_n(s.width_px)}" stroke-opacity="{s.alpha:g}" '
            f'stroke-linejoin="round" stroke-linecap="round"{dash}'), s.tip)
    if isinstance(s, sc.Polygon):
        return _close('polygon', (f'points="{_points(s.points)}" '
                                  f'fill="{s.colour}" '
                                  f'fill-opacity="{s.alpha:g}"'), s.tip)
    if isinstance(s, sc.Circle):
        stroke = f' stroke="{s.stroke}"' if s.stroke else ''
        return _close('circle', (f'cx="{_n(s.x)}" cy="{_n(s.y)}" '
                                 f'r="{_n(s.r)}" fill="{s.fill}"{stroke}'),
                      s.tip)
    if isinstance(s, sc.Rect):
        return _close('rect', (f'x="{_n(s.x)}" y="{_n(s.y)}" '
                               f'width="{_n(s.w)}" height="{_n(s.h)}" '
                               f'fill="{s.fill}" '
                               f'fill-opacity="{s.alpha:g}"'), s.tip)
    turn = (f' transform="rotate({-s.rotate_deg} {_n(s.x)} {_n(s.y)})"'
            if s.rotate_deg else '')
    bold = ' font-weight="bold"' if s.bold else ''
    if s.halo:
        bold += (' stroke="white" stroke-width="3" stroke-linejoin="round"'
                 ' paint-order="stroke"')
    return (f'<text x="{_n(s.x)}" y="{_n(s.y)}" font-size="'
            f'{_n(s.size_px)}" text-anchor="{s.anchor}" dominant-baseline='
            f'"central" fill="{s.colour}"{bold}{turn}>'
            f'{html.escape(s.text)}</text>')


def svg(scene):
    """The scene as an ``<svg>`` element, one shape a line."""
    w, h = _n(scene.width), _n(scene.height)
    return '\n'.join(
        [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" '
         f'height="{h}" viewBox="0 0 {w} {h}" font-family="{sc.FONT}">']
        + [_shape(s) for s in scene.shapes] + ['</svg>'])


def page(scene):
    """A whole HTML page showing the scene."""
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f'<title>{html.escape(scene.title)}</title></head>\n'
            '<body style="margin:8px;background:white">\n'
            f'{svg(scene)}\n</body></html>\n')
