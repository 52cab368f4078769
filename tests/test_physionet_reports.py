"""Radiology report parsing and exam-title classification (invented report text only)."""

import pytest

from meds_bench.physionet.mimic_cxr import convert_report
from meds_bench.physionet.mimic_iv_note import convert_note
from meds_bench.physionet.reports import anatomy_of, modality_of, split_sections


@pytest.mark.parametrize(
    ("title", "modality", "anatomy"),
    [
        ("CT HEAD W/O CONTRAST", "ct", "brain"),
        ("CTA HEAD AND NECK W&W/O C & RECONS", "ct", "head_and_neck"),
        ("CT SOFT TISSUE NECK W/CONTRAST", "ct", "head_and_neck"),
        ("CT NECK W/CONTRAST (EG:PAROTIDS)", "ct", "head_and_neck"),
        ("CT SINUS/MANDIBLE/MAXILLOFACIAL W/O CONTRAST", "ct", "head_and_neck"),
        ("MR HEAD/NECK W/O CONTRAST", "mri", "head_and_neck"),
        ("MRA NECK W&W/O CONTRAST", "mri", "head_and_neck"),
        ("MR HEAD W & W/O CONTRAST", "mri", "brain"),
        ("CT CHEST W/CONTRAST", "ct", "chest"),
        ("CT ABD & PELVIS WITH CONTRAST", "ct", "abdomen"),
        ("CT PELVIS W/O CONTRAST", "ct", "pelvis"),
        ("MR PELVIS (PROSTATE) W/O CONTRAST", "mri", "pelvis"),
        ("MRCP", "mri", "abdomen"),
        ("CT C-SPINE W/O CONTRAST", "ct", "spine"),
        ("MR THORACIC SPINE W/O CONTRAST", "mri", "spine"),
        ("MR L SPINE W/O CONTRAST", "mri", "spine"),
        ("MR HIP (FEMORAL NECK) W/O CONTRAST", "mri", None),
        ("US ABD LIMIT, SINGLE ORGAN", "ultrasound", "abdomen"),
        ("RENAL U.S.", "ultrasound", "abdomen"),
        ("DUPLEX DOPP ABD/PEL", "ultrasound", "abdomen"),
    ],
)
def test_titles_use_real_abbreviations(title, modality, anatomy):
    assert modality_of(title) == modality
    assert anatomy_of(title) == anatomy


@pytest.mark.parametrize(
    "title",
    [
        "PELVIS, POST C-SECTION",  # "ct" only inside a word
        "CHEST (PA AND LAT)",  # radiograph
        "PET-CT WHOLE BODY",  # nuclear medicine, even though "CT" is a word here
        "CT AND MR HEAD",  # two modalities at once
    ],
)
def test_titles_that_are_not_one_ct_mri_or_ultrasound_exam(title):
    assert modality_of(title) is None


def test_sections_split_in_either_order_and_ignore_organ_subheadings():
    text = (
        "EXAMINATION:  CT TORSO\n\nIMPRESSION:\n1. Small left effusion.\n\nFINDINGS:\n"
        "CHEST: Small left pleural effusion.\nLIVER: Normal.\n\nNOTIFICATION:  Discussed with Dr. ___."
    )
    sections = split_sections(text)
    assert sections["IMPRESSION"].strip() == "1. Small left effusion."
    assert sections["FINDINGS"].strip() == "CHEST: Small left pleural effusion.\nLIVER: Normal."
    assert sections["EXAMINATION"].strip() == "CT TORSO"


def test_note_conversion_reasons():
    base = "EXAMINATION:  {title}\n\nFINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}\n"
    assert convert_note(base.format(title="CT HEAD W/O CONTRAST", findings="No bleed.", impression="Normal.")) == (
        85,
        {"input": "No bleed.", "output": "Normal."},
    )
    assert convert_note(base.format(title="MR NECK", findings="Node.", impression="Benign.")) == (
        90,
        {"input": "Node.", "output": "Benign."},
    )
    assert convert_note(base.format(title="CT HEAD", findings="No bleed.", impression="___")) == "empty IMPRESSION"
    assert convert_note("EXAMINATION:  CT HEAD\n\nFINDINGS:\nNo bleed.\n") == "no IMPRESSION section"
    assert convert_note("FINDINGS:\nNo bleed.\nIMPRESSION:\nNormal.") == "no EXAMINATION title"
    assert convert_note(base.format(title="CT KNEE", findings="a", impression="b")) == (
        "CT/MRI body region not one of the six"
    )


def test_cxr_report_joins_wrapped_lines_and_handles_reversed_sections():
    report = (
        "                                 FINAL REPORT\n IMPRESSION: \n \n No acute cardiopulmonary\n process.\n"
        " \n FINDINGS: \n \n Lungs are clear.  No effusion or\n pneumothorax.\n"
    )
    assert convert_report(report) == {
        "input": "Lungs are clear. No effusion or pneumothorax.",
        "output": "No acute cardiopulmonary process.",
    }
    assert convert_report(" FINDINGS AND IMPRESSION: \n Normal chest.\n") == "no FINDINGS section"
