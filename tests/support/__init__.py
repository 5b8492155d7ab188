"""What the tests share, one module per job: ``http`` (calls to the API and checks of what it
answers), ``apps`` (the app started in-process), ``shared_app`` (the seeded app a module's
read-only tests share), ``databases`` (throw-away databases), ``db_state`` (the truth read from
the database itself), ``servers`` (real server processes), ``metrics``, ``orders``, ``tokens``,
``times``, ``waiting`` (bounded waits for a condition), ``tcp_proxy`` and ``imports`` (what a
module of ``app`` imports).

Test modules import from here and from nowhere else in ``tests``; fixtures stay in the
``conftest.py`` files.
"""
