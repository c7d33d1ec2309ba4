"""Build the C extension ``traffickstats._core``.

Environment switches
--------------------
TRAFFICKSTATS_WERROR=1     compile with -Werror (CI does this once).
TRAFFICKSTATS_SANITIZE=1   build with AddressSanitizer and UBSan (-O1 -g).
"""
import os
from glob import glob

import numpy as np
from setuptools import Extension, setup

extra_compile_args = ["-std=c99", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"]
extra_link_args = ["-pthread"]
define_macros = [
    ("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
    ("NPY_TARGET_VERSION", "NPY_1_23_API_VERSION"),
]
if os.environ.get("TRAFFICKSTATS_WERROR") == "1":
    extra_compile_args.append("-Werror")
if os.environ.get("TRAFFICKSTATS_SANITIZE") == "1":
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    extra_compile_args += san + ["-fno-sanitize-recover=undefined"]
    extra_link_args += ["-fsanitize=address,undefined"]
else:
    extra_compile_args += ["-O3"]

# Each flavour builds in its own folder: setuptools skips compiling when the built
# module is newer than the sources, so a shared build/ would hand a plain build to a
# -Werror check, or a sanitizer-instrumented module to a normal install.
flavour = "-".join(f for f, on in (("werror", os.environ.get("TRAFFICKSTATS_WERROR") == "1"),
                                   ("sanitize", os.environ.get("TRAFFICKSTATS_SANITIZE") == "1")) if on)
options = {"build": {"build_base": f"build/{flavour}"}} if flavour else {}

core = Extension(
    "traffickstats._core",
    sources=sorted(glob("csrc/**/*.c", recursive=True)),
    depends=sorted(glob("csrc/**/*.h", recursive=True)),
    # headers are included by their path under csrc/ ("core/ts_core.h", "util/pool.h")
    include_dirs=[np.get_include(), "csrc"],
    define_macros=define_macros,
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
)

setup(ext_modules=[core], options=options)
