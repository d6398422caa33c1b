"""The report tests' browser: Debian's Chromium driven by Playwright, one per test session."""

import pytest

from tests.conftest import chromium_path
from tests.report.helpers import ARGS


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        yield b
        b.close()
