"""Importing people into members, one run at a time.

* :mod:`~hrsync.sync.runs`: queue a run (or say why not), claim it, expire held plans;
* :mod:`~hrsync.sync.context`: the integration's settings, read once per run;
* :mod:`~hrsync.sync.execute`: read → plan → brake → apply, and failures: the one runner, for whole
  imports and one-person runs (:mod:`~hrsync.sync.one_person` narrows a run to one person's people;
  :mod:`~hrsync.sync.trace` explains such a run's plan without applying it);
* :mod:`~hrsync.sync.apply`: write what a plan decided, in one transaction;
* :mod:`~hrsync.sync.finish`: a run's counts, issues, final status and summary e-mail;
* :mod:`~hrsync.sync.decisions`: approve or reject a held run;
* :mod:`~hrsync.sync.progress`, :mod:`~hrsync.sync.members`: live progress; members as stored.
"""
