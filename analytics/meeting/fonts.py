"""A CJK font the PDF can embed, offline: Debian's Noto Sans CJK (fonts-noto-cjk), subset to the text used.

Noto Sans CJK ships as TrueType collections with CFF outlines. fpdf2 embeds CFF fonts as CIDFontType0
with an embedded encoding CMap, which pdfminer and pypdf cannot map back to text; so the face is cut out
of the collection with fontTools, subset to the characters the document uses, and its cubic outlines
converted to TrueType quadratics. fpdf2 then embeds a small TrueType font (Identity-H with a ToUnicode
map), and every text extractor reads the Chinese back. About 0.3 s per face.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

FAMILY = "Noto Sans CJK SC"
# (regular, bold) collections, first found wins; a plain .ttf/.otf path works too
CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
)
ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F))  # ASCII, so numbers and labels never miss a glyph


class FontMissing(RuntimeError):
    """No CJK font to embed: the PDF cannot be written."""


def find() -> tuple[Path, Path]:
    for regular, bold in CANDIDATES:
        if Path(regular).is_file():
            return Path(regular), Path(bold) if Path(bold).is_file() else Path(regular)
    raise FontMissing("no Noto Sans CJK font found (Debian: apt-get install fonts-noto-cjk); looked in "
                      + ", ".join(r for r, _ in CANDIDATES))


@lru_cache(maxsize=4)
def face_index(path: Path) -> int:
    """Index of the Simplified Chinese face in a collection (0 for a single font)."""
    if path.suffix.lower() != ".ttc":
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    for i, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == FAMILY:
            return i
    return 0


def subset_ttf(path: Path, text: str) -> bytes:
    """The face of `path` holding `text`'s characters only, as TrueType (glyf) outlines."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=face_index(path), lazy=True)
    opts = subset.Options()
    opts.layout_features, opts.name_IDs, opts.hinting, opts.desubroutinize = [], ["*"], False, True
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(text="".join(sorted(set(text + ALWAYS))))
    sub.subset(font)
    if "CFF " in font:
        _cff_to_glyf(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def _cff_to_glyf(font) -> None:
    """Replace CFF outlines with TrueType ones (cubic → quadratic within 1 font unit)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_set, order = font.getGlyphSet(), font.getGlyphOrder()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["head"].indexToLocFormat, font["head"].glyphDataFormat = 0, 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
