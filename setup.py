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
from setuptools.command.build_ext import build_ext

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

core = Extension(
    "traffickstats._core",
    sources=sorted(glob("csrc/*.c")),
    depends=sorted(glob("csrc/*.h")),
    include_dirs=[np.get_include(), "csrc"],
    define_macros=define_macros,
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
)



class build_ext_flags(build_ext):
    """build_ext that recompiles everything when the compile flags change.

    setuptools only compares timestamps, so without this a
    ``TRAFFICKSTATS_SANITIZE=1 pip install .`` after a normal build silently links the
    old -O3 objects (no sanitizer at all), and the reverse links ASan objects into a
    normal build.  The flags of the last build are kept in a stamp file in build_temp.
    """

    def run(self):
        flags = " ".join(extra_compile_args + extra_link_args)
        stamp = os.path.join(self.build_temp, "traffickstats-flags.txt")
        try:
            with open(stamp) as f:
                if f.read() != flags:
                    self.force = True
        except OSError:
            self.force = True
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as f:
            f.write(flags)


setup(ext_modules=[core], cmdclass={"build_ext": build_ext_flags})
