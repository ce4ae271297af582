"""What d2lbook and the book's conventions require of the sections' Markdown,
checked without building: a mistake here otherwise shows only when the HTML
is built, after every tab has been evaluated."""
import pathlib
import re

import pytest

CHAPTER = pathlib.Path(__file__).parents[1] / 'chapter_hyperparameter_optimization'
SECTIONS = sorted(p for p in CHAPTER.glob('*.md') if p.name != 'index.md')
# d2lbook reads these pairs in a Markdown cell as slide marks, inline code
# included, and stops the build when one is not closed (`f(**kwargs)`).
SLIDE_MARKS = [('[**', '**]'), ('(**', '**)'), ('[~~', '~~]'), ('(~~', '~~)')]


def prose(path):
    """The text of the section outside its code cells."""
    return re.sub(r'^```.*?^```', '', path.read_text(), flags=re.M | re.S)


@pytest.mark.parametrize('path', SECTIONS, ids=lambda p: p.name)
def test_slide_marks_are_paired(path):
    text = prose(path)
    for start, end in SLIDE_MARKS:
        assert text.count(start) == text.count(end), (
            f'{path.name}: {start!r} without {end!r}; d2lbook would stop '
            f'the build. Write the call without them, e.g. f(x=...).')


@pytest.mark.parametrize('path', SECTIONS, ids=lambda p: p.name)
def test_section_size_and_ending(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= 450, f'{path.name}: {len(lines)} lines; split it'
    headings = [line for line in lines if line.startswith('## ')]
    assert headings[-2:] == ['## Summary', '## Exercises'], path.name


def test_the_check_finds_an_unpaired_mark(tmp_path):
    section = tmp_path / 'bad.md'
    section.write_text('| `get_config(**kwargs)` |\n\n```{.python .input}\n'
                       'f(**kwargs)\n```\n')
    with pytest.raises(AssertionError, match='d2lbook would stop'):
        test_slide_marks_are_paired(section)
