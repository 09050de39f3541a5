"""Regenerate coursekit/data/tang300.json from Debian's fortunes-zh package (notebook 08's data set).

    python benchmarks/make_tang300.py                 # downloads fortunes-zh with apt-get, writes the JSON
    python benchmarks/make_tang300.py --deb FILE.deb  # from a package file you already have
    python benchmarks/make_tang300.py --check         # only compare with the shipped file

Runs ``apt-get download fortunes-zh`` and ``dpkg -x`` in a temporary folder (any Debian or Ubuntu machine; no
root needed), reads usr/share/games/fortunes/tang300, removes the ANSI colour codes of the titles and authors,
splits the records at the "%" lines and keeps title, author, lines (and the prose preface of the 并序 poems).
The text is kept as the package has it, typos included. Prints the package version and the counts; the package
version goes into coursekit/data/NOTICE.tang300 by hand.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from coursekit import tang300

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "coursekit" / "data" / tang300.DATA_FILE
FORTUNE_FILE = Path("usr/share/games/fortunes/tang300")


def extract(deb, folder):
    subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    return (folder / FORTUNE_FILE).read_text(encoding="utf-8"), version


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, help="a fortunes-zh .deb file (default: apt-get download it)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        deb = args.deb
        if deb is None:
            subprocess.run(["apt-get", "download", "fortunes-zh"], cwd=tmp, check=True)
            deb = next(tmp.glob("fortunes-zh_*.deb"))
        text, version = extract(deb.resolve(), tmp / "root")
    poems = tang300.parse_fortunes(text)
    content = tang300.to_json(poems)
    regular = [p for p in poems if p.width]
    print(f"fortunes-zh {version}: {len(poems)} poems, {sum(len(p.text) for p in poems)} characters of verse; "
          f"{len(regular)} regular ({sum(p.width == 5 for p in regular)} five-character, "
          f"{sum(p.width == 7 for p in regular)} seven-character), {sum(bool(p.preface) for p in poems)} prefaces")
    if args.check:
        same = args.out.read_text(encoding="utf-8") == content
        print(f"{args.out} is {'identical' if same else 'DIFFERENT'}")
        return 0 if same else 1
    args.out.write_text(content, encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
