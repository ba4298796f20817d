"""A creator's chat lexicon: the emotes and phrases that make chat weigh more, with their weights.

One item, `CHAT_LEXICON` under the creator's partition; without it the default lexicon
(truss.streams.spikes.DEFAULT_LEXICON) applies. The spike finders read it once per import job
and once per live stream taken.
"""

from __future__ import annotations

from collections.abc import Mapping

from truss.data import keys
from truss.data.creators import utc_now_iso
from truss.data.table import Table
from truss.streams.spikes import DEFAULT_LEXICON

LEXICON_TYPE = "chat_lexicon"
MAX_TERMS = 200
MAX_TERM_CHARS = 40
MAX_WEIGHT = 5.0


class LexiconError(ValueError):
    """A lexicon that can't be saved; `problems` say what to fix, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def parse(text: str) -> dict[str, float]:
    """Lines `term = weight` (or `term weight`) into a lexicon; LexiconError lists every
    problem with its line number. Blank lines are skipped; a term given twice keeps the last."""
    terms: dict[str, float] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        term, weight, problem = _line(line)
        if problem:
            problems.append(f"Line {number} ({line[:50]}): {problem}")
            continue
        terms.pop(term, None)
        terms[term] = weight
    if len(terms) > MAX_TERMS:
        problems.append(f"The list has {len(terms)} terms; keep it to {MAX_TERMS} at most.")
    if problems:
        raise LexiconError(problems)
    return terms


def _line(line: str) -> tuple[str, float, str | None]:
    if "=" in line:
        term, _, number = line.rpartition("=")
    else:
        term, _, number = line.rpartition(" ")
    term = " ".join(term.split())
    if not term:
        return "", 0.0, "write the term, then = and its weight, e.g. KEKW = 1."
    if len(term) > MAX_TERM_CHARS:
        return "", 0.0, f"a term can be {MAX_TERM_CHARS} characters at most."
    try:
        weight = float(number.strip())
    except ValueError:
        return "", 0.0, "the weight must be a number from 0 to 5, e.g. KEKW = 1."
    if not 0 <= weight <= MAX_WEIGHT:  # NaN fails both
        return "", 0.0, "the weight must be from 0 to 5."
    return term, round(weight, 2), None


def as_text(terms: Mapping[str, float]) -> str:
    """The lexicon as the form shows it: one `term = weight` a line."""
    return "\n".join(f"{term} = {weight:g}" for term, weight in terms.items())


def get(table: Table, cid: str) -> dict[str, float]:
    """The creator's lexicon, or the default one if they never saved theirs (one GetItem)."""
    item = table.find(keys.chat_lexicon(cid))
    if item is None or item.get("type") != LEXICON_TYPE:
        return dict(DEFAULT_LEXICON)
    return {str(term): float(weight) for term, weight in item.get("terms", [])}


def is_custom(table: Table, cid: str) -> bool:
    return table.find(keys.chat_lexicon(cid)) is not None


def save(table: Table, cid: str, terms: Mapping[str, float]) -> None:
    """Replace the creator's lexicon (terms in their order; bounded as parse bounds them)."""
    if len(terms) > MAX_TERMS:
        raise LexiconError([f"Keep the list to {MAX_TERMS} terms at most."])
    table.put(
        {
            **keys.chat_lexicon(cid),
            "type": LEXICON_TYPE,
            "terms": [[term, float(weight)] for term, weight in terms.items()],
            "updated_at": utc_now_iso(),
        }
    )


def reset(table: Table, cid: str) -> None:
    """Back to the default lexicon."""
    table.delete(keys.chat_lexicon(cid))
