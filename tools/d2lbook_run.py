#!/usr/bin/env python3
"""Run `d2lbook` with the changes this chapter needs (called by the Makefile).

    python tools/d2lbook_run.py build eval --tab pytorch
    python tools/d2lbook_run.py build rst --tab all        # merge only, never evaluates

Same command line as `d2lbook`. The changes, all made from outside d2lbook 1.0.3:

* One notebook at a time. d2lbook evaluates two notebooks at once on a CPU machine; each
  section runs a wall-clock-bounded tuning experiment with 2 worker processes, so two at once
  would share the cores and degrade the results the text describes. The scheduler gets a
  single CPU slot (the lock /tmp/d2lbook_<user>_cpu_0, shared with every d2lbook run of this
  user, so parallel `make -j` or other checkouts also queue). On a GPU machine each notebook
  gets all GPUs, instead of being hidden from them (CUDA_VISIBLE_DEVICES="") unless its code
  happens to contain `try_gpu()`.
* The kernel of tab T is the Jupyter kernel `d2l-T` (JUPYTER_PATH=.envs/jupyter, where make
  copies the kernel spec of the environment it chose), i.e. the Python of .envs/T or
  .envs/T-gpu, and the evaluated notebook records that kernel in its metadata, so the
  notebook packages open with the right environment.
* Outputs are written atomically (a temporary file, then a rename), so an interrupted build
  never leaves a truncated notebook that looks newer than its source; and an output's mtime is
  the time its source was read, so a source edited during the run is evaluated again.
* A failing cell is reported with its section, framework and cell.
* Dependencies per tab: tab T re-evaluates when the framework-neutral library, d2l/<T>.py,
  requirements/T.txt or the chosen budget (_build/stamps/budget, D2L_HPO_BUDGET) change, not
  when another framework's module or requirements change.
* Commands other than `eval` must not evaluate anything (`build pkg` and `build html` would
  silently evaluate stale notebooks with this, the builder's, Python): they fail instead.
"""
import functools
import logging
import os
import re
import sys
import time

from d2lbook import build as d2l_build
from d2lbook import resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from d2l.frameworks import FRAMEWORKS  # noqa: E402  (the standard library only)

# The file names (before any '-') that belong to one tab: its requirements and d2l module.
FRAMEWORK_FILES = {f.tab: {f.tab, f.module} for f in FRAMEWORKS}


def kernel_name(tab):
    return f'd2l-{tab}'


# --- one notebook at a time -------------------------------------------------------------

class SerialScheduler(resource.Scheduler):
    """d2lbook's scheduler with one CPU slot: notebooks run one after another."""

    def __init__(self, num_cpu_workers, num_gpu_workers):
        logging.info('tools/d2lbook_run.py: evaluating one notebook at a time '
                     f'(with all {num_gpu_workers} GPUs), not {num_cpu_workers} in parallel')
        super().__init__(1, num_gpu_workers)


@functools.lru_cache()
def _available_gpus():
    return resource.get_available_gpus()


def _notebook_gpus(notebook, max_gpus):
    return len(_available_gpus())


# --- evaluation of one notebook (runs in the scheduler's child process) ------------------

def _section_of(output_fn):
    """_build/eval_pytorch/chapter/sec.ipynb -> chapter/sec.md"""
    rel = os.path.relpath(os.path.abspath(output_fn), os.path.join(ROOT, '_build'))
    parts = rel.split(os.sep)
    return os.path.splitext(os.path.join(*parts[1:]))[0] + '.md'


def _describe_failure(nb, section, tab):
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    for i, cell in enumerate(code_cells, 1):
        errors = [o for o in cell.get('outputs', []) if o.get('output_type') == 'error']
        if not errors:
            continue
        where = f'code cell {i} of {len(code_cells)}'
        first = next((l for l in cell.source.splitlines() if l.strip()), '')
        try:
            with open(os.path.join(ROOT, section), encoding='UTF-8') as f:
                for n, line in enumerate(f, 1):
                    if first and line.rstrip() == first.rstrip():
                        where += f', near {section}:{n}'
                        break
        except OSError:
            pass
        err = errors[0]
        return (f'section {section}, framework {tab}, {where}: '
                f'{err.get("ename")}: {err.get("evalue")}\n  cell starts: {first}')
    return f'section {section}, framework {tab}'


def _job(nb, output_fn, run_cells, timeout, lang, tab, read_at=None):
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from nbconvert.preprocessors import ExecutePreprocessor

    section = _section_of(output_fn)
    if run_cells:
        cwd = os.getcwd()
        os.chdir(os.path.join(cwd, os.path.dirname(output_fn)))
        try:
            ExecutePreprocessor(timeout=timeout, kernel_name=kernel_name(tab)).preprocess(
                nb, resources={})
        except (CellExecutionError, CellTimeoutError) as e:
            raise RuntimeError('FAILED ' + _describe_failure(nb, section, tab) +
                               f'\n\n{e}') from None
        except Exception as e:
            raise RuntimeError(f'FAILED section {section}, framework {tab}: '
                               f'{type(e).__name__}: {e}') from None
        finally:
            os.chdir(cwd)
    # As d2lbook's _job: stderr shown as stdout, tqdm widgets dropped.
    for cell in nb.cells:
        if cell.cell_type == 'code' and 'outputs' in cell:
            outputs = []
            for out in cell['outputs']:
                if ('data' in out and 'text/plain' in out['data'] and
                        out['data']['text/plain'].startswith('HBox')):
                    continue
                if out.get('name') == 'stderr':
                    out['name'] = 'stdout'
                outputs.append(out)
            cell['outputs'] = outputs
    nb['metadata'].update({'language_info': {'name': lang}})
    nb['metadata']['kernelspec'] = {
        'name': kernel_name(tab), 'language': 'python',
        'display_name': _kernel_display_name(tab)}
    tmp = output_fn + '.partial'
    with open(tmp, 'w') as f:
        f.write(nbformat.writes(nb))
    if read_at is not None:
        os.utime(tmp, (read_at, read_at))
    os.replace(tmp, output_fn)


@functools.lru_cache()
def _kernel_display_name(tab):
    from jupyter_client.kernelspec import KernelSpecManager
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name(tab))
        return spec.display_name
    except Exception:
        return kernel_name(tab)


def _check_kernel(tab):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name(tab))
    except NoSuchKernel:
        sys.exit(f'error: no Jupyter kernel {kernel_name(tab)!r} (JUPYTER_PATH='
                 f'{os.environ.get("JUPYTER_PATH", "")!r}). Create the environment with '
                 f'`make env-{tab}`.')
    if not os.path.exists(spec.argv[0]):
        sys.exit(f'error: kernel {kernel_name(tab)!r} points at {spec.argv[0]}, which does '
                 f'not exist. Recreate it with `make env-{tab}`.')


# --- patches into d2lbook.build ----------------------------------------------------------

_original_process = d2l_build._process_and_eval_notebook
_original_find_md_files = d2l_build.Builder._find_md_files


def _process_and_eval_notebook(scheduler, input_fn, output_fn, run_cells, config, **kw):
    # The source is read now; its output will carry this time as mtime, so that an edit made
    # while the notebook runs leaves the output older than the source (evaluated again).
    d2l_build._job = functools.partial(_job, tab=config.tab, read_at=time.time())
    return _original_process(scheduler, input_fn, output_fn, run_cells, config, **kw)


def _refuse_eval(scheduler, input_fn, output_fn, run_cells, config, **kw):
    sys.exit(f'error: {output_fn} is missing or older than {input_fn} or the library; '
             f'evaluate it first with `make eval-{config.tab}` (this d2lbook command would '
             f'evaluate it with the wrong Python).')


def _find_md_files(self):
    notebooks, pure_markdowns, depends = _original_find_md_files(self)
    tab = self.config.tab
    if tab in FRAMEWORK_FILES:
        others = set().union(*(v for k, v in FRAMEWORK_FILES.items() if k != tab))
        depends = [d for d in depends if os.path.basename(d).split('.')[0]
                   .split('-')[0] not in others]
        # The Makefile rewrites this file when D2L_HPO_BUDGET changes: re-evaluate then too.
        budget = os.path.join(self.config.tgt_dir, 'stamps', 'budget')
        if os.path.exists(budget):
            depends.append(budget)
    return notebooks, pure_markdowns, depends


def main():
    logging.basicConfig(
        format='[d2lbook:%(filename)s:L%(lineno)d] %(levelname)-6s %(message)s')
    logging.getLogger().setLevel(logging.INFO)
    # The d2l-<framework> kernels (tools/make_env.sh); the Makefile sets the same path.
    kernels = os.path.join(ROOT, '.envs', 'jupyter')
    paths = [p for p in os.environ.get('JUPYTER_PATH', '').split(os.pathsep) if p]
    if kernels not in paths:
        os.environ['JUPYTER_PATH'] = os.pathsep.join([kernels] + paths)
    args = sys.argv[1:]
    if not args or args[0] != 'build':
        sys.exit('usage: tools/d2lbook_run.py build COMMAND... [--tab TAB]')
    resource.Scheduler = SerialScheduler
    resource.get_notebook_gpus = _notebook_gpus
    d2l_build.Builder._find_md_files = _find_md_files
    if 'eval' in args[1:]:
        tab = None
        if '--tab' in args:
            tab = args[args.index('--tab') + 1]
        else:
            tab = next((a.split('=', 1)[1] for a in args if a.startswith('--tab=')), None)
        if tab is None:
            from d2lbook.config import Config
            tab = Config().default_tab
        if tab not in FRAMEWORK_FILES:
            sys.exit(f'error: evaluate one framework tab at a time '
                     f'({", ".join(FRAMEWORK_FILES)}), not {tab!r}')
        _check_kernel(tab)
        d2l_build._process_and_eval_notebook = _process_and_eval_notebook
    else:
        d2l_build._process_and_eval_notebook = _refuse_eval
    sys.argv = ['d2lbook'] + args
    d2l_build.build()


if __name__ == '__main__':
    main()
