"""The one build step pyproject.toml cannot declare (setuptools calls it experimental there).

``app.index._probe`` speeds up the GET /visible probe. It is optional: without a C compiler
the package installs without it, and ``app/index/_ordinals.py`` probes in Python instead
(same answers, more time; ``withheld`` logs which one it uses at start).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "app.index._probe",
            sources=["app/index/_probe.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ]
)
