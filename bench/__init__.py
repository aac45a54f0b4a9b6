"""Gradient Desktop's performance suite (GitHub issue 7): ``python -m bench [--quick]``.

Each benchmark measures a subject and a baseline side by side in the same run and reports
their ratio against a goal; see ``bench/run.py`` for the command and ``bench/common.py`` for
how runs are interleaved.
"""
