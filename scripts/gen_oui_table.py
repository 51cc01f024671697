#!/usr/bin/env python3
"""Builds data/oui.tsv, the offline vendor table leakypick embeds.

Input: the IEEE MA-L (OUI) public listing as CSV. On Debian/Ubuntu it is shipped by
the `ieee-data` package at /usr/share/ieee-data/oui.csv; it can also be downloaded
from https://standards-oui.ieee.org/oui/oui.csv. The IEEE asserts no copyright in
the listing and does not restrict its distribution (see data/PROVENANCE.md).

Output: one line per assignment, sorted, "HEXPREFIX<TAB>Organization Name".

    python3 scripts/gen_oui_table.py /usr/share/ieee-data/oui.csv > data/oui.tsv
"""
import csv
import sys


def main() -> None:
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/ieee-data/oui.csv"
    rows = {}
    with open(src, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("Registry") != "MA-L":
                continue
            prefix = row["Assignment"].strip().upper()
            name = " ".join(row["Organization Name"].split())
            if len(prefix) == 6 and name:
                rows[prefix] = name
    for prefix in sorted(rows):
        sys.stdout.write(f"{prefix}\t{rows[prefix]}\n")


if __name__ == "__main__":
    main()
