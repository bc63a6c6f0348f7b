"""The deck as a PowerPoint file: native, editable charts (python-pptx's chart API), CJK fonts set on every
run, and the filters, as-of date and data version in each slide's footer.

Font: every run names "Microsoft YaHei" for Latin and East Asian text. It ships with every Windows and
Office install, where such decks are opened; LibreOffice elsewhere substitutes it through fontconfig with
Noto Sans CJK SC for runs tagged zh-CN (`fc-match "Microsoft YaHei:lang=zh-cn"`), the font the PDF embeds.
"""
from __future__ import annotations

import io
import math

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from analytics.meeting.model import Card, Chart, Deck, Slide, Table
from analytics.meeting.narrative import t

FONT = "Microsoft YaHei"
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
MARGIN = Inches(0.5)
INK, MUTED, ACCENT, RULE = RGBColor(0x1A, 0x1A, 0x1A), RGBColor(0x55, 0x55, 0x55), RGBColor(0x1F, 0x4E, 0x79), \
    RGBColor(0xD0, 0xD7, 0xDE)
TONE = {"better": RGBColor(0x1B, 0x6E, 0x3A), "worse": RGBColor(0xB0, 0x1E, 0x1E), "flat": MUTED}
CHART_TYPES = {"bar": XL_CHART_TYPE.BAR_CLUSTERED, "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
               "line": XL_CHART_TYPE.LINE_MARKERS}
NUMBER_FORMATS = {"share": "0.0%", "count": "#,##0", "score": "0.0"}
SERIES_COLOURS = (RGBColor(0x1F, 0x4E, 0x79), RGBColor(0xE0, 0x8E, 0x0B))  # dark blue, amber: tell apart in grey


def set_font(font, size: float, lang: str, bold: bool = False, colour: RGBColor | None = None) -> None:
    """Size, weight, colour, and the typeface for Latin and East Asian text (python-pptx sets only Latin)."""
    font.size, font.bold, font.name = Pt(size), bold, FONT
    if colour is not None:
        font.color.rgb = colour
    rpr = font._element  # a:rPr or a:defRPr
    rpr.set("lang", "zh-CN" if lang == "zh" else "en-US")
    ea = rpr.find(qn("a:ea"))
    if ea is None:
        ea = rpr.makeelement(qn("a:ea"), {})
        latin = rpr.find(qn("a:latin"))
        latin.addnext(ea)
    ea.set("typeface", FONT)


def text_box(slide, x, y, w, h, text: str, size: float, lang: str, bold: bool = False,
             colour: RGBColor = INK, align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP):
    box = slide.shapes.add_textbox(x, y, w, h)
    frame = box.text_frame
    frame.word_wrap, frame.vertical_anchor = True, anchor
    frame.margin_left = frame.margin_right = Inches(0.05)
    for i, line in enumerate(text.split("\n")):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.alignment = align
        run = para.add_run()
        run.text = line
        set_font(run.font, size, lang, bold, colour)
    return box


def cards(slide, items: tuple[Card, ...], x, y, w, lang: str) -> int:
    """KPI cards, four to a row; returns the height used."""
    per_row, gap, h = 4, Inches(0.15), Inches(1.05)
    cw = int((w - gap * (per_row - 1)) / per_row)
    for i, c in enumerate(items):
        cx, cy = x + (i % per_row) * (cw + gap), y + (i // per_row) * (h + gap)
        box = slide.shapes.add_shape(1, cx, cy, cw, h)  # rectangle
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(0xF4, 0xF6, 0xF8)
        box.line.color.rgb = RULE
        frame = box.text_frame
        frame.word_wrap, frame.vertical_anchor = True, MSO_ANCHOR.TOP
        frame.margin_left = frame.margin_right = Inches(0.08)
        frame.margin_top = Inches(0.04)
        lines = [(c.label, 11, False, MUTED), (c.value, 20, True, INK)]
        lines += [(c.change, 10, False, TONE[c.tone])] if c.change else []
        lines += [(c.note, 8, False, MUTED)] if c.note else []
        for j, (text, size, bold, colour) in enumerate(lines):
            para = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            para.alignment = PP_ALIGN.LEFT
            run = para.add_run()
            run.text = text
            set_font(run.font, size, lang, bold, colour)
    rows = (len(items) + per_row - 1) // per_row
    return rows * h + (rows - 1) * gap if rows else 0


def table(slide, t: Table, x, y, w, h, lang: str) -> None:
    shown = t.rows[:t.shown]
    text_box(slide, x, y, w, Inches(0.35), t.title, 13, lang, bold=True, colour=ACCENT)
    n_rows = len(shown) + 1
    row_h = min(Inches(0.3), int((h - Inches(0.75)) / max(n_rows, 1)))
    shape = slide.shapes.add_table(n_rows, len(t.columns), x, y + Inches(0.38), w, row_h * n_rows)
    grid = shape.table
    weights = [max([len(name)] + [min(len(r[c]), 30) for r in shown]) + 2 for c, name in enumerate(t.columns)]
    for c, weight in enumerate(weights):  # columns as wide as their text, so cells wrap less
        grid.columns[c].width = int(w * weight / sum(weights))
    for c, name in enumerate(t.columns):
        _cell(grid.cell(0, c), name, lang, bold=True)
    for r, row in enumerate(shown, start=1):
        for c, value in enumerate(row):
            _cell(grid.cell(r, c), value, lang)
    for r in range(n_rows):
        grid.rows[r].height = row_h
    note = t.note + (" " + _more(t, lang) if len(t.rows) > t.shown else "")
    if note.strip():  # at the foot of the area: rows that wrap grow downwards
        text_box(slide, x, y + h - Inches(0.05), w, Inches(0.3), note.strip(), 9, lang, colour=MUTED)


def _more(t: Table, lang: str) -> str:
    from analytics.meeting.narrative import t as tr

    return tr("more_rows", lang, n=len(t.rows) - t.shown)


def _cell(cell, text: str, lang: str, bold: bool = False) -> None:
    cell.margin_left = cell.margin_right = Inches(0.05)
    cell.margin_top = cell.margin_bottom = Inches(0.02)
    frame = cell.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    set_font(run.font, 9, lang, bold, INK)


MARK_LINE = Inches(0.22)  # one line of the event notes listed under a chart
MAX_MARKS = 4             # lines of them on a slide; the rest are counted


def chart(slide, c: Chart, x, y, w, h, lang: str) -> None:
    data = CategoryChartData(number_format=NUMBER_FORMATS.get(c.unit, "General"))
    categories = c.category_labels()  # with the numbers of the event notes (①) under their periods
    series = [(name, list(values)) for name, values in c.series]
    if c.kind == "bar":  # PowerPoint draws bar categories bottom-up: reverse so the first is on top
        categories, series = categories[::-1], [(n, v[::-1]) for n, v in series]
    data.categories = categories
    for name, values in series:
        data.add_series(name, values)
    listed = [m.line for m in c.marks[:MAX_MARKS]]
    if len(c.marks) > MAX_MARKS:
        listed.append(t("more_marks", lang, n=len(c.marks) - MAX_MARKS))
    lines = sum(_wrapped(line, w) for line in listed)
    if lines > MAX_MARKS + 1:  # long notes: one line each, so the chart keeps its height (in full in the speaker notes)
        listed = [_clipped(line, w) for line in listed]
        lines = len(listed)
    h -= MARK_LINE * lines  # the notes are listed under the chart, inside the same space
    frame = slide.shapes.add_chart(CHART_TYPES[c.kind], x, y, w, h, data)
    ch = frame.chart
    set_font(ch.font, 10, lang, colour=INK)
    ch.has_title = True
    ch.chart_title.text_frame.text = c.title
    set_font(ch.chart_title.text_frame.paragraphs[0].runs[0].font, 13, lang, bold=True, colour=ACCENT)
    ch.has_legend = len(c.series) > 1
    if ch.has_legend:
        ch.legend.position, ch.legend.include_in_layout = XL_LEGEND_POSITION.BOTTOM, False
    plot = ch.plots[0]
    plot.has_data_labels = True
    plot.data_labels.number_format = NUMBER_FORMATS.get(c.unit, "General")
    plot.data_labels.number_format_is_linked = False
    set_font(plot.data_labels.font, 9, lang, colour=INK)
    for i, s in enumerate(plot.series):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        if c.kind == "line":
            s.format.line.color.rgb = colour
            s.format.line.width = Pt(2.5)
        else:
            s.format.fill.solid()
            s.format.fill.fore_color.rgb = colour
    axis = ch.value_axis
    axis.tick_labels.number_format = NUMBER_FORMATS.get(c.unit, "General")
    axis.tick_labels.number_format_is_linked = False
    axis.minimum_scale = 0
    values = [v for _, vs in c.series for v in vs if v is not None]
    if c.unit == "count":  # whole numbers on the axis
        axis.major_unit = max(1, math.ceil(max(values or [1]) / 5))
    if c.note:
        text_box(slide, x, y + h, w, Inches(0.3), c.note, 9, lang, colour=MUTED)
    if listed:  # plain text: a note's text is never read as markup
        text_box(slide, x, y + h + Inches(0.3), w, MARK_LINE * lines, "\n".join(listed), 9, lang, colour=INK)


def _ems(text: str) -> float:
    return sum(1.0 if ord(c) > 0x2E7F else 0.55 for c in text)


def _clipped(text: str, width, size: float = 9) -> str:
    """`text` cut to one line of a box `width` wide, with "…" when cut."""
    room = width * 0.95 / Inches(size / 72) - 1
    if _ems(text) <= room + 1:
        return text
    out = ""
    for c in text:
        if _ems(out + c) > room:
            break
        out += c
    return out + "…"


def _wrapped(text: str, width, size: float = 9) -> int:
    """Lines `text` takes at `size` pt in a box `width` wide (a CJK character 1 em, any other 0.55 em)."""
    return max(1, math.ceil(_ems(text) * Inches(size / 72) / (width * 0.95)))


def fitting_size(text: str, width, height, sizes=(15, 14, 13, 12, 11)) -> int:
    """The largest of `sizes` (pt) at which `text` fits a box of width × height (EMU), estimating a CJK character
    at 1 em and any other at 0.55 em, lines at 1.2 em: the overview's narrative grew a sentence (issue 21) and a
    text box in PowerPoint does not shrink its text by itself."""
    ems = sum(1.0 if ord(c) > 0x2E7F else 0.55 for c in text)
    for size in sizes:
        em = Inches(size / 72)
        lines = -(-ems * em // (width * 0.97))  # ceiling; a little lost to word wrapping
        if lines * 1.2 * em <= height:
            return size
    return sizes[-1]


def slide_page(prs, deck: Deck, s: Slide, number: int) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    lang, inner = deck.lang, WIDTH - 2 * MARGIN
    text_box(slide, MARGIN, Inches(0.3), inner, Inches(0.65), s.title, 28, lang, bold=True, colour=ACCENT)
    text_box(slide, MARGIN, Inches(1.0), inner, Inches(0.95), s.narrative, fitting_size(s.narrative, inner, Inches(0.95)),
             lang)
    y = Inches(2.0)
    if s.cards:
        y += cards(slide, s.cards, MARGIN, y, inner, lang) + Inches(0.15)
    bottom = HEIGHT - Inches(0.6)
    if s.empty and not (s.tables or s.charts):
        text_box(slide, MARGIN, y, inner, Inches(0.6), s.empty, 16, lang, colour=MUTED)
    elif s.tables and s.charts:
        left = int(inner * 0.58)
        table(slide, s.tables[0], MARGIN, y, left, bottom - y, lang)
        chart(slide, s.charts[0], MARGIN + left + Inches(0.2), y, inner - left - Inches(0.2), bottom - y - Inches(0.3),
              lang)
    elif s.tables:
        table(slide, s.tables[0], MARGIN, y, inner, bottom - y, lang)
    elif s.charts:
        chart(slide, s.charts[0], MARGIN, y, inner, bottom - y - Inches(0.3), lang)
    text_box(slide, MARGIN, HEIGHT - Inches(0.45), inner - Inches(1.2), Inches(0.35), deck.footer, 9, lang,
             colour=MUTED)
    text_box(slide, WIDTH - MARGIN - Inches(1.2), HEIGHT - Inches(0.45), Inches(1.2), Inches(0.35),
             f"{number} / {len(deck.slides)}", 9, lang, colour=MUTED, align=PP_ALIGN.RIGHT)
    notes = [f"{n.text} ({n.saved_by}, {n.saved_at})" for n in (s.note,) if n]
    notes += [m.line for c in s.charts for m in c.marks]  # the event notes in full, whatever the slide had room for
    if notes:  # this meeting's note goes into the speaker notes as well
        slide.notes_slide.notes_text_frame.text = "\n".join(notes)


def cover(prs, deck: Deck) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    lang, inner = deck.lang, WIDTH - 2 * MARGIN
    text_box(slide, MARGIN, Inches(2.4), inner, Inches(1.0), deck.title, 36, lang, bold=True, colour=ACCENT)
    text_box(slide, MARGIN, Inches(3.5), inner, Inches(0.6), deck.subtitle, 20, lang)
    text_box(slide, MARGIN, Inches(4.3), inner, Inches(0.8), deck.footer, 12, lang, colour=MUTED)


def write(deck: Deck) -> bytes:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(WIDTH), Emu(HEIGHT)
    prs.core_properties.title = deck.title
    prs.core_properties.subject = deck.footer
    cover(prs, deck)
    for i, s in enumerate(deck.slides, start=1):
        slide_page(prs, deck, s, i)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()
