"""The frameworks of the book, one row each.

The library, the tools, the benchmarks and the tests read this table;
d2lbook reads the same names, in the same order, from config.ini's `tabs`
(which the Makefile reads too), and tests/test_frameworks.py checks that the
two agree. README.md says what else adding a framework takes.

This file imports nothing but the standard library, and runs as a script
for the shell tools: `python3 d2l/frameworks.py module pytorch` prints
`torch`.
"""
import dataclasses
import importlib.util
import sys


@dataclasses.dataclass(frozen=True)
class Framework:
    tab: str      # d2lbook's tab; .envs/<tab>, requirements/<tab>.txt
    module: str   # the framework's Python module, and d2l/<module>.py
    display: str  # the name a reader knows (Jupyter kernels)
    package: str  # its CPU build, as pinned in requirements/<tab>.txt
    cuda: str     # its CUDA build, same release (requirements/<tab>-gpu.txt)
    # Where requirements/<tab>.txt installs (tools/check_pins.py checks it).
    platforms: tuple = ('linux-x86_64', 'macos-arm64')


FRAMEWORKS = (
    # MXNet 1.9.1, the last release, has no wheel for macOS on arm64.
    Framework('mxnet', 'mxnet', 'MXNet', 'mxnet', 'mxnet-cu117',
              platforms=('linux-x86_64',)),
    Framework('pytorch', 'torch', 'PyTorch', 'torch', 'torch'),
    Framework('tensorflow', 'tensorflow', 'TensorFlow', 'tensorflow-cpu',
              'tensorflow[and-cuda]'),
)
TABS = tuple(f.tab for f in FRAMEWORKS)


def by_tab(tab):
    """The framework of a tab, or an error that lists the tabs."""
    for framework in FRAMEWORKS:
        if framework.tab == tab:
            return framework
    raise ValueError(f'unknown framework {tab!r}; one of {", ".join(TABS)}')


def installed():
    """The framework of this environment: each environment has one."""
    found = [f for f in FRAMEWORKS if importlib.util.find_spec(f.module)]
    if len(found) != 1:
        raise RuntimeError(
            f'expected one of {", ".join(f.module for f in FRAMEWORKS)} in '
            f'this environment, found {[f.module for f in found]}: run with '
            'the Python of .envs/<framework>')
    return found[0]


if __name__ == '__main__':
    # FIELD TAB: one field of one framework; no argument: the tabs.
    if len(sys.argv) == 1:
        print(' '.join(TABS))
    else:
        try:
            print(getattr(by_tab(sys.argv[2]), sys.argv[1]))
        except ValueError as error:
            sys.exit(f'error: {error}')
