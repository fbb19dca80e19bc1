"""A :class:`~nova_livemig.cmd.picture.scene.Scene` as a PNG, through
matplotlib.

* :func:`write`: render the scene, one scene pixel to one image pixel.

matplotlib is imported inside :func:`write`, so nothing that merely
imports this module needs it.
"""

#: image pixels per inch; a point is 1/72 inch
DPI = 100.0
PT_PER_PX = 72.0 / DPI
HA = {'start': 'left', 'middle': 'center', 'end': 'right'}


def write(scene, path):
    """Render ``scene`` to the PNG file ``path``.

    :raises OSError: when the file cannot be written
    """
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import patches
    from matplotlib import patheffects
    from matplotlib import pyplot as plt

    from nova_livemig.cmd.picture import scene as sc

    fig = plt.figure(figsize=(scene.width / DPI, scene.height / DPI),
                     dpi=DPI)
    try:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, scene.width)
        ax.set_ylim(scene.height, 0)
        ax.axis('off')
        for z, s in enumerate(scene.shapes):
            if isinstance(s, sc.Line):
                xs, ys = zip(*s.points)
                ax.plot(xs, ys, color=s.colour, alpha=s.alpha, zorder=z,
                        linewidth=s.width_px * PT_PER_PX,
                        linestyle=(0, (5, 4)) if s.dashed else '-',
                        solid_joinstyle='round', solid_capstyle='round')
            elif isinstance(s, sc.Polygon):
                ax.add_patch(patches.Polygon(s.points, closed=True,
                                             color=s.colour, alpha=s.alpha,
                                             linewidth=0, zorder=z))
            elif isinstance(s, sc.Circle):
                ax.add_patch(patches.Circle(
                    (s.x, s.y), s.r, facecolor=s.fill, zorder=z,
                    edgecolor=s.stroke or 'none', linewidth=PT_PER_PX))
            elif isinstance(s, sc.Rect):
                ax.add_patch(patches.Rectangle(
                    (s.x, s.y), s.w, s.h, facecolor=s.fill, alpha=s.alpha,
                    linewidth=0, zorder=z))
            else:
                ax.text(s.x, s.y, s.text, fontsize=s.size_px * PT_PER_PX,
                        ha=HA[s.anchor], va='center_baseline',
                        rotation=s.rotate_deg, rotation_mode='anchor',
                        color=s.colour, zorder=z,
                        fontweight='bold' if s.bold else 'normal',
                        path_effects=[patheffects.withStroke(
                            linewidth=3 * PT_PER_PX, foreground='white')]
                        if s.halo else None)
        fig.savefig(path, dpi=DPI, facecolor='white')
    finally:
        plt.close(fig)
    return path
