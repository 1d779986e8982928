"""The book: paired notebooks are in sync, and the whole book builds with every chapter run.

Chapters are MyST Markdown notebooks ``book/<chapter>.md``; each has a paired, output-free
``book/<chapter>.ipynb`` for Colab and downloads (``jupytext --sync book/*.md`` regenerates
it). The build test runs ``jupyter-book build -W -n --keep-going`` into a temporary folder:
every cell of every chapter in ``_toc.yml`` executes, and any warning or failing cell fails
the test. It takes a while (it is the book), so it carries the ``book`` marker; it runs by
default, and ``-m "not book"`` skips it for a quick run of the package tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
RESYNC = "re-sync with: jupytext --sync book/*.md  (or jupytext --to ipynb book/<chapter>.md)"


def _is_notebook(md: Path) -> bool:
    """Whether a Markdown file is a jupytext MyST notebook (it has a jupytext header)."""
    meta = jupytext.read(md).metadata
    return meta.get("jupytext", {}).get("text_representation", {}).get("format_name") == "myst"


CHAPTERS = sorted(md for md in BOOK.glob("*.md") if _is_notebook(md))


def _cells(nb) -> list[tuple[str, str, list]]:
    # What must agree between the pair: the kind of each cell, its text and its tags
    # (tags such as hide-input or remove-cell change what the book shows).
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {toc["root"]}

    def walk(entries):  # jb-book: chapters (or parts of chapters), each with sections
        for entry in entries or []:
            if "file" in entry:
                files.add(entry["file"])
            walk(entry.get("sections"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return {str(Path(f).with_suffix("")) for f in files}


def test_there_are_chapters():
    # Guards the tests below against passing vacuously (e.g. a broken glob).
    assert CHAPTERS, "no MyST notebook found in book/"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_header(md):
    meta = jupytext.read(md).metadata
    # The build and Colab both need to know which kernel runs the chapter.
    kernel = meta.get("kernelspec", {})
    assert kernel.get("name") == "python3", f"{md.name}: kernelspec must be python3, got {kernel}"
    # "formats: ipynb,md:myst" in the jupytext header is what lets `jupytext --sync` update the pair.
    formats = meta["jupytext"].get("formats", "")
    assert "ipynb" in formats.split(","), f"{md.name}: add 'formats: ipynb,md:myst' to its jupytext header"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_paired_notebook_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.relative_to(ROOT)} is missing; {RESYNC}"
    text = jupytext.read(md)
    paired = nbformat.read(ipynb, as_version=4)
    assert _cells(paired) == _cells(text), f"{ipynb.relative_to(ROOT)} is out of sync with {md.name}; {RESYNC}"
    assert paired.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_paired_notebook_has_no_outputs(md):
    # Outputs belong to the built book; committed notebooks stay small and diffable.
    paired = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    for i, cell in enumerate(paired.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{md.with_suffix('.ipynb').name}: cell {i} has outputs; {RESYNC}"
            assert cell.execution_count is None, f"{md.with_suffix('.ipynb').name}: cell {i} has an execution count"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_widget_cells_are_skipped_in_the_build(md):
    # nbclient can block on a cell that creates an ipywidget until the cell timeout
    # (jupyter/nbclient#312; seen here as a 15-minute stall), so interact cells carry
    # the skip-execution tag and each chapter draws its widget's default view statically.
    paired = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    for i, cell in enumerate(paired.cells):
        if cell.cell_type == "code" and "interact(" in cell.source:
            assert "skip-execution" in cell.metadata.get("tags", []), f"{md.name}: cell {i} runs a widget in the build"


def test_no_orphan_notebooks():
    # Every .ipynb is generated from a chapter; an orphan would be a stale copy.
    orphans = [p.name for p in BOOK.glob("*.ipynb") if p.with_suffix(".md") not in CHAPTERS]
    assert not orphans, f"notebooks without a MyST chapter: {orphans}"


def test_every_chapter_is_in_the_toc():
    # only_build_toc_files skips files that are not in the toc: a chapter left out would
    # silently never run in CI.
    listed = _toc_files()
    missing = [md.name for md in CHAPTERS if str(md.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"chapters not listed in _toc.yml (they would never be built): {missing}"


@pytest.mark.book
def test_book_builds_with_every_chapter_executed(tmp_path):
    # Same interpreter as the tests, so the kernel sees the same damlab; output into a
    # fresh folder, so nothing is written to the repository's _build and no execution
    # cache is reused (execute_notebooks is "force" anyway).
    jupyter_book = "import sys; from jupyter_book.cli.main import main; sys.argv[0] = 'jupyter-book'; sys.exit(main())"
    cmd = [sys.executable, "-c", jupyter_book, "build", str(ROOT),
           "-W", "-n", "--keep-going", "--path-output", str(tmp_path)]
    env = dict(os.environ)
    # The "python3" kernel runs the interpreter that launches it; put its folder first on
    # PATH as well so that anything the chapters start comes from the same environment.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=3600)
    log = proc.stdout
    tail = "\n".join(log.splitlines()[-80:])
    assert proc.returncode == 0, f"jupyter-book build failed (exit {proc.returncode}); last lines:\n{tail}"
    html = tmp_path / "_build" / "html"
    for page in _toc_files():
        assert (html / page).with_suffix(".html").exists(), f"{page}.html was not built:\n{tail}"
