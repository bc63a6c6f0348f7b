"""The deck as a PDF (one 16:9 page per slide, long tables continued on further pages), and a one-page
A4 brief for leadership. Offline: fpdf2 with the CJK font from `fonts` embedded, all text selectable;
charts are drawn as vector shapes with their values written beside them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from analytics.meeting import fonts
from analytics.meeting.model import Card, Chart, Deck, Slide, Table
from analytics.meeting.narrative import t

SLIDE_MM = (338.67, 190.5)  # 13.333 × 7.5 in, as the PPTX
INK, MUTED, ACCENT, RULE, CARD = (26, 26, 26), (85, 85, 85), (31, 78, 121), (208, 215, 222), (244, 246, 248)
TONE = {"better": (27, 110, 58), "worse": (176, 30, 30), "flat": MUTED}
SERIES = ((31, 78, 121), (224, 142, 11))  # dark blue, amber: distinct in grey too
MAX_MARKS = 4  # event notes listed under a chart; the rest are counted
MARK_LINE = 3.5  # mm
PDF_MAX_ROWS = 150  # rows of one table in the PDF deck (a few pages); the page's downloads have them all
FMT = {"share": lambda v: f"{100 * v:.1f}%", "count": lambda v: f"{v:,.0f}", "score": lambda v: f"{v:.1f}"}


def deck_text(deck: Deck) -> str:
    """Every character the document may print (the font is subset to these)."""
    parts = [deck.title, deck.subtitle, deck.footer, t("continued", deck.lang), t("page_of", deck.lang, i=0, n=0),
             t("pdf_more_rows", deck.lang, n=0), t("brief_title", deck.lang, preset=""), "…×"]
    for s in deck.slides:
        parts += [s.title, s.narrative, s.empty]
        parts += [f"{c.label}{c.value}{c.change}{c.note}" for c in s.cards]
        for tb in s.tables:
            parts += [tb.title, tb.note, *tb.columns, *("".join(r) for r in tb.rows[:PDF_MAX_ROWS])]
        for ch in s.charts:
            parts += [ch.title, ch.note, *ch.category_labels(), *(name for name, _ in ch.series),
                      *(m.line for m in ch.marks), t("more_marks", deck.lang, n=0)]
        for n in (s.note, s.previous_note):
            if n:
                parts += [n.text, n.saved_by, n.saved_at]
    return "".join(parts)


class _Pdf(FPDF):
    def __init__(self, deck: Deck, footer_text: str, **kw):
        super().__init__(**kw)
        self.deck, self.footer_text, self.continued_title = deck, footer_text, ""

    def header(self):
        if self.continued_title:  # a table running onto another page keeps its slide's title
            self.set_font("cjk", "B", 16)
            self.set_text_color(*ACCENT)
            self.set_xy(self.l_margin, 8)
            self.cell(text=self.continued_title + t("continued", self.deck.lang))
            self.set_y(20)

    def footer(self):
        self.set_font("cjk", "", 7.5)
        self.set_text_color(*MUTED)
        self.set_xy(self.l_margin, self.h - 10)
        self.cell(self.epw - 30, 5, self.footer_text)
        self.cell(30, 5, t("page_of", self.deck.lang, i=self.page_no(), n="{nb}"), align="R")


def _new(deck: Deck, page_format, orientation: str) -> _Pdf:
    regular, bold = fonts.find()
    text = deck_text(deck)
    pdf = _Pdf(deck, deck.footer, orientation=orientation, unit="mm", format=page_format)
    with tempfile.TemporaryDirectory() as tmp:  # fpdf2 reads fonts from files; parsed at add_font
        for style, path in (("", regular), ("B", bold)):
            out = Path(tmp) / f"cjk{style}.ttf"
            out.write_bytes(fonts.subset_ttf(path, text))
            pdf.add_font("cjk", style, str(out))
    pdf.set_title(deck.title)
    pdf.set_subject(deck.footer)
    pdf.set_creator("policy execution cockpit")
    pdf.set_lang("zh-CN" if deck.lang == "zh" else "en")
    pdf.set_margins(12, 10, 12)
    pdf.set_auto_page_break(True, margin=13)
    return pdf


def _text(pdf: FPDF, text: str, size: float, style: str = "", colour=INK, h: float | None = None, w: float = 0):
    pdf.set_font("cjk", style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(w, h or size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def _cards(pdf: FPDF, items: tuple[Card, ...], lang: str) -> None:
    per_row, gap, h = 4, 4, 22
    w = (pdf.epw - gap * (per_row - 1)) / per_row
    top = pdf.get_y()
    for i, c in enumerate(items):
        x, y = pdf.l_margin + (i % per_row) * (w + gap), top + (i // per_row) * (h + gap)
        pdf.set_fill_color(*CARD)
        pdf.set_draw_color(*RULE)
        pdf.rect(x, y, w, h, style="DF")
        lines = [(c.label, 8.5, "", MUTED), (c.value, 15, "B", INK)]
        lines += [(c.change, 8, "", TONE[c.tone])] if c.change else []
        lines += [(c.note, 6.5, "", MUTED)] if c.note else []
        yy = y + 1.5
        for text, size, style, colour in lines:
            pdf.set_font("cjk", style, size)
            pdf.set_text_color(*colour)
            pdf.set_xy(x + 2, yy)
            pdf.multi_cell(w - 4, size * 0.42, text, max_line_height=size * 0.42)
            yy = pdf.get_y() + 0.5
    rows = (len(items) + per_row - 1) // per_row
    pdf.set_y(top + rows * (h + gap))


def _table(pdf: _Pdf, tb: Table, slide_title: str, width: float, all_rows: bool) -> None:
    limit = PDF_MAX_ROWS if all_rows else tb.shown
    rows = tb.rows[:limit]
    x = pdf.get_x()
    _text(pdf, tb.title, 10, "B", ACCENT, w=width)
    pdf.set_x(x)
    pdf.set_font("cjk", "", 8)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    weights = [max(_width(c), *(min(_width(r[i]), 40) for r in rows)) if rows else _width(c)
               for i, c in enumerate(tb.columns)]
    weights = [max(w, 7) for w in weights]  # short columns (a light, a number) keep their words on one line
    pdf.continued_title = slide_title  # a page break inside the table repeats the title and the header row
    pdf.set_fill_color(255, 255, 255)
    with pdf.table(cell_fill_mode="NONE", width=width, col_widths=weights, align="LEFT", line_height=4.2, text_align="LEFT",
                   borders_layout="HORIZONTAL_LINES", repeat_headings=1, padding=0.8,
                   headings_style=FontFace(emphasis="BOLD", fill_color=CARD), first_row_as_headings=True) as grid:
        grid.row(list(tb.columns))
        for r in rows:
            grid.row(list(r))
    pdf.continued_title = ""
    note = tb.note if len(tb.rows) <= limit else f"{tb.note} {t('pdf_more_rows', pdf.deck.lang, n=len(tb.rows) - limit)}"
    if note:
        pdf.set_x(x)
        _text(pdf, note, 7, colour=MUTED, w=width)


def _chart(pdf: FPDF, c: Chart, x: float, y: float, w: float, h: float) -> None:
    fmt = FMT.get(c.unit, lambda v: f"{v:g}")
    pdf.set_xy(x, y)
    pdf.set_font("cjk", "B", 10)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(w, 5, c.title)
    listed = [m.line for m in c.marks[:MAX_MARKS]]
    if len(c.marks) > MAX_MARKS:
        listed.append(t("more_marks", pdf.deck.lang, n=len(c.marks) - MAX_MARKS))
    pdf.set_font("cjk", "", 7)
    # the event notes are listed under the chart, inside its space: as many lines as they wrap to
    n_lines = sum(len(pdf.multi_cell(w, MARK_LINE, line, dry_run=True, output="LINES")) for line in listed)
    if n_lines > MAX_MARKS + 1:  # long notes: one line each, so the chart keeps its height
        listed = [_clip(pdf, line, w - 2 * pdf.c_margin - 1) for line in listed]
        n_lines = len(listed)
    listed_h = n_lines * MARK_LINE + (2 if listed else 0)
    pdf.set_font("cjk", "B", 10)
    h -= listed_h
    top, bottom = pdf.get_y() + 2, y + h - (6 if c.note else 1)
    values = [v for _, vs in c.series for v in vs if v is not None]
    peak = max([v for v in values if v > 0] or [1.0]) * 1.15
    pdf.set_font("cjk", "", 7.5)
    categories = c.category_labels()  # with the numbers of the event notes (①) under their periods
    if c.kind == "bar":
        label_w = min(w * 0.32, 45)
        n, k = len(c.categories), len(c.series)
        band = min((bottom - top) / max(n, 1), 12)
        bar = min(band * 0.75 / k, 7)
        for i, cat in enumerate(c.categories):
            cy = top + i * band
            pdf.set_text_color(*INK)
            pdf.set_xy(x, cy + (band - 4) / 2)
            pdf.cell(label_w - 2, 4, _clip(pdf, cat, label_w - 2), align="R")
            for j, (_, vs) in enumerate(c.series):
                v = vs[i]
                length = 0 if v is None else max(v, 0) / peak * (w - label_w - 14)
                by = cy + (band - bar * k) / 2 + j * bar
                pdf.set_fill_color(*SERIES[j % 2])
                if length:
                    pdf.rect(x + label_w, by, length, bar * 0.9, style="F")
                pdf.set_xy(x + label_w + length + 1, by + bar * 0.45 - 2)
                pdf.cell(12, 4, "—" if v is None else fmt(v))
    else:
        n = len(c.categories)
        base, left = bottom - 6, x + 4
        step = (w - 8) / max(n, 1)
        pdf.set_draw_color(*RULE)
        pdf.line(left, base, x + w - 4, base)
        points = []
        for i, cat in enumerate(categories):
            cx = left + i * step
            pdf.set_text_color(*INK)
            pdf.set_xy(cx, base + 0.5)
            pdf.cell(step, 4, _clip(pdf, cat, step), align="C")
            for j, (_, vs) in enumerate(c.series):
                v = vs[i]
                height = 0 if v is None else max(v, 0) / peak * (base - top - 5)
                if c.kind == "column":
                    bw = step * 0.6 / len(c.series)
                    bx = cx + step * 0.2 + j * bw
                    pdf.set_fill_color(*SERIES[j % 2])
                    if height:
                        pdf.rect(bx, base - height, bw, height, style="F")
                    pdf.set_xy(bx - 3, base - height - 4.5)
                    pdf.cell(bw + 6, 4, "—" if v is None else fmt(v), align="C")
                elif v is not None:
                    points.append((cx + step / 2, base - height, fmt(v)))
        pdf.set_draw_color(*SERIES[0])
        pdf.set_line_width(0.6)
        for (x0, y0, _), (x1, y1, _) in zip(points, points[1:]):
            pdf.line(x0, y0, x1, y1)
        pdf.set_line_width(0.2)
        for px, py, label in points:
            pdf.set_fill_color(*SERIES[0])
            pdf.ellipse(px - 0.9, py - 0.9, 1.8, 1.8, style="F")
            pdf.set_xy(px - 8, py - 5)
            pdf.cell(16, 4, label, align="C")
    if c.note:
        pdf.set_xy(x, y + h - 5)
        pdf.set_text_color(*MUTED)
        pdf.set_font("cjk", "", 7)
        pdf.multi_cell(w, 3.5, c.note)
    if listed:  # plain text: a note's text is never read as markup
        pdf.set_xy(x, y + h + 0.5)
        pdf.set_text_color(*INK)
        pdf.set_font("cjk", "", 7)
        auto, margin = pdf.auto_page_break, pdf.b_margin
        pdf.set_auto_page_break(False)  # the lines were given room inside the chart's box: never a new page
        for line in listed:
            pdf.set_x(x)
            pdf.multi_cell(w, MARK_LINE, line)
        pdf.set_auto_page_break(auto, margin)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are twice as wide


def _clip(pdf: FPDF, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _slide(pdf: _Pdf, s: Slide, number: int, total: int) -> None:
    pdf.add_page()
    _text(pdf, s.title, 20, "B", ACCENT, h=10)
    _text(pdf, s.narrative, 11, h=5.5)
    pdf.ln(2)
    if s.cards:
        _cards(pdf, s.cards, pdf.deck.lang)
    if s.empty and not (s.tables or s.charts):
        _text(pdf, s.empty, 12, colour=MUTED, h=6)
    top, bottom = pdf.get_y(), pdf.h - 14
    if s.charts:
        cw = pdf.epw * (0.40 if s.tables else 1.0)
        cx = pdf.l_margin + (pdf.epw - cw if s.tables else 0)
        _chart(pdf, s.charts[0], cx, top, cw, max(bottom - top, 40))
    if s.tables:
        pdf.set_xy(pdf.l_margin, top)
        _table(pdf, s.tables[0], s.title, pdf.epw * (0.57 if s.charts else 1.0), all_rows=True)
    notes = [(t("notes_heading", pdf.deck.lang), s.note)] if s.note else []
    for heading, n in notes:
        if pdf.get_y() < top:
            pdf.set_y(top)
        _text(pdf, f"{heading}: {n.text} ({n.saved_by}, {n.saved_at})", 8, colour=MUTED, h=4)


def _cover(pdf: _Pdf, deck: Deck) -> None:
    pdf.add_page()
    pdf.set_y(65)
    _text(pdf, deck.title, 28, "B", ACCENT, h=14)
    _text(pdf, deck.subtitle, 15, h=9)
    _text(pdf, deck.footer, 10, colour=MUTED, h=6)


def write_deck(deck: Deck) -> bytes:
    """Cover, then one page per slide; a table longer than its page continues, titled, on the next."""
    pdf = _new(deck, SLIDE_MM, "P")
    _cover(pdf, deck)
    for i, s in enumerate(deck.slides, start=1):
        _slide(pdf, s, i, len(deck.slides))
    return bytes(pdf.output())


def write_brief(deck: Deck) -> bytes:
    """One A4 page: the headline KPIs and each slide's narrative, for leadership."""
    pdf = _new(deck, "A4", "P")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    _text(pdf, t("brief_title", deck.lang, preset=t(f"preset_{deck.preset}", deck.lang)), 17, "B", ACCENT, h=9)
    _text(pdf, deck.subtitle, 10, h=5.5)
    _text(pdf, deck.footer, 7.5, colour=MUTED, h=4)
    pdf.ln(2)
    overview = deck.slides[0]
    if overview.cards:
        pdf.set_font("cjk", "", 8)
        pdf.set_text_color(*INK)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(cell_fill_mode="NONE", col_widths=(30, 18, 30, 50), line_height=4.2, text_align="LEFT", padding=0.8,
                       borders_layout="HORIZONTAL_LINES", headings_style=FontFace(emphasis="BOLD", fill_color=CARD),
                       first_row_as_headings=False) as grid:
            for c in overview.cards:
                grid.row([c.label, c.value, c.change, c.note])
        pdf.ln(3)
    for s in deck.slides:
        _text(pdf, s.title, 10.5, "B", ACCENT, h=5.5)
        _text(pdf, s.narrative, 9, h=4.6)
        if s.note:
            _text(pdf, f"{t('notes_heading', deck.lang)}: {s.note.text}", 8, colour=MUTED, h=4)
        pdf.ln(1.5)
    return bytes(pdf.output())
