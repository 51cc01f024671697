#!/usr/bin/env python3
"""Reference Double Metaphone codes for the phonetic tests.

Writes `crates/leakypick-core/tests/fixtures/phonetic_reference.tsv`: one line per word,
`word<TAB>primary<TAB>alternate`, computed by an implementation independent of the Rust
crate: the PyPI package `Metaphone` (0.6, Andrew Collins' Python port of Lawrence
Philips' Double Metaphone; `pip install Metaphone`).

The words: the 89 false wake words of "Alexa" of the LeakyPick paper's Table 5 (plus
"alexa"), every 450th letters-only word of the CMU dictionary (`data/words/cmudict.dict`),
every 40th word of the common word list (`data/words/common.txt`), and a few words that
exercise the rarer Double Metaphone rules. The selection is deterministic, so re-running
the script on the same data gives the same file.

Run from the repository root: `python3 scripts/reference_phonetic.py`.
"""

import re
import sys
from pathlib import Path

from metaphone import doublemetaphone

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/leakypick-core/tests/fixtures/phonetic_reference.tsv"

# The LeakyPick paper (Mitev et al., ACSAC 2020), Table 5: words that woke an Echo Dot
# configured for "Alexa", by probability of activation (2/10 .. 10/10).
TABLE5 = """
alita baxa elater hexer liker ochna taxer
bertha electroceramic excern oxer taxir
electrohydraulic electropathic wexler
blacksher electic hoaxer
bugsha elatha elator electrodissolution electrostenolytic eloper eluted fluxer huerta
hurter irksome lecher lefter lepre lesser letter licker lipper loasa loker lotor lyssa
maloca maxillar melosa meta metae muleta paxar rickner
alexy crytzer electroanalytical hyper kleckner lecture likker volupte wexner
electroreduction hiper wechsler
aleta alexa alexia annection elatcha electre kreitzer
alachah alexipharmic alexiteric alissa alosa alyssa barranca beletter elector electra
electroresection electrotelegraphic elissa elixir gloeckner lechner lecter lictor lxi lxx
mixer olexa walesa
""".split()

# Words for the rarer rules (initial GN/KN/PN/WR/X, CH variants, GH, SCH, -MB, Slavo-
# Germanic W/CZ/WITZ, Spanish LL and J, Italian CC/GLI, French final -AI/-OI, etc.).
RULES = """
accident acceptable aggressive arnoff bacchus bellocchio biaggi bough cabrillo caesar
campbell chemistry chianti chorus christopher czerny dumb edgar edge filipowicz gallegos
ghislane ghost gnome gough hochmeier hugh jankelowicz jose knight laugh mac mcclellan
michael orchestra pneumonia raspberry rogier jacinto schenker schmidt schneider
school sugar tagliaro thomas thumb tough van wachtler womo wright xavier yankelovich
zhao zola jose hugh church ciao cello science scream judge cough rough thought knee
""".split()


def dictionary_words():
    words = []
    seen = set()
    for line in (ROOT / "data/words/cmudict.dict").read_text(encoding="ascii").splitlines():
        word = line.split(" ", 1)[0]
        word = re.sub(r"\(\d+\)$", "", word)
        if re.fullmatch("[a-z]+", word) and word not in seen:
            seen.add(word)
            words.append(word)
    return words[::450]


def common_words():
    words = (ROOT / "data/words/common.txt").read_text(encoding="ascii").split()
    return words[::40]


def main():
    words = []
    seen = set()
    for word in TABLE5 + RULES + dictionary_words() + common_words():
        if word not in seen:
            seen.add(word)
            words.append(word)
    lines = ["# word\tprimary\talternate (Python Metaphone 0.6, scripts/reference_phonetic.py)"]
    for word in words:
        primary, alternate = doublemetaphone(word)
        lines.append(f"{word}\t{primary}\t{alternate}")
    OUT.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(f"wrote {len(words)} words to {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
