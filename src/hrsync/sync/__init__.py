"""Importing people into members, one run at a time.

* :mod:`~hrsync.sync.runs`: queue a run (or say why not), claim it, expire held plans;
* :mod:`~hrsync.sync.context`: the integration's settings, read once per run;
* :mod:`~hrsync.sync.execute`: read → plan → brake → apply, and failures;
* :mod:`~hrsync.sync.apply`: write what a plan decided, in one transaction;
* :mod:`~hrsync.sync.finish`: a run's counts, issues, final status and summary e-mail;
* :mod:`~hrsync.sync.decisions`: approve or reject a held run;
* :mod:`~hrsync.sync.progress`, :mod:`~hrsync.sync.members`: live progress; members as stored.
"""
