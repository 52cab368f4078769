"""Radiology report parsing shared by the MIMIC-IV-Note and MIMIC-CXR converters.

Sections are cut at top-level headers (``FINDINGS:``, ``IMPRESSION:``, ...) written in capitals at
the start of a line, in whatever order they appear, so a report with IMPRESSION before FINDINGS
splits correctly (the original took "everything after IMPRESSION:" and assumed the order).
Organ sub-headings inside FINDINGS (``LIVER:``, ``CHEST:``) are not section boundaries.

Modality and anatomy are read from the exam title (the EXAMINATION section) with whole-word
patterns covering the abbreviations titles really use (``CT``, ``CTA``, ``MR``, ``MRA``, ``US``,
``W/O``), so ``ct`` never matches inside "section" and head-and-neck exams are found by the words
reports use ("NECK", "HEAD AND NECK", "SOFT TISSUE NECK", sinuses, orbits, ...). These word
lists are hand-written because no maintained library maps free-text exam titles to body regions.
"""

from __future__ import annotations

import re

_ALIASES = {
    "EXAM": "EXAMINATION",
    "IMPRESSIONS": "IMPRESSION",
    "COMPARISONS": "COMPARISON",
    "RECOMMENDATIONS": "RECOMMENDATION",
    "RECOMMENDATION(S)": "RECOMMENDATION",
    "CLINICAL HISTORY": "HISTORY",
    "CLINICAL INDICATION": "INDICATION",
    "REASON FOR EXAM": "INDICATION",
    "REASON FOR EXAMINATION": "INDICATION",
}
_TOP_LEVEL = {
    "EXAMINATION",
    "INDICATION",
    "HISTORY",
    "TECHNIQUE",
    "COMPARISON",
    "PROCEDURE",
    "DOSE",
    "FINDINGS",
    "IMPRESSION",
    "CONCLUSION",
    "RECOMMENDATION",
    "NOTIFICATION",
    "ADDENDUM",
    "WET READ",
    "FINDINGS AND IMPRESSION",
    "FINDINGS/IMPRESSION",
    "FINAL REPORT",
}
_HEADER = re.compile(r"^[ \t]*([A-Z][A-Z /&()]*?)[ \t]*:", re.MULTILINE)


def split_sections(text: str) -> dict[str, str]:
    """Top-level sections of a report: canonical header name -> raw body (first occurrence wins)."""
    marks = []
    for match in _HEADER.finditer(text):
        name = _ALIASES.get(match.group(1), match.group(1))
        if name in _TOP_LEVEL:
            marks.append((name, match.start(), match.end()))
    sections: dict[str, str] = {}
    for k, (name, _, body_start) in enumerate(marks):
        body_end = marks[k + 1][1] if k + 1 < len(marks) else len(text)
        sections.setdefault(name, text[body_start:body_end])
    return sections


def keep_lines(text: str) -> str:
    """Strip each line and collapse runs of blank lines (MIMIC-IV-Note keeps paragraph breaks)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """Join hard-wrapped lines with single spaces (MIMIC-CXR reports wrap at ~80 characters)."""
    return " ".join(text.split())


def has_content(text: str) -> bool:
    """Whether a section says anything: de-identification blanks (``___``) alone do not count."""
    return re.search(r"[A-Za-z]{2}", text) is not None


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Z0-9])(?:" + "|".join(alternatives) + r")(?![A-Z0-9])")


MODALITIES: dict[str, re.Pattern[str]] = {
    "ct": _words(r"CT", r"CTA", r"CTU", r"CTV", r"CAT SCAN", r"COMPUTED TOMOGRAPHY"),
    "mri": _words(r"MR", r"MRI", r"MRA", r"MRV", r"MRCP", r"MAGNETIC RESONANCE"),
    "ultrasound": _words(
        r"US", r"U/S", r"U\.S\.?", r"ULTRASOUND", r"ULTRASONOGRAPHY", r"SONO", r"SONOGRAM", r"DUPLEX", r"DOPPLER",
        r"DOPP",
    ),
}  # fmt: skip
_NUCLEAR = _words(r"PET", r"SPECT", r"NM", r"NUC", r"NUCLEAR")

# Checked in the original's order: the first region that matches wins (e.g. "CT ABD & PELVIS" is abdomen,
# "CTA HEAD AND NECK" is head and neck, "CT HEAD AND C-SPINE" is brain).
ANATOMY_PATTERNS: dict[str, re.Pattern[str]] = {
    "chest": _words(r"CHEST", r"THORAX", r"LUNGS?", r"CARDIAC", r"HEART", r"THORACIC(?![ -]*SPINE)"),
    "head_and_neck": _words(
        r"HEAD ?(?:AND|&|/) ?NECK", r"SOFT[ -]TISSUES? (?:OF THE )?NECK", r"(?<!FEMORAL )NECK", r"SINUS(?:ES)?",
        r"PARANASAL", r"FACIAL", r"FACE", r"MAXILLOFACIAL", r"MANDIBLE", r"ORBITS?", r"TEMPORAL BONES?", r"IACS?",
        r"LARYNX", r"PHARYNX", r"NASOPHARYNX", r"OROPHARYNX", r"PAROTIDS?", r"SALIVARY",
    ),
    "brain": _words(
        r"BRAIN", r"(?<!FEMORAL )(?<!HUMERAL )HEAD", r"CRANIAL", r"INTRACRANIAL", r"SKULL", r"PITUITARY", r"SELLA",
        r"STROKE",
    ),
    "abdomen": _words(
        r"ABDOMEN", r"ABDOMINAL", r"ABD", r"A/P", r"LIVER", r"HEPATIC", r"PANCREAS", r"PANCREATIC", r"KIDNEYS?",
        r"RENAL", r"ADRENALS?", r"MRCP", r"ENTEROGRAPHY",
    ),
    "pelvis": _words(
        r"PELVIS", r"PELVIC", r"PEL", r"PROSTATE", r"UTERUS", r"OVARY", r"OVARIES", r"RECTUM", r"RECTAL", r"BLADDER",
    ),
    "spine": _words(
        r"SPINE", r"SPINAL", r"[CTL]SPINE", r"LUMBAR", r"LUMBOSACRAL", r"SACRUM", r"COCCYX", r"MYELOGRAM",
    ),
}  # fmt: skip


def exam_title(sections: dict[str, str]) -> str:
    """The exam title (EXAMINATION section) in capitals on one line, or '' when there is none."""
    return one_line(sections.get("EXAMINATION", "")).upper()


def modality_of(title: str) -> str | None:
    """``ct``, ``mri`` or ``ultrasound``; None for other modalities, nuclear/PET exams or several at once."""
    found = [name for name, pattern in MODALITIES.items() if pattern.search(title)]
    if len(found) != 1 or _NUCLEAR.search(title):
        return None
    return found[0]


def anatomy_of(title: str) -> str | None:
    """First body region (catalogue order) the title names, or None."""
    return next((name for name, pattern in ANATOMY_PATTERNS.items() if pattern.search(title)), None)
