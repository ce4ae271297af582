"""The reader's tests run from .envs/book, where d2l is not installed: they
read d2l/frameworks.py (the standard library only) from the checkout."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
