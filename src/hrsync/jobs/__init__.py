"""When imports run: schedules, the due-run dispatcher, the embedded scheduler and Celery workers.

The database, not a queue, holds run state: ``integration.next_run_at`` says when an import is
due and ``import_run`` says what is queued or running. Queues (a thread pool in embedded mode,
Celery in scale-out mode) only carry run ids, so a lost or duplicated message is harmless: the
runner's atomic queued → running claim decides who executes a run, once.

Modules:

* :mod:`hrsync.domain.schedule` - pure schedule maths (next due instant, DST, spread across the hour);
* :mod:`.dispatch` - turning due integrations into queued runs, recovering runs whose worker died;
* :mod:`.loop` - the periodic pass both modes share (schedule, recover, outbox, close-down);
* :mod:`.embedded` - one process: the loop and a worker pool on threads (SQLite default);
* :mod:`.celery_app`, :mod:`.tasks` - scale-out workers; :mod:`.enqueue` - where a new run goes.
"""
