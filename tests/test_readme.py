"""Every example in README.md runs, against a private server, as a doctest."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / 'README.md'


@pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')
def test_readme_examples(url: str) -> None:
    # The README shows Pottery's usual local URL (and messages naming that
    # server); run it on the test server.
    server = url.removeprefix('redis://')
    text = README.read_text().replace('redis://localhost:6379/1', url).replace('localhost:6379/1', server)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, 'README.md', str(README), 0)
    # Every prompt in the README was found (none hides in a malformed block).
    assert len(test.examples) == sum(line.startswith('>>> ') for line in text.splitlines())
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f'{result.failed} README example(s) failed; see the output above'
