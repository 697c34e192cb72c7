"""Text recognition (OCR) accuracy and speed on this machine: prints a table, asserts nothing.

    python bench/ocr.py

Pages are made from known text: the first ~900 characters of a bundled document in Russian, English and Uzbek
(Latin, with o‘ and g‘), and the Uzbek one transliterated to Cyrillic (ў қ ғ ҳ), rendered with DejaVu Sans at
10 points and 300 dpi by Pillow. Three versions of each: the clean image; a "scan" (turned 0.6°, blurred, noise,
JPEG at quality 55); and the clean image at 200 dpi. Each is read by Tesseract with each language choice, once
with one thread (OMP_THREAD_LIMIT=1, what the reader uses). CER = Levenshtein distance / reference length, both
with whitespace collapsed ("folded": also every apostrophe variant as one, as the search reads them). chars/s =
reference characters / wall-clock seconds of the tesseract run. Last, the whole reader (``read_document``: the
bounded worker, pypdfium2 rendering a scanned PDF page at 300 dpi, Tesseract) on the clean pages as PDFs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APOSTROPHES = "'‘’ʻʼ`´ʹ′"
CHOICES = ["uzb+uzb_cyrl+rus+eng", "rus+uzb_cyrl+uzb+eng", "rus+eng", "two-pass"]


def samples() -> dict[str, str]:
    from qa.config import bundled_corpus
    from qa.eval.cyrillic import cyrillic

    def flat(name: str) -> str:
        return " ".join((bundled_corpus() / name).read_text(encoding="utf-8").split())[:900]

    uz = flat("004_b3226a39bdceebf0.txt")
    return {
        "ru": flat("000_d3df58107a8e1fd5.txt"),
        "en": flat("001_06ab6ed67bf2d3c2.txt"),
        "uz": uz,
        "uz_cyrl": cyrillic(uz),
    }


def font_path() -> str | None:
    """DejaVu Sans, which writes every letter of the four languages (Debian's fonts-dejavu-core)."""
    import glob

    found = sorted(glob.glob("/usr/share/fonts/**/DejaVuSans.ttf", recursive=True))
    return found[0] if found else None


def render(text: str, size: int = 42, width: int = 2480, margin: int = 200):
    """A grayscale page image of ``text`` in DejaVu Sans, wrapped to ``width`` pixels (the tests' pages too)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path() or "DejaVuSans.ttf", size)
    lines, line = [], ""
    for word in text.split():
        longer = f"{line} {word}".strip()
        if line and font.getlength(longer) > width - 2 * margin:
            lines.append(line)
            line = word
        else:
            line = longer
    lines.append(line)
    image = Image.new("L", (width, 2 * margin + int(len(lines) * size * 1.5)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * size * 1.5), line, font=font, fill=0)
    return image


def variants(image, folder: Path, name: str) -> dict[str, Path]:
    import numpy as np
    from PIL import Image, ImageFilter

    clean = folder / f"{name}.png"
    image.save(clean)
    scan = folder / f"{name}-scan.jpg"
    noisy = np.asarray(
        image.rotate(0.6, fillcolor=255, resample=Image.BICUBIC).filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32
    ) + np.random.default_rng(0).normal(0, 25, image.size[::-1])
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(scan, quality=55)
    low = folder / f"{name}-200dpi.png"
    image.resize((image.width * 2 // 3, image.height * 2 // 3), Image.LANCZOS).save(low)
    return {"clean 300 dpi": clean, "scan-like": scan, "200 dpi": low}


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str, fold: bool = False) -> float:
    a, b = " ".join(reference.split()), " ".join(hypothesis.split())
    if fold:
        a, b = (re.sub(f"[{APOSTROPHES}]", "'", s) for s in (a, b))
    return levenshtein(a, b) / len(a)


def tesseract(path: Path, languages: str) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    return subprocess.run(
        ["tesseract", str(path), "stdout", "-l", languages], capture_output=True, text=True, env=env
    ).stdout


def two_pass(path: Path) -> str:
    """The alternative: a quick rus+eng pass to tell language and script (the rus data reads ў қ ғ ҳ as у к г х,
    so by ``detect_language``), then again with the Uzbek data of that script if it is Uzbek."""
    from qa.language.detect import detect_language

    first = tesseract(path, "rus+eng")
    if detect_language(first) != "uz":
        return first
    cyrillic = len(re.findall("[а-яё]", first, re.I)) > len(re.findall("[a-z]", first, re.I))
    return tesseract(path, "uzb_cyrl+rus" if cyrillic else "uzb+eng")


def main() -> int:
    from qa.index.readers import read_document

    texts = samples()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pages = {language: variants(render(text), folder, language) for language, text in texts.items()}
        print("| pages | languages | " + " | ".join(f"{language} CER (folded)" for language in texts) + " | chars/s |")
        print("|---|---|" + "---|" * (len(texts) + 1))
        for kind in ["clean 300 dpi", "scan-like", "200 dpi"]:
            for choice in CHOICES:
                cells, chars, seconds = [], 0, 0.0
                for language, text in texts.items():
                    started = time.perf_counter()
                    out = (
                        two_pass(pages[language][kind])
                        if choice == "two-pass"
                        else tesseract(pages[language][kind], choice)
                    )
                    seconds += time.perf_counter() - started
                    chars += len(text)
                    cells.append(f"{cer(text, out):.3f} ({cer(text, out, fold=True):.3f})")
                print(f"| {kind} | {choice} | " + " | ".join(cells) + f" | {chars / seconds:.0f} |", flush=True)
        print()
        print("| the whole reader, a scanned PDF page | " + " | ".join(texts) + " |")
        print("|---|" + "---|" * len(texts))
        cells = []
        for language, text in texts.items():
            pdf = folder / f"{language}.pdf"
            render(text).save(pdf, "PDF", resolution=300)
            started = time.perf_counter()
            doc = read_document(pdf)
            seconds = time.perf_counter() - started
            cells.append(f"CER {cer(text, doc.text):.3f}, {len(text) / seconds:.0f} chars/s ({seconds:.1f} s)")
        print("| read_document | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
