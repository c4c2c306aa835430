"""pattern_singularize.py — pattern.en.singularize for the CHAIR oracle, loaded from PyPI, not copied.

The original CHAIR script singularises words with pattern.en.singularize. Pattern 3.6 is not on PyPI
any more (the name holds another project) and its Python 3 port `pattern3==3.0.0` does not import on
a current Python (syntax errors in modules singularize never uses). So this loader fetches the pinned
pattern3 sdist with pip (cached under ~/.cache/lpoi-oracle), reads pattern3/text/en/inflect.py out of
the tarball, and runs only its module-level code before the Verbs class (articles, pluralize,
singularize and their rule tables), with the constants it imports from pattern3.text given their
names. Nothing of pattern is stored in this repository.

usage: from pattern_singularize import singularize
"""
import os
import re
import subprocess
import sys
import tarfile

VERSION = "3.0.0"
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "lpoi-oracle")
MEMBER = f"pattern3-{VERSION}/pattern3/text/en/inflect.py"


def _sdist():
    path = os.path.join(CACHE, f"pattern3-{VERSION}.tar.gz")
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"pattern3=={VERSION}", "-d", CACHE], check=True)
    return path


def _load():
    with tarfile.open(_sdist()) as t:
        src = t.extractfile(MEMBER).read().decode("utf-8")
    src = src[:src.index("\nclass Verbs(")]
    # the two `from pattern3.text import ...` statements: the names become plain constants
    src = re.sub(r"from pattern3\.text import Verbs as _Verbs\n", "", src)
    src = re.sub(r"from pattern3\.text import \((.*?)\)\n", "", src, flags=re.S)
    ns = {"__file__": MEMBER, "__name__": "pattern3_inflect"}
    for name in ("INFINITIVE", "PRESENT", "PAST", "FUTURE", "FIRST", "SECOND", "THIRD", "SINGULAR", "PLURAL",
                 "SG", "PL", "PROGRESSIVE", "PARTICIPLE"):
        ns[name] = name.lower()
    exec(compile(src, MEMBER, "exec"), ns)
    return ns["singularize"]


singularize = _load()
