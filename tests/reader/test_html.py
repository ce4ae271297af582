"""The HTML as a reader sees it: every page of _build/html in headless Chromium.

The `visits` fixture opens each page from file:// once, clicks each framework tab and records
what the browser showed and logged; the tests check that record. One screenshot per page and
tab goes to _build/screenshots/ for a human to look at. Runs from .envs/book (Selenium), with
Debian's chromium and chromedriver.
"""
import base64
import functools
import hashlib
import json
import os
import pathlib
import re
import shutil
import urllib.parse

import bs4
import nbformat
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from d2l import frameworks

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = ROOT / '_build' / 'html'
NOTEBOOKS = ROOT / '_build' / 'notebooks'
SCREENSHOTS = ROOT / '_build' / 'screenshots'
# config.ini's tabs, in order: the theme shows a tab group's panels by position.
TABS = frameworks.TABS
D2L_MODULE = {f.tab: f.module for f in frameworks.FRAMEWORKS}
# What only a framework's own code contains.
FRAMEWORK_CODE = {'mxnet': r'\bmxnet\b|\bnpx\b|\.asnumpy\(',
                  'pytorch': r'\btorch\b',
                  'tensorflow': r'\btensorflow\b|\btf\.'}
SEARCH = 'successive halving'

# Collected in the page; an element is shown when it has a layout box (not display: none).
STATE_JS = r"""
const shown = (el) => el.getClientRects().length > 0;
const all = (selector) => Array.from(document.querySelectorAll(selector));
return {
  groups: all('.mdl-tabs').map((g) => ({
    active: Array.from(g.querySelectorAll('.mdl-tabs__tab.is-active'),
                       (a) => a.textContent.trim()),
    shown: Array.from(g.querySelectorAll('.mdl-tabs__panel')).filter(shown).map((p) => p.id),
  })),
  code: all('div.highlight pre').filter((el) => shown(el) && !el.closest('.output'))
    .map((el) => el.textContent),
  outputs: all('div.output pre, pre.output').filter(shown).map((el) => el.textContent),
  tables: all('table.dataframe').filter(shown).map((el) => el.textContent),
  images: all('img').filter((img) => shown(img) && /\/output_[^/]*$/.test(img.src))
    .map((img) => img.src),
};
"""

# TeX left in the text outside code, formulas (Sphinx's .math) without MathJax's rendering,
# and formulas MathJax could not parse.
RAW_MATH_JS = """
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const raw = [];
for (let node; (node = walker.nextNode());) {
  if (node.parentElement.closest('pre, code, script, style, textarea, mjx-container')) continue;
  const text = node.textContent;
  if (/\\\\[()\\[\\]]|\\$/.test(text)) raw.push(text.trim().slice(0, 80));
}
const untypeset = Array.from(document.querySelectorAll('.math'))
  .filter((el) => !el.querySelector('mjx-container'));
return raw.concat(untypeset.map((el) => 'not typeset: ' + el.textContent.slice(0, 80)),
                  Array.from(document.querySelectorAll('mjx-merror'),
                             (el) => 'MathJax error: ' + el.textContent));
"""

BROKEN_IMAGES_JS = """
return Array.from(document.images).filter((img) => !(img.complete && img.naturalWidth > 0))
  .map((img) => img.getAttribute('src'));
"""

MATHJAX_DONE_JS = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup) MathJax.startup.promise.then(() => done(), done);
else done();
"""


def pages():
    """Every HTML page of the book, relative to _build/html."""
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob('*.html')
                  if not p.relative_to(HTML).as_posix().startswith('_'))


@pytest.fixture(scope='module')
def driver(tmp_path_factory):
    """Headless Chromium that keeps the console and the network log (CDP events)."""
    chromium, chromedriver = shutil.which('chromium'), shutil.which('chromedriver')
    assert chromium and chromedriver, 'apt-get install chromium chromium-driver'
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # Root has no sandbox; the rest keeps Chromium from calling home (that traffic is not in
    # the page's log, but it has no business on a test machine either).
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--disable-background-networking', '--disable-component-update',
                '--disable-sync', '--no-first-run', '--disable-quic', '--window-size=1280,1600',
                f'--user-data-dir={tmp_path_factory.mktemp("chromium")}'):
        options.add_argument(arg)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    # Chromium keeps its crash reports and dconf state in $HOME whatever its profile folder.
    home = tmp_path_factory.mktemp('home')
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / '.config'),
               XDG_CACHE_HOME=str(home / '.cache'))
    # An explicit driver: Selenium Manager would try to download one.
    browser = webdriver.Chrome(service=Service(chromedriver, env=env), options=options)
    # What the start-up tab (Chromium's new-tab page) loaded and logged is not the book's.
    browser.get('about:blank')
    browser.get_log('browser')
    browser.get_log('performance')
    yield browser
    browser.quit()


def network_events(driver):
    """(method, params) of the network events in the performance log since the last call."""
    for entry in driver.get_log('performance'):
        message = json.loads(entry['message'])['message']
        if message['method'].startswith('Network.'):
            yield message['method'], message['params']


def open_page(driver, url):
    """Load `url`, follow a meta refresh (the root index.html), wait for MathJax."""
    driver.get(url)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && document.body !== null"
        " && !document.querySelector('meta[http-equiv=refresh]')"))
    driver.execute_async_script(MATHJAX_DONE_JS)


def click(driver, link):
    """Click `link` the way a reader does, once it has stopped moving: scrolling shrinks the
    theme's header (an animation), which shifts the page under the pointer."""
    driver.execute_script('arguments[0].scrollIntoView({block: "center"})', link)
    rects = []

    def still(_):
        rects.append(link.rect)
        return len(rects) > 1 and rects[-1] == rects[-2]
    WebDriverWait(driver, 5, poll_frequency=0.2).until(still)
    link.click()


@pytest.fixture(scope='module')
def visits(driver):
    """{page: record}: per tab, the shown tab panels, code, outputs and a screenshot; per page,
    console errors, requested URLs, broken images and untypeset math."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    record = {}
    for page in pages():
        open_page(driver, (HTML / page).as_uri())
        name = page[:-len('.html')].replace('/', '-')
        seen = {'tabs': {}, 'raw_math': driver.execute_script(RAW_MATH_JS),
                'broken_images': driver.execute_script(BROKEN_IMAGES_JS)}
        has_tabs = driver.find_elements(By.CSS_SELECTOR, '.mdl-tabs__tab')
        # Ending on the default tab checks that clicking back works too.
        for tab in (TABS[1:] + TABS[:1]) if has_tabs else ():
            link = driver.find_element(
                By.XPATH, f'//a[contains(@class, "mdl-tabs__tab")][normalize-space()="{tab}"]')
            click(driver, link)
            seen['tabs'][tab] = driver.execute_script(STATE_JS)
            driver.save_screenshot(str(SCREENSHOTS / f'{name}.{tab}.png'))
        if not has_tabs:
            driver.save_screenshot(str(SCREENSHOTS / f'{name}.png'))
        seen['console'] = [e['message'] for e in driver.get_log('browser')
                           if e['level'] == 'SEVERE']
        seen['requests'] = [p['request']['url'] for m, p in network_events(driver)
                            if m == 'Network.requestWillBeSent']
        record[page] = seen
    return record


def test_pages_found(visits):
    """The book has its chapter pages (else every other test passes vacuously)."""
    assert 'chapter_hyperparameter_optimization/sh-intro.html' in visits, \
        f'no chapter pages under {HTML}'


def test_tab_groups_switch_together(visits):
    """A click on a tab shows that framework's panel, and only it, in every tab group."""
    wrong = [f'{page}, after clicking {tab}: tab group {i} {group}'
             for page, seen in visits.items() for tab, state in seen['tabs'].items()
             for i, group in enumerate(state['groups'])
             # Panel ids are '<tab>-<group>'; the theme switches panels by position.
             if group['active'] != [tab] or [p.split('-')[0] for p in group['shown']] != [tab]]
    assert not wrong, 'tab groups that did not switch:\n' + '\n'.join(wrong)


def test_code_matches_tab(visits):
    """Under a tab, the code shown imports that framework's d2l and no other framework's code."""
    wrong = []
    for page, seen in visits.items():
        for tab, state in seen['tabs'].items():
            imports = [m for code in state['code']
                       for m in re.findall(r'from d2l import (\w+) as d2l', code)]
            if set(imports) != {D2L_MODULE[tab]}:
                wrong.append(f'{page}, {tab} tab: d2l imported from {imports}')
            wrong += [f'{page}, {tab} tab: {other} code shown:\n{code}'
                      for code in state['code'] for other in TABS
                      if other != tab and re.search(FRAMEWORK_CODE[other], code)]
    assert not wrong, '\n'.join(wrong)


def normalized(text):
    """`text` without runs of whitespace, nor the backquotes and stars that the reST blocks
    of stream outputs (parsed-literal) take for inline markup and drop."""
    return ' '.join(text.replace('`', '').replace('*', '').split())


def url_path(url):
    """The local path of a file:// URL."""
    return pathlib.Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))


@functools.cache
def notebook_outputs(page, tab):
    """The outputs of the tab's notebook of `page`: their texts, whitespace normalized (HTML
    outputs such as DataFrames as their text), and the MD5s of their images."""
    path = NOTEBOOKS / tab / page.replace('.html', '.ipynb')
    texts, images = [], set()
    cells = nbformat.read(path, as_version=4).cells if path.exists() else ()
    for cell in cells:
        # The page shows a cell's consecutive stream outputs (stderr, stdout) as one block.
        texts.append(''.join(out.get('text', '') for out in cell.get('outputs', ())))
    for out in (out for cell in cells for out in cell.get('outputs', ())):
        data = out.get('data', {})
        texts += [out.get('text', ''), data.get('text/plain', '')]
        if 'text/html' in data:
            texts.append(bs4.BeautifulSoup(data['text/html'], 'html.parser').get_text())
        if 'image/png' in data:
            images.add(hashlib.md5(base64.b64decode(data['image/png'])).hexdigest())
        if 'image/svg+xml' in data:
            images.add(hashlib.md5(data['image/svg+xml'].encode()).hexdigest())
    return [normalized(t) for t in texts if t], images


def test_outputs_come_from_tab_notebook(visits):
    """Under a tab, every output shown (text, table, plot) is one of that tab's notebook
    outputs (_build/notebooks/<tab>/): the three frameworks' runs differ in their numbers."""
    wrong = []
    for page, seen in visits.items():
        for tab, state in seen['tabs'].items():
            texts, images = notebook_outputs(page, tab)
            wrong += [f'{page}, {tab} tab, text not in its notebook: {normalized(shown)[:300]}'
                      for shown in state['outputs'] + state['tables']
                      if not any(normalized(shown) in text for text in texts)]
            wrong += [f'{page}, {tab} tab, image not in its notebook: {url}'
                      for url in state['images'] if hashlib.md5(
                          url_path(url).read_bytes()).hexdigest() not in images]
    assert not wrong, '\n'.join(wrong)


def test_math_typeset(visits):
    """MathJax typeset every formula: no TeX left in the text, no MathJax error."""
    raw = [f'{page}: {text}' for page, seen in visits.items() for text in seen['raw_math']]
    assert not raw, 'untypeset math:\n' + '\n'.join(raw)


def test_images_load(visits):
    """Every image (the SVG figures, the plots) loaded: complete, with a natural width."""
    broken = [f'{page}: {src}' for page, seen in visits.items()
              for src in seen['broken_images']]
    assert not broken, 'images that did not load:\n' + '\n'.join(broken)


def test_console_clean(visits):
    """No page, with its tab clicks, logs an error to the console."""
    errors = [f'{page}: {message}' for page, seen in visits.items()
              for message in seen['console']]
    assert not errors, 'console errors:\n' + '\n'.join(errors)


def is_own_file(url):
    """A file:// URL under _build/html, or a URL that names no place (data:, about:)."""
    if url.startswith(('data:', 'about:')):
        return True
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme == 'file' and not parts.netloc
            and url_path(url).resolve().is_relative_to(HTML.resolve()))


def test_requests_stay_local(visits):
    """Every request a page makes (per the browser's network events) is for its own files."""
    remote = sorted({f'{page}: {url}' for page, seen in visits.items()
                     for url in seen['requests'] if not is_own_file(url)})
    assert not remote, 'requests outside _build/html:\n' + '\n'.join(remote)
    assert all(seen['requests'] for seen in visits.values()), 'the network log is empty'


def test_search_finds_successive_halving(driver):
    """search.html?q=successive+halving lists the chapter's sections, without console errors."""
    driver.get_log('browser')  # what earlier pages logged
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_page(driver, f'{(HTML / "search.html").as_uri()}?q={urllib.parse.quote_plus(SEARCH)}')
    status = WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "const s = document.querySelector('#search-results .search-summary');"
        "return s && s.textContent;"))
    driver.save_screenshot(str(SCREENSHOTS / 'search.successive-halving.png'))
    found = [a.get_attribute('href') for a in
             driver.find_elements(By.CSS_SELECTOR, '#search-results ul.search li a')]
    assert any('sh-intro.html' in url for url in found), f'{status}; found {found}'
    errors = [e['message'] for e in driver.get_log('browser') if e['level'] == 'SEVERE']
    assert not errors, errors
