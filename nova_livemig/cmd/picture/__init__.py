"""The picture of a plan that ``nova-livemig plan --graph FILE`` draws.

:mod:`.drawing` lays out the link graph (hosts under their switches) and
the schedule's timeline as one :mod:`.scene` of plain shapes; moves follow
the links they use (:mod:`.routes`) and the timeline is :mod:`.timeline`.
:mod:`.svg` writes the scene as a self-contained HTML page, :mod:`.png`
through matplotlib, imported only then.
"""
