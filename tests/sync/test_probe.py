import collections
import tests.sync.test_history_model as t
from tests.sync.test_history_model import mail, sqlite_parts
from sqlalchemy import select, func
from hrsync.store.models import ImportRun, Member
stats = collections.Counter()
orig_td = t.Histories.teardown
def teardown(self):
    stats["histories"] += 1; stats["people"] += len(self.people); stats["received"] += len(self.received)
    with self.factory() as s:
        for st_, n in s.execute(select(ImportRun.status, func.count()).group_by(ImportRun.status)): stats["run_"+st_] += n
        stats["members"] += s.scalar(select(func.count()).select_from(Member))
    stats["days"] += (self.today - t.DAY0).days
    orig_td(self)
t.Histories.teardown = teardown
def test_probe(sqlite_parts):
    t._run(sqlite_parts, 100)
    print(dict(stats))
