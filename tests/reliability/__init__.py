"""Reliability and security tests (issue 8): a bad network, a killed process, hostile input and
leaking secrets, each proved with a test that can fail.

Files
-----
* ``fault_proxy.py`` – asyncio HTTP/1.1 proxy on loopback in front of the sandbox: resets
  (mid-request, after applying), truncated bodies, HTML/captive-portal answers, hangs, 5xx and
  429 bursts, latency spikes, a server that quotes the request headers back.
* ``test_fault_matrix.py`` – every fault × {``push_counts``, ``PushService``}: all counts right
  on the sandbox, one rebuild, the user told; prints the table at the end of the run.
* ``test_crash_safety.py`` – SIGKILL the real CLI at random points of a push, restart, lose and
  double nothing; ``PRAGMA integrity_check`` after every kill.
* ``test_database_and_instances.py`` – corrupt/newer/foreign database through the CLI, two
  instances, a dead lock holder.
* ``test_fuzz_api.py`` / ``test_fuzz_input.py`` – hypothesis: server answers, sandbox requests,
  CSV/JSON imports, spreadsheet-safe exports, the CLI on nasty files.
* ``test_secret_scan.py`` / ``test_secret_service.py`` / ``test_https_rules.py`` – keys only in
  the keyring (files, logs, CLI output, exceptions), a real gnome-keyring, HTTPS/TLS rules.
* ``test_regressions.py`` – deterministic cases for the bugs these tests found.

Switches
--------
``GD_FULL=1`` full sizes (5,000-count matrix, 60 crash rounds of 1,000 rows, 2,000+ fuzz
examples, random rather than derandomized); ``GD_FUZZ_EXAMPLES=N`` overrides the example count;
``GD_FAULT_REPORT=path`` also writes the report as Markdown (``docs/fault_matrix.md``).

A ``strict`` xfail here names a known bug and how to fix it: the fix turns it red until the
marker is removed.
"""
