#!/usr/bin/env python3
"""Make d2lbook's HTML work offline, and check that it does (called by the Makefile).

    python tools/offline_html.py prepare _build/rst_all   # after `build rst`, before Sphinx
    python tools/offline_html.py finish _build/html       # after Sphinx (also trims the theme)
    python tools/offline_html.py check _build/html        # exit 1 on any remote load

d2lbook 1.0.3 writes a `_static/d2l.js` that always contains a Google Analytics loader (even
without a tracking id), loads the copy-button icon from raw.githubusercontent.com and embeds
Discourse comments from a remote server. `prepare` removes the first and the last (keeping
empty versions of the functions the pages call), inlines the icon from
static/offline/copy-button.svg and turns off the search page's summaries (they fetch() pages,
which browsers refuse for file:// URLs). MathJax comes from static/offline/mathjax (see
`mathjax_path` in config.ini). `check` scans every page for a script, stylesheet, image or
frame loaded from http(s)://, and the site's JavaScript/CSS for the known remote loaders.
"""
import base64
import html.parser
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICON = os.path.join(ROOT, 'static', 'offline', 'copy-button.svg')
CHAPTER_INDEX = 'chapter_hyperparameter_optimization/index.html'

REMOTE = re.compile(r'^\s*(https?:)?//', re.I)
# Loaders d2lbook or the theme are known to use; checked in the site's own .js/.css files.
REMOTE_LOADERS = re.compile(
    r'google-analytics\.com|googletagmanager\.com|raw\.githubusercontent\.com|'
    r'cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|unpkg\.com|fonts\.googleapis\.com|'
    r'javascripts/embed\.js|polyfill\.io')
# Vendored libraries may name URLs that are only fetched on explicit user action (MathJax's
# accessibility menu); they are not scanned for REMOTE_LOADERS.
VENDORED = ('_static/mathjax/',)


def _remote_snippets():
    """(name, d2lbook snippet, replacement) for the parts of d2l.js that load remote code."""
    from d2lbook import sphinx_template as t
    note = '\n// {} removed by tools/offline_html.py\n'
    return [
        # The tracker also defines tagClick(), which every framework tab link calls on click;
        # it stays, empty (tests/reader/test_html.py reads the console).
        ('Google Analytics', t.google_tracker.replace('GOOGLE_ANALYTICS_TRACKING_ID', ''),
         note.format('Google Analytics') + 'function tagClick(tab) {}\n'),
        # Both embed Discourse comments from a remote server for "Discuss" links. The tab
        # bar calls discourse_embed(), so it stays, empty.
        ('Discourse (QR variant)', t.replace_qr, note.format('Discourse embedding (QR)')),
        ('Discourse', t.discourse_js,
         note.format('Discourse embedding') + 'function discourse_embed() {}\n'),
    ]


def prepare(rst_dir):
    path = os.path.join(rst_dir, '_static', 'd2l.js')
    with open(path, encoding='UTF-8') as f:
        js = f.read()
    for name, snippet, replacement in _remote_snippets():
        if snippet not in js:
            sys.exit(f'error: {path} lacks d2lbook\'s {name} snippet; is d2lbook still 1.0.3?')
        js = js.replace(snippet, replacement)
    with open(ICON, 'rb') as f:
        icon = 'data:image/svg+xml;base64,' + base64.b64encode(f.read()).decode()
    js = re.sub(r'https://raw\.githubusercontent\.com/[^"\']*copy-button\.svg', icon, js)
    with open(path, 'w', encoding='UTF-8') as f:
        f.write(js)
    # The search page fetch()es every result's page for a summary; browsers refuse fetch() of
    # file:// URLs (a console error per result). The results themselves still show.
    with open(os.path.join(rst_dir, 'conf.py'), 'a', encoding='UTF-8') as f:
        f.write('\nhtml_show_search_summary = False  # tools/offline_html.py\n')
    print(f'{rst_dir}: Google Analytics and Discourse removed, copy icon inlined, '
          'search summaries off')


def _prune_theme_colours(html_dir):
    """mxtheme ships 300 colour variants of its stylesheet (43 MB); keep the ones in use."""
    mdl = os.path.join(html_dir, '_static', 'material-design-lite-1.3.0')
    if not os.path.isdir(mdl):
        return
    used = set()
    for dirpath, _, files in os.walk(html_dir):
        for name in files:
            if name.endswith('.html'):
                with open(os.path.join(dirpath, name), encoding='UTF-8',
                          errors='replace') as f:
                    used.update(re.findall(r'material-design-lite-1\.3\.0/([\w.-]+\.css)',
                                           f.read()))
    if not used:
        return
    for name in os.listdir(mdl):
        if re.fullmatch(r'material\.[\w-]+\.min\.css', name) and name not in used:
            os.remove(os.path.join(mdl, name))


def finish(html_dir):
    _prune_theme_colours(html_dir)
    # mxtheme's fonts.css declares CJK fonts served by fonts.gstatic.com; without them the
    # browser falls back to a local font.
    fonts = os.path.join(html_dir, '_static', 'fonts.css')
    if os.path.exists(fonts):
        with open(fonts, encoding='UTF-8') as f:
            css = f.read()
        kept = re.sub(r'@font-face\s*\{[^}]*(?:https?:)?//[^}]*\}\s*', '', css)
        if kept != css:
            with open(fonts, 'w', encoding='UTF-8') as f:
                f.write(kept)
    index = os.path.join(html_dir, 'index.html')
    if not os.path.exists(index) and os.path.exists(os.path.join(html_dir, CHAPTER_INDEX)):
        with open(index, 'w', encoding='UTF-8') as f:
            f.write('<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
                    f'<meta http-equiv="refresh" content="0; url={CHAPTER_INDEX}">\n'
                    '<title>Hyperparameter Optimization</title></head>\n'
                    f'<body><a href="{CHAPTER_INDEX}">Hyperparameter Optimization</a>'
                    '</body></html>\n')


class _Loads(html.parser.HTMLParser):
    """Collect the URLs a page loads by itself (not the links a reader may follow)."""
    ATTRS = {'script': ('src',), 'img': ('src', 'srcset'), 'iframe': ('src',),
             'embed': ('src',), 'object': ('data',), 'source': ('src', 'srcset'),
             'audio': ('src',), 'video': ('src', 'poster'), 'input': ('src',)}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        names = self.ATTRS.get(tag, ())
        if tag == 'link' and set((attrs.get('rel') or '').lower().split()) & {
                'stylesheet', 'preload', 'prefetch', 'icon', 'modulepreload', 'manifest',
                'shortcut'}:
            names = ('href',)
        for name in names:
            value = attrs.get(name) or ''
            if REMOTE.match(value):
                self.loads.append(f'<{tag} {name}="{value}">')
        style = attrs.get('style') or ''
        for url in re.findall(r'url\(\s*[\'"]?((?:https?:)?//[^\'")]+)', style):
            self.loads.append(f'<{tag} style="...url({url})">')


def check(html_dir):
    problems = []
    pages = 0
    for dirpath, _, files in os.walk(html_dir):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, html_dir).replace(os.sep, '/')
            if name.endswith('.html'):
                pages += 1
                parser = _Loads()
                with open(path, encoding='UTF-8', errors='replace') as f:
                    text = f.read()
                parser.feed(text)
                problems += [f'{rel}: loads {load}' for load in parser.loads]
                for m in REMOTE_LOADERS.finditer(text):
                    problems.append(f'{rel}: mentions remote loader {m.group(0)}')
                for url in re.findall(r'@import\s+(?:url\()?[\'"]?((?:https?:)?//[^\'")]+)',
                                      text):
                    problems.append(f'{rel}: imports {url}')
            elif name.endswith(('.js', '.css')) and not rel.startswith(VENDORED):
                with open(path, encoding='UTF-8', errors='replace') as f:
                    text = f.read()
                for m in REMOTE_LOADERS.finditer(text):
                    problems.append(f'{rel}: remote loader {m.group(0)}')
                if name.endswith('.css'):
                    for url in re.findall(r'url\(\s*[\'"]?((?:https?:)?//[^\'")]+)', text):
                        problems.append(f'{rel}: loads {url}')
    if not pages:
        problems.append(f'no HTML pages under {html_dir}')
    mathjax = os.path.join(html_dir, '_static', 'mathjax', 'es5', 'tex-mml-chtml.js')
    if not os.path.exists(mathjax):
        problems.append(f'{mathjax} is missing (MathJax is served from static/offline/)')
    if problems:
        print(f'Offline check FAILED: {len(problems)} remote load(s) in {html_dir}:',
              file=sys.stderr)
        for p in problems:
            print('  ' + p, file=sys.stderr)
        return 1
    print(f'Offline check passed: {pages} pages under {html_dir} load nothing remote')
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('prepare', 'finish', 'check'):
        sys.exit(__doc__)
    cmd, folder = sys.argv[1:]
    if cmd == 'prepare':
        prepare(folder)
    elif cmd == 'finish':
        finish(folder)
    else:
        return check(folder)
    return 0


if __name__ == '__main__':
    sys.exit(main())
