"""The paper's prompt template: the one builder shared by evaluation and training (SPEC A3).

Layout (MedS-Ins ``EvalDataset.py``)::

    Input:\\n{case input}\\n\\nOutput:\\n{case output}\\n     <- each few-shot case, joined by a blank line
    \\n\\n{definition}Please learn from the few-shot cases to see what content you have to output.
    Input:\\n{query}\\nOutput:\\n

With no cases the instruction is the definition alone. For chat models the instruction is the
system message and the query the user message, as in the original evaluation code (also under
lm-eval's ``--fewshot_as_multiturn``, which would otherwise move the cases out of the system message).
For templates without a system role the whole plain-text prompt is one user message, as the
original did for Mistral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Appended to the definition, with no separating space, exactly as the original code does, so
# that prompts match what MedS-Ins-trained models saw in training.
LEARN_FROM_CASES = "Please learn from the few-shot cases to see what content you have to output."


def format_case(case_input: str, case_output: str) -> str:
    """One solved few-shot case."""
    return f"Input:\n{case_input}\n\nOutput:\n{case_output}\n"


def format_query(query_input: str) -> str:
    """The instance the model must answer; generation starts right after ``Output:``."""
    return f"Input:\n{query_input}\nOutput:\n"


def query_of(prompt: str) -> str:
    """The query input of a prompt sent (plain or chat-templated): the text after the last
    ``Input:`` line, up to the last ``Output:`` line; a text without ``Input:`` is returned as is."""
    head, marker, tail = prompt.rpartition("Input:\n")
    if not marker:
        return prompt
    body, out_marker, _ = tail.rpartition("\nOutput:")
    return body if out_marker else tail


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: ``instruction`` (cases + definition) and ``query``."""

    instruction: str
    query: str

    def text(self, system_instruction: str | None = None) -> str:
        """Plain-text prompt for base models: instruction, newline, query."""
        body = f"{self.instruction}\n{self.query}"
        return f"{system_instruction}\n\n{body}" if system_instruction else body

    def messages(self, system_instruction: str | None = None) -> list[dict[str, str]]:
        """Chat messages as in the original evaluation: system = cases + definition, user = query."""
        prefix = f"{system_instruction}\n\n" if system_instruction else ""
        return [
            {"role": "system", "content": prefix + self.instruction.strip()},
            {"role": "user", "content": self.query.strip()},
        ]

    def merged_messages(self, system_instruction: str | None = None) -> list[dict[str, str]]:
        """One user message holding the plain-text prompt, for templates without a system role."""
        return [{"role": "user", "content": self.text(system_instruction)}]


def build_prompt(definition: str, query_input: str, cases: Sequence[tuple[str, str]] = ()) -> Prompt:
    """Render the paper's template for one query and its (possibly empty) list of cases."""
    cases = tuple((str(i), str(o)) for i, o in cases)
    if cases:
        shots = "\n\n".join(format_case(i, o) for i, o in cases)
        instruction = f"{shots}\n\n{definition}{LEARN_FROM_CASES}"
    else:
        instruction = definition
    return Prompt(instruction=instruction, query=format_query(query_input))
