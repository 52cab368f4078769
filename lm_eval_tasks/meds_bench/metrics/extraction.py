"""Closed-set answer extraction (SPEC A4): option letters in the six MCQA languages, option texts,
yes/no/maybe, True/False, digit labels and label names.

Every function returns the *set* of answers a prediction commits to; a scorer counts it correct
only when that set equals the gold set, so an answer that names several options is wrong.

Option letters are read in three steps, the first that finds something wins:

1. explicit answer statements in any of the six languages ("the answer is (C)", "答案是C", "选C",
   "正解はC", "Ответ: В", "La respuesta correcta es B", "La bonne réponse est B", "B is correct"),
   together with the step-2 labels that come before the first of them ("A. Retinal detachment ...
   The correct answer is C" states A and C);
2. an option label standing at the start of a line or sentence ("B", "(B)", "B.", "B: text");
3. the text of exactly one option.

One answer or none (:func:`_agreed`, steps 1 and 2): a reply that commits to one option and also
presents a different option as the answer is ambiguous and gives no answer. Presenting counts an
answer statement, a label before the first statement, and a letter after a phrase that offers an
alternative (``_ALTERNATIVE``): a later "the correct answer is", "some would argue", "or possibly",
a self-correction ("Actually no, the right answer is B"), a hedge ("A or B"). For example
"A. Methimazole. However, some would argue the correct answer is B", "The answer is B, or possibly
A", "答案是B，也可能是A", "正解はA、あるいはB", "La bonne réponse est B, ou peut-être A",
"Ответ: B, или, возможно, A", "La respuesta correcta es B, o quizás A" give none. A reply that
names other options only to reject them keeps its one answer: "Not A; B is right", "A. Methimazole
is wrong here. The answer is B", "不是A，B是正确的", "Bは誤りで、Aが正解です", "Pas A ; B est la
bonne réponse", "A. Глюкагон неверен. Правильный ответ: B", "No es A; B es la correcta". Several
different labels before the first statement are an echoed option list or a walk through the
options, not answers.

A letter counts only as a token of its own (not inside "B12", "C-reactive", "Ebola"). The pronoun
"I", the article "A"/"a", lower-case letters and Russian one-letter words («В», «С», «А», «И», «К»)
count only where they cannot be words: followed by the end, by punctuation that closes a label
(``)``, ``.``, ``:``), by their option's text, or, after an answer phrase, by "because"-like words.
Cyrillic capitals stand for Latin look-alike option letters in that strict position only; where the
options themselves are lettered in Cyrillic, letters are read in that alphabet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

LATIN = "ABCDEFGHIJ"
CYRILLIC = "АБВГДЕЖЗИК"
# Capitals of the same shape in both alphabets.
_LOOKALIKE = {"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K"}
_LOOKALIKE_BACK = {v: k for k, v in _LOOKALIKE.items()}
# Letters that are also words at the start of a sentence: English pronoun/article, Russian
# prepositions and conjunctions.
_WORD_LETTERS = frozenset("AIАВСИКОУЯ")
# A letter of a word: Latin (with accents), Greek, Cyrillic, or a digit. CJK and kana are not, so
# "选C项" and "Cが正解" keep C a token of its own.
_WORDCHAR = r"0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF"
_TOKEN = re.compile(rf"(?<![{_WORDCHAR}])([A-Za-z\u0400-\u04FF])(?![{_WORDCHAR}]|-[{_WORDCHAR}]|['’][a-z])")

# Phrases that offer another answer beside the one given ("or possibly B", "some would argue B", a
# self-correction "actually, B"): the letter after one is one more answer statement (see "One answer
# or none" above).
_ALTERNATIVE = (
    r"\b(?:(?:or\s+)?(?:possibly|perhaps|maybe)(?:\s+also)?|alternatively,?|actually,?|(?:could|might|may)\s+also\s+be"
    r"|some(?:one|\s+\w+)?\s+(?:would|might|may|could)\s+(?:argue|say|suggest|prefer|choose)(?:\s+(?:that|for))?"
    r"|(?:ou\s+)?peut[-\s]être|ou\s+bien|en\s+fait,?|certains\s+(?:diraient|pourraient\s+dire|choisiraient)(?:\s+que)?"
    r"|(?:o\s+)?(?:quizás|quizas|quizá|tal\s+vez|posiblemente)|o\s+bien|en\s+realidad,?"
    r"|algunos\s+(?:dirían|dirian|argumentarían|elegirían)(?:\s+que)?"
    r"|(?:или,?\s+)?возможно,?|или\s+же|на\s+самом\s+деле,?|некоторые\s+(?:сказали\s+бы|считают|выбрали\s+бы)(?:,?\s+что)?)"
    r"|(?:也|或者?|或许|也许)(?:可能)?是|有人(?:会|可能)?认为(?:是)?|其实是?|实际上是?|あるいは|もしくは|または|実は"
)
# Answer phrases that precede the letter. Bare "option"/"choice" are not among them: "Option A is
# wrong" is no answer.
_PRE = (
    r"(?:(?:the\s+)?(?:(?:most\s+)?(?:correct|right|best|final|true|appropriate|likely)\s+)?answers?"
    r"|(?:the\s+)?(?:correct|right|best|final)\s+(?:option|choice|response|letter)s?"
    r"|(?:i\s*(?:would|'d|will|'ll)?\s*)?(?:choose|chose|pick|select|go\s+with|opt\s+for)"
    r"|(?:therefore|thus|hence),?|it\s+is|it['’]s)"
    r"(?:\s+(?:is|are|would\s+be|will\s+be|should\s+be|must\s+be|seems\s+to\s+be))?"
    r"|正确答案(?:应该?是|应为|是|为)?|最佳答案(?:是|为)?|答案(?:应该?是|应为|是|为|选)?|正确(?:的)?选项(?:是|为)?"
    r"|(?:应该?|故|所以|因此|我)?选(?:择)?"
    r"|正しい答え(?:は)?|答え(?:は)?|正解(?:は)?|解答(?:は)?"
    r"|(?:les?\s+|la\s+)?(?:bonnes?|meilleures?)\s+réponses?(?:\s+(?:est|sont|serait))?"
    r"|(?:la\s+)?réponses?(?:\s+(?:correctes?|exactes?|justes?|finale))?(?:\s+(?:est|sont|serait))?"
    r"|je\s+choisis"
    r"|(?:la\s+)?respuestas?(?:\s+(?:correctas?|final|adecuada))?(?:\s+(?:es|son|sería|seria))?"
    r"|(?:la\s+)?(?:opción|opcion|alternativa)\s+correcta(?:\s+(?:es|sería))?|elijo|escojo"
    r"|(?:правильн\w*|верн\w*)\s+(?:ответ\w*|вариант\w*)(?:\s+(?:это|—|-))?|ответ\w*|выбираю"
    rf"|{_ALTERNATIVE}"
)
_PRE_FILLER = (
    r"[\s:：=\-–—>]*(?:(?:is|es|est|это)\s+)?(?:(?:the\s+)?(?:option|choice|letter)\s+|(?:la\s+)?(?:opción|opcion)\s+"
    r"|l['’]option\s+|(?:la\s+)?(?:réponse)\s+|вариант\w*\s+|选项\s*|選択肢\s*|la\s+)?[\(\[（【「\"'«]?\s*"
)
_PRE_RE = re.compile(rf"(?:{_PRE}){_PRE_FILLER}$", re.IGNORECASE)
# Statements after the letter: "B is correct", "B项正确", "Bが正解", "B est la bonne réponse".
_POST_RE = re.compile(
    r"^[\)\]）】」\"'»]?\s*(?:"
    r"(?:is|would\s+be|seems)\s+(?:the\s+)?(?:correct|right|best|answer|most\s+(?:likely|appropriate|probable))\b"
    r"|項?(?:项|選項|选项)?(?:是)?(?:正确|对)|(?:が|は)(?:正解|正しい)"
    r"|est\s+(?:la\s+)?(?:bonne|correcte|juste|meilleure)|es\s+(?:la\s+)?(?:correcta|respuesta\s+correcta)"
    r"|(?:[-—–]\s*)?(?:является\s+)?(?:правильн|верн)\w*)",
    re.IGNORECASE,
)
_NEGATED_AFTER = re.compile(
    r"^[\)\]）】」\"'»]?\s*(?:is\s+(?:not|in(?:correct)?|wrong|false)|isn['’]t|est\s+(?:fausse|faux|incorrecte|pas)"
    r"|n['’]est\s+pas|es\s+(?:incorrecta|falsa|no)|no\s+es|(?:[-—–]\s*)?(?:не(?![а-яё])|невер|неправил)|項?(?:项|选项)?(?:不|错|錯)"
    r"|(?:が|は)(?:誤|間違)|ではない)",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    rf"^[\)\]）]?\s*(?:or|ou|o|или|或者?|还是|か|または|/)\s*[\(\[（]?\s*[A-Za-z\u0400-\u04FF](?![{_WORDCHAR}])",
    re.IGNORECASE,
)
_CONNECTOR = re.compile(
    r"^\s*(?:because|since|as|given|due|which|porque|ya\s+que|pues|car|parce|puisque|потому|так\s+как|поскольку)\b",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^(?:\s*[,，、;；&]\s*(?:and\s+|et\s+|y\s+|и\s+)?|\s+(?:and|et|y|e|и|と|和|及|以及)\s+|[和及と])"
)
_CLOSE = re.compile(r"^\s*(?:$|[\)\]）】」\"'»\(（]|[.。．:：,，、;；!?](?!\d)|です|である)")
# A letter that ends the output after a comma, a colon or a concluding word ("Based on X, B.").
_TAIL = re.compile(
    r"(?:[,:：]|\b(?:definitely|probably|likely|so|thus|then|hence|therefore|answer))\s*,?\s*[\(\[（]?"
    r"(?=[A-Za-z\u0400-\u04FF][\)\]）]?\s*[.!。]?\s*$)",
    re.IGNORECASE,
)
_LINE_START = re.compile(
    r"(?:^|\n|(?<=[。！？])\s*|(?<=[.!?])\s+)[\s>\-\*•#]*(?:(?:option|choice|answer|opción|opcion|вариант|选项|選択肢)\s*[:：]?\s*)?"
    r"[\(\[（【「\"'«]?\s*(?=[A-Za-z\u0400-\u04FF])",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), no markdown emphasis, spaces collapsed per line."""
    text = unicodedata.normalize("NFKC", text).replace("*", "").replace("`", "").replace("__", "")
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", unicodedata.normalize("NFKC", text).casefold()).split())


def gold_letters(gold: str) -> frozenset[str]:
    """Option letters of an MCQA gold (``The right answer is B: x``; IgakuQA ``A: x, C: y``)."""
    return frozenset(re.findall(rf"(?<![{_WORDCHAR}])([A-J]|[{CYRILLIC}])\s*[:：]", normalize(gold)))


def gold_option_texts(gold: str) -> dict[str, str]:
    """Letter -> option text stated by an MCQA gold (``X: text``; text ends at ``, Y:`` or ``です``)."""
    text = normalize(gold)
    parts = re.split(rf"(?:^|[,，、]\s*|\s)([A-J]|[{CYRILLIC}])\s*[:：]\s*", text)
    out = {}
    for k in range(1, len(parts) - 1, 2):
        option = re.sub(r"\s*です\s*$", "", parts[k + 1]).strip()
        if option:
            out[parts[k]] = option
    return out


def input_options(text: str) -> dict[str, str]:
    """Letter -> option text from option lines of a question (``A. x``, ``(B) y``, ``C: z``, ``Г) w``)."""
    out = {}
    for line in text.splitlines():
        found = re.match(rf"^\s*[\(\[]?([A-J]|[{CYRILLIC}])[\)\]]?\s*[.．:：)]\s*(\S.*)$", normalize(line))
        if found:
            out[found.group(1)] = found.group(2).strip()
    return out


class _Reader:
    """Reads option letters of one prediction against one option set (see the module docstring)."""

    def __init__(self, text: str, options: Mapping[str, str], labels: Iterable[str]) -> None:
        self.text = text
        self.options = {k: _fold(v) for k, v in options.items() if _fold(v)}
        self.labels = frozenset(labels)
        self.cyrillic = all(label in CYRILLIC for label in self.labels)

    def letter(self, pos: int, after_phrase: bool) -> tuple[str, int] | None:
        """The option letter whose token starts at ``pos`` and the end of that token, if it is one."""
        token = _TOKEN.match(self.text, pos)
        if not token:
            return None
        char, end = token.group(1), token.end()
        upper = char.upper()
        lookalike = False
        if self.cyrillic and upper not in CYRILLIC:
            upper, lookalike = _LOOKALIKE_BACK.get(upper, ""), True
        elif not self.cyrillic and upper not in LATIN:
            upper, lookalike = _LOOKALIKE.get(upper, ""), True
        if upper not in self.labels:
            return None
        rest = self.text[end:]
        if _CLOSE.match(rest) or _CONNECTOR.match(rest) or _POST_RE.match(rest) or _NEGATED_AFTER.match(rest):
            return upper, end
        if after_phrase and _HEDGE.match(rest) or self._listed_next(rest):
            return upper, end
        if char != char.upper() or lookalike or char in _WORD_LETTERS:
            return None  # "A patient ...", "I think ...", "В данном случае ..."
        if after_phrase or self._names_option(rest, upper):
            return upper, end
        return None  # "B vitamins ..." at a line start is no answer

    @staticmethod
    def _listed_next(rest: str) -> bool:
        """Whether a list of labels goes on: ``, C.``, `` and C``, ``、C``."""
        sep = _SEPARATOR.match(rest)
        token = sep and _TOKEN.match(rest, sep.end())
        return bool(token) and bool(_CLOSE.match(rest[token.end() :]))

    def _names_option(self, rest: str, letter: str) -> bool:
        want = self.options.get(letter)
        return bool(want) and _fold(rest[: len(want) + 40]).startswith(want)

    def _own_text(self, label_text: str, end: int) -> bool:
        """Whether ``: <text>`` after a label is just that option's text (so a list may go on)."""
        letter = self.text[end - 1].upper()
        letter = letter if letter in self.labels else _LOOKALIKE.get(letter, _LOOKALIKE_BACK.get(letter, letter))
        text = _fold(label_text)
        want = self.options.get(letter)
        return text == want if want else len(text) <= 30

    def rejects(self, end: int, letter: str) -> bool:
        """Whether the label ending at ``end`` is ruled out, directly (``A is wrong``, ``A项错误``,
        ``Aは誤り``) or after its option's text (``A. Methimazole is wrong``, ``A. Глюкагон неверен``);
        where that text is unknown, after a few words of the same clause (``A. <text> is wrong``)."""
        rest = self.text[end:]
        if _NEGATED_AFTER.match(rest):
            return True
        label = re.match(r"^\s*([\)\]）.．:：\-–—])?\s*[\(（]?", rest)
        body, want = rest[label.end() :], self.options.get(letter)
        if want:  # right after the option's own text, before any punctuation that follows it
            own = next((i for i in range(len(want), len(want) + 40) if _fold(body[:i]) == want), None)
            cuts = [] if own is None else [own]
        elif label.group(1):  # "A. <text>": where a word of a short phrase of the same clause ends
            clause = re.match(r"[^.。．!?！？;；,，\n]{0,40}", body).group(0)
            cuts = [i + 1 for i, c in enumerate(clause) if c.isspace() or c >= "\u3000"]
        else:
            return False
        return any(_NEGATED_AFTER.match(body[i:]) for i in cuts)

    def conflicts(self, end: int, letter: str) -> bool:
        """Whether the text after a label (``B: <text>``) is another option's text, not its own."""
        rest = _fold(re.sub(r"^\s*[\)\]）.．:：\-–—]\s*", "", self.text[end:].split("\n", 1)[0]))
        if not rest or rest.startswith(self.options.get(letter, "\0")):
            return False
        return any(rest.startswith(t) for k, t in self.options.items() if k != letter)

    def statement(self, pos: int, after_phrase: bool = True) -> frozenset[str] | None:
        """Letters stated from ``pos`` on (``A``, ``A, C``, ``A: x, C: y``); ``frozenset()`` for a hedge."""
        first = self.letter(pos, after_phrase)
        if not first or self.rejects(first[1], first[0]):
            return None
        if self.conflicts(first[1], first[0]):
            return frozenset()  # "B: <text of option A>" names two answers
        letters, end = {first[0]}, first[1]
        while True:
            rest = self.text[end:]
            if _HEDGE.match(rest):
                return frozenset()
            label_text = re.match(
                r"^(?:\s*[\)\]）]?\s*[:：.．]\s*[^\n,，、;；]*?)?(?=[,，、;；]|\s+(?:and|et|y|и)\s)", rest
            )
            skip = label_text.end() if label_text and self._own_text(label_text.group(0), end) else 0
            sep = _SEPARATOR.match(rest[skip:])
            if not sep:
                return frozenset(letters)
            nxt = self.letter(end + skip + sep.end(), after_phrase=False)
            if not nxt or not (_CLOSE.match(self.text[nxt[1] :]) or _SEPARATOR.match(self.text[nxt[1] :])):
                return frozenset(letters)
            letters.add(nxt[0])
            end = nxt[1]

    def explicit(self) -> list[tuple[int, frozenset[str]]]:
        """Answer statements (step 1) with the positions of their first letters, in text order."""
        found = []
        for m in _TOKEN.finditer(self.text):
            pos = m.start()
            before = self.text[max(0, pos - 60) : pos]
            posed = _POST_RE.match(self.text[m.end() :]) and self._is_label_before(pos)
            stated = self.statement(pos) if _PRE_RE.search(before) or posed else None
            if stated is not None:
                found.append((pos, stated))
        tail = _TAIL.search(self.text)
        listed = tail and re.search(rf"(?<![{_WORDCHAR}])[A-Za-z\u0400-\u04FF][\)\]）]?\s*$", self.text[: tail.start()])
        stated = self.statement(tail.end()) if tail and not listed else None
        if stated is not None:
            found.append((tail.end(), stated))
        return found

    def _is_label_before(self, pos: int) -> bool:
        """``B is correct`` counts where B opens a sentence or clause or follows "option"-like words."""
        before = self.text[max(0, pos - 20) : pos]
        return bool(
            re.search(r"(?:^|[.。!?！？\n,;，；、]\s*|[\(\[（「\"'«]\s*)$", before)
            or re.search(
                r"(?:option|choice|opción|opcion|l['’]option|la|вариант\w*|选项|選択肢)\s*[\(\[（]?$",
                before,
                re.IGNORECASE,
            )
        )

    def leading(self, before: int | None = None) -> frozenset[str] | None:
        """Labels at the start of lines or sentences (up to ``before``; several different ones: no
        answer); None if none."""
        found = []
        for m in _LINE_START.finditer(self.text, 0, len(self.text) if before is None else before):
            got = self.letter(m.end(), after_phrase=False)
            stated = self.statement(m.end(), after_phrase=False) if got else None
            if stated is not None and not self._abbreviation(got[1], got[0]):
                found.append(stated)
        return _agreed(found) if found else None

    def rejected(self) -> frozenset[str]:
        """Options a statement rules out ("Option A is incorrect", "A项错误")."""
        out = set()
        for m in _TOKEN.finditer(self.text):
            got = self.letter(m.start(), after_phrase=False)
            if got and self._is_label_before(m.start()) and self.rejects(got[1], got[0]):
                out.add(got[0])
        return frozenset(out)

    def _abbreviation(self, end: int, letter: str) -> bool:
        """``E. coli``: a letter, a period and a lower-case word that is not its option's text."""
        rest = self.text[end:]
        return bool(re.match(r"^\.\s+[a-z]", rest)) and not self._names_option(rest[1:].lstrip(), letter)

    def option_text(self) -> frozenset[str]:
        rejected = self.rejected()
        return option_text_match(self.text, {k: v for k, v in self.options.items() if k not in rejected})


def _agreed(found: list[frozenset[str]]) -> frozenset[str]:
    """The one answer several statements give: their union when one statement names it all (``A is
    right``, ``C is right``, ``answer: A, C``); nothing when they present different answers or one
    hedges (the module docstring's "One answer or none")."""
    union = frozenset().union(*found)
    return union if union in found and frozenset() not in found else frozenset()


def extract_letters(
    prediction: str, options: Mapping[str, str] | None = None, labels: Iterable[str] | None = None
) -> frozenset[str]:
    """Option letters a prediction commits to ({} when none, when it hedges or when it names several
    different answers). ``options`` maps labels to their texts; ``labels`` are all option labels
    (default: those of ``options`` if they are Cyrillic, else A-J)."""
    text = normalize(prediction)
    if not text:
        return frozenset()
    options = options or {}
    if labels is None:
        labels = options if options and all(k in CYRILLIC for k in options) else LATIN
    reader = _Reader(text, options, labels)
    explicit = reader.explicit()
    if explicit:
        # A label before the first statement is an answer too ("A. x ... the correct answer is C"
        # gives two); several different ones there are an echoed option list.
        opening = reader.leading(before=explicit[0][0])
        return _agreed([stated for _, stated in explicit] + ([opening] if opening else []))
    found = reader.leading()
    return found if found is not None else reader.option_text()


_NEGATED_MENTION = re.compile(
    r"^\s*(?:\w+\s+)?(?:не|is\s+not|isn\s+t|is\s+(?:incorrect|wrong)|would\s+not|n\s+est\s+pas|no\s+es|no\s+está|"
    r"は誤り|ではない|不是|不正确|错误)(?!\w)"
)
_NEGATION = r"(?:(?<![a-zа-я])(?:not|no|without|rather\s+than|instead\s+of|non|pas|нет|не)|而不是|不是|ではなく)"


_NEGATED_BEFORE = re.compile(rf"{_NEGATION}\s*$")
_IS_WORDCHAR = re.compile(rf"[{_WORDCHAR}]")


def _whole_mentions(text: str, needle: str) -> list[tuple[int, int]]:
    """Spans of ``needle`` in ``text`` not inside a longer word, left to right, non-overlapping.

    What ``re.finditer`` with word-boundary look-arounds on the needle's word-character ends
    finds, by ``str.find``: option texts differ in every document, and compiling one pattern per
    option filled the ``re`` cache and took most of MCQA scoring time.
    """
    check_left, check_right = bool(_IS_WORDCHAR.match(needle)), bool(_IS_WORDCHAR.match(needle[-1]))
    spans, pos = [], 0
    while (start := text.find(needle, pos)) >= 0:
        end = start + len(needle)
        if (check_left and start > 0 and _IS_WORDCHAR.match(text[start - 1])) or (
            check_right and end < len(text) and _IS_WORDCHAR.match(text[end])
        ):
            pos = start + 1
            continue
        spans.append((start, end))
        pos = end
    return spans


def option_text_match(text: str, options: Mapping[str, str]) -> frozenset[str]:
    """The one option whose (folded) text the prediction names, negated mentions left out; {} when
    none or several. A mention inside a longer option's mention ("vitamin b1" in "vitamin b12 x")
    does not count."""
    folded = _fold(text)
    spans = []
    for letter, option in options.items():
        needle = _fold(option)
        if not needle:
            continue
        for start, end in _whole_mentions(folded, needle):
            negated = _NEGATED_BEFORE.search(folded[:start]) or _NEGATED_MENTION.match(folded[end:])
            spans.append((start, end, letter, bool(negated)))
    kept = {
        c
        for a, b, c, neg in spans
        if not neg and not any(x <= a and b <= y and (y - x) > (b - a) for x, y, _, _ in spans)
    }
    return frozenset(kept) if len(kept) == 1 else frozenset()


@lru_cache(maxsize=256)
def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted({_fold(lab) for lab in labels if _fold(lab)}, key=len, reverse=True)
    body = "|".join(re.escape(a) for a in alternatives)
    return re.compile(rf"(?<!\w)(?:(not|no|without|non|pas|нет|не)\s+)?({body})(?!\w)")


def find_labels(text: str, labels: Iterable[str]) -> frozenset[str]:
    """Folded label names mentioned in ``text`` (case/punctuation-insensitive, whole words, longest
    match first so ``unstable angina`` is not also ``stable angina``); negated mentions
    (``not``/``no``/``without`` + label) are left out."""
    pattern = _label_pattern(tuple(labels))
    return frozenset(m.group(2) for m in pattern.finditer(_fold(text)) if not m.group(1))


def fold_label(label: str) -> str:
    """The folded form :func:`find_labels` returns for a label."""
    return _fold(label)


_LABEL_STATEMENT = re.compile(
    r"(?:answer|diagnosis(?:\s+result)?|treatment(?:\s+planning)?|prediction|relation(?:ship)?|label|classification"
    r"|verdict|conclusion|outcome)\s*(?:is|would\s+be|:)\s*:?\s*(?:likely\s+)?(?:the\s+)?([^\n.;]+)",
    re.IGNORECASE,
)


def extract_choice(text: str, labels: Iterable[str], synonyms: Mapping[str, str] | None = None) -> frozenset[str]:
    """Labels a short-answer prediction commits to: those of its explicit answer statements
    (``Answer: X``, ``the relationship is X``) when they agree, else those of its first sentence
    when it names exactly one there (``Yes. ... no evidence of harm ...`` answers yes), else every
    label it names."""
    synonyms = {_fold(k): _fold(v) for k, v in (synonyms or {}).items()}
    vocabulary = (*labels, *synonyms)

    def named(part: str) -> frozenset[str]:
        return frozenset(synonyms.get(f, f) for f in find_labels(part, vocabulary))

    stated = [named(m.group(1)) for m in _LABEL_STATEMENT.finditer(text)]
    stated = [s for s in stated if s]
    if stated:
        union = frozenset().union(*stated)
        return union if all(s == union for s in stated) else frozenset()
    first_sentence = re.split(r"[.!?\n;]", text.strip(), maxsplit=1)[0]
    for part in (first_sentence, text):
        found = named(part)
        if len(found) == 1 or part is text:
            return found
    return frozenset()
