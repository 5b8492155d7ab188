"""What the tests share, one module per job: ``http`` (calls to the API and what they answer),
``apps`` (an app started in-process), ``servers`` (real server processes), ``waiting`` (bounded
waits for a condition), ``tokens``, ``times``, ``orders``, ``metrics``, ``db_state``, ``imports``
and ``tcp_proxy``.

Test modules import from here and from nowhere else in ``tests``; fixtures stay in the
``conftest.py`` files.
"""
