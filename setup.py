"""The one build step pyproject.toml cannot declare (setuptools calls it experimental there).

``app.index._probe`` answers GET /visible's common query in one call. It is optional: without
a C compiler the package installs without it, and Python twins (``app/index/_compiled.py`` says
which is whose) answer instead: the same answers, more time; ``withheld`` logs which runs.
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
