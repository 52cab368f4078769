"""Task definitions of the credentialed tasks: the ``original_def`` texts of the MedS-Ins release.

The public task files carry these texts as ``Definition[0]``; building with the same text keeps
prompts comparable with published results. Source: ``Evaluation/RewriteDefinitions.json`` of
MAGIC-AI4Med/MedS-Ins (CC BY-SA 4.0).
"""

DEFINITIONS: dict[int, str] = {
    41: (
        "In medical, a practical task is to perform textual inference. In the following, you will be first "
        "presented with a formal clinical premise statement. It may be some condition descriptions or "
        "numerical results. Then I will give you a hypothesis statement, you have to determine whether the "
        "hypothesis statement can be inferred from the clinical conditions. The two statements will be "
        "distinguished our following the format like 'sentence1: ...\nsentence2: ...'. You should make "
        "your answer clear and short, picking a choice from 3 options: entailment, contradiction, or "
        "neutral. "
    ),
    42: (
        "You are a experienced doctor. Next, your task is to perform textual entailment. In the following, "
        "you will be presented with a formal clinical premise statement. You should write a clearly right "
        "hypothesis statement based on it. "
    ),
    78: (
        "Given the detailed finding of Ultrasound imaging diagnostics, summarize the note's conclusion in a few words."
    ),
    83: "Summarize the CT imaging diagnostics' detailed findings for the Chest into a concise conclusion.",
    84: "Summarize the CT imaging diagnostics' detailed findings for the Head_and_neck into a concise conclusion.",
    85: "Summarize the CT imaging diagnostics' detailed findings for the Brain into a concise conclusion.",
    86: "Summarize the CT imaging diagnostics' detailed findings for the Abdomen into a concise conclusion.",
    87: "Summarize the CT imaging diagnostics' detailed findings for the Pelvis into a concise conclusion.",
    88: "Summarize the CT imaging diagnostics' detailed findings for the Spine into a concise conclusion.",
    89: "Summarize the MRI imaging diagnostics' detailed findings for the Chest into a concise conclusion.",
    90: "Summarize the MRI imaging diagnostics' detailed findings for the Head_and_neck into a concise conclusion.",
    91: "Summarize the MRI imaging diagnostics' detailed findings for the Brain into a concise conclusion.",
    92: "Summarize the MRI imaging diagnostics' detailed findings for the Abdomen into a concise conclusion.",
    93: "Summarize the MRI imaging diagnostics' detailed findings for the Pelvis into a concise conclusion.",
    94: "Summarize the MRI imaging diagnostics' detailed findings for the Spine into a concise conclusion.",
    112: (
        "You will be given a description of the important aspects in the Chest X-ray image. Your task is "
        "to give a short summary of the most immediately relevant findings"
    ),
    117: (
        "Next I will give an EHR data of a patient, your goal is to predict whether the patient needs "
        "hospitalization. Your answer should be True or False."
    ),
    118: (
        "Next I will give an EHR data of a patient, your goal is to predict whether the patient may "
        "revisit emergency department in 72 hours. This can hint clinicians to pay more attention on this "
        "case."
    ),
    119: (
        "Next I will give an EHR data of a patient, your goal is to predict whether the patient should be "
        "classified into critical triage queue."
    ),
}
