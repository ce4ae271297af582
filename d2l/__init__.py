"""The library that the chapter's sections import.

Import one framework module, e.g. ``from d2l import torch as d2l``; the
framework-neutral parts live in ``d2l.core``, ``d2l.checkpoint``,
``d2l.data``, ``d2l.resources`` and ``d2l.hpo`` (which imports Syne Tune, on
first use of one of its names).
"""
__version__ = "0.1.0"
