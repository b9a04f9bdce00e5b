"""`manage.py seed_demo`: the demo. The real 南昌 organisation tree (apps.orgs.places), the demo accounts
(apps.orgs.demo) and N generated supervisees (apps.people.demo, 2,000 by default, up to a province's 100,000),
each registered through the same bulk service as an Excel import, with its contacts and correction team, and
every record audited. Commits in batches, so a province-sized demo neither holds one huge transaction nor
starts again from nothing after a failure part-way (a rerun on a seeded database does nothing).

Runs once: when any organisation exists it says so and exits 0."""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from itertools import islice

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_seal
from apps.orgs import demo as org_demo
from apps.orgs import places
from apps.orgs import rules as org_rules
from apps.orgs.models import Organisation, User
from apps.orgs.services import _staff_create, org_tree_load
from apps.people import demo, extensions
from apps.people import rules as people_rules
from apps.people.services import supervisee_bulk_create


class Command(BaseCommand):
    help = "Create the demo data (南昌市 tree, demo accounts, supervisees) unless organisations already exist."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=demo.DEMO_COUNT,
                            help=f"number of supervisees (default {demo.DEMO_COUNT}; up to 100000 and more)")
        parser.add_argument("--seed", type=int, default=org_demo.DEMO_SEED, help="random seed (default fixed)")
        parser.add_argument("--batch", type=int, default=5000, help="supervisees per transaction (default 5000)")
        parser.add_argument("--if-empty", action="store_true",
                            help="only seed an empty database (the default behaviour; kept for scripts)")
        parser.add_argument("--quiet", action="store_true", help="print one summary line only")
        parser.add_argument("--no-stages", action="store_true",
                            help="only the generated supervisees: no cases carried through the stages")
        parser.add_argument("--orgs-only", action="store_true",
                            help="a real installation for 南昌: only the organisation tree (same as load_places)")

    def handle(self, *args, count: int, seed: int, batch: int, quiet: bool, orgs_only: bool = False,
               no_stages: bool = False, **options):
        if Organisation.objects.exists():
            self.stdout.write("演示数据已存在，跳过 (demo data already present; nothing to do)")
            return
        if count < 2:
            raise CommandError("--count must be at least 2")
        t0 = time.perf_counter()
        data_dir = str(settings.SHARED_DATA_DIR)
        plan = places.org_plan(data_dir)
        orgs = org_tree_load(plan=plan)
        if orgs_only:
            audit_seal()
            self.stdout.write(f"机构树已建立 (organisation tree created): {len({o.pk for o in orgs.values()})} 个机构。"
                              "下一步：manage.py create_staff 建立系统管理员账号。")
            return
        users = self._staff(plan, orgs, seed)
        stats = self._supervisees(plan, orgs, users, count=count, seed=seed, batch=batch, data_dir=data_dir,
                                  quiet=quiet)
        for step in ([] if no_stages else extensions.demo_steps()):  # the case stages (apps.cases.demo), with dates relative to today
            made = step(plan=plan, orgs=orgs, users=users, data_dir=data_dir)
            if not quiet:
                self.stdout.write(f"案件各阶段演示 (cases at every stage): {made}")
        counts = {"organisations": Organisation.objects.count(), "staff": User.objects.count(),
                  "supervisees": stats["n"], "contacts": stats["contacts"], "team_members": stats["team"]}
        with transaction.atomic():
            audit_record(actor=None, kind=AuditRecord.Kind.CHANGE, action="seed.demo", object_type="supervisee",
                         summary=f"生成演示数据：机构 {counts['organisations']} 个，工作人员 {counts['staff']} 名，"
                                 f"社区矫正对象 {stats['n']} 名", after={**counts, "seed": seed,
                                                                        "today": demo.DEMO_TODAY.isoformat()},
                         org_path=orgs["province"].path)
        audit_seal()  # a seed is one big write: chain its records now rather than a few seconds later
        self._report(counts, stats, time.perf_counter() - t0, orgs, quiet)

    # --- staff --------------------------------------------------------------------------------
    def _staff(self, plan: dict, orgs: dict[str, Organisation], seed: int) -> dict[str, User]:
        """The demo accounts through the staff service. The ~140 generated accounts (one officer per county, one
        worker per office) share the demo password, hashed once (Argon2 140 times would take ~25 s); otherwise
        the same checks and the same audit record."""
        users: dict[str, User] = {}
        shared_hash = make_password(org_demo.DEMO_PASSWORD)
        with transaction.atomic():
            for row in org_demo.staff_plan(plan, seed=seed):
                users[row["username"]] = _staff_create(
                    actor=None, username=row["username"], full_name=row["full_name"], organisation=orgs[row["org"]],
                    roles=[row["role"]], password=org_demo.DEMO_PASSWORD,
                    password_hash="" if row["named"] else shared_hash, gender=row["gender"], phone=row["phone"],
                    minor_access=row["minor_access"])
        return users

    # --- supervisees ----------------------------------------------------------------------------
    def _supervisees(self, plan, orgs, users, *, count, seed, batch, data_dir, quiet) -> dict:
        """In batches of `batch`, one transaction each; in a batch, one bulk registration per county (its
        officer is the actor, as if the county had imported a sheet)."""
        people = demo.iter_people(plan, count=count, seed=seed, today=demo.DEMO_TODAY, data_dir=data_dir)
        stats = {"n": 0, "contacts": 0, "team": 0, "types": Counter(), "status": Counter(), "minors": 0}
        done = 0
        while True:
            chunk = list(islice(people, batch))
            if not chunk:
                break
            by_county = defaultdict(list)
            for p in chunk:
                by_county[p["county"]].append(p)
            with transaction.atomic():
                for county, group in by_county.items():
                    actor = users[org_demo.COUNTY_OFFICER[county]]
                    rows = [(i, self._data(p, orgs)) for i, p in enumerate(group, start=1)]
                    families = [(p["contacts"], [self._member(m, users) for m in p["team"]]) for p in group]
                    result = supervisee_bulk_create(actor=actor, rows=rows, today=demo.DEMO_TODAY, families=families)
                    for s in result.created:
                        stats["types"][s.sentence_type] += 1
                        stats["status"][s.status] += 1
                        stats["minors"] += s.is_minor
                    stats["contacts"] += sum(len(f[0]) for f in families)
                    stats["team"] += sum(len(f[1]) for f in families)
            done += len(chunk)
            stats["n"] = done
            if not quiet and count > batch:
                self.stdout.write(f"  … {done} / {count}")
        return stats

    @staticmethod
    def _data(p: dict, orgs: dict) -> dict:
        return {**p["data"], "judicial_office": orgs[f"office:{p['office']}"], "status": p["status"],
                "residence_lon": p["lon"], "residence_lat": p["lat"],
                "deciding_organ": orgs.get(p["deciding_organ"]) if p["deciding_organ"] else None}

    @staticmethod
    def _member(m: dict, users: dict) -> dict:
        if m["staff"]:
            u = users[m["staff"]]
            return {"name": u.full_name, "kind": m["kind"], "gender": u.gender, "phone": u.phone,
                    "knows_minors": m["knows_minors"], "staff": u}
        return {k: v for k, v in m.items() if k != "staff"}

    # --- output -----------------------------------------------------------------------------
    def _report(self, counts: dict, stats: dict, elapsed: float, orgs: dict, quiet: bool) -> None:
        line = (f"演示数据已生成 (demo seeded): 机构 {counts['organisations']}, 工作人员 {counts['staff']}, "
                f"矫正对象 {counts['supervisees']}, 联系人 {counts['contacts']}, 矫正小组成员 {counts['team_members']}"
                f" — {elapsed:.1f} s")
        if quiet:
            self.stdout.write(line)
            return
        self.stdout.write(self.style.SUCCESS(line))
        self.stdout.write("矫正类别 (sentence types): " + "，".join(
            f"{label} {stats['types'][k.value]}" for k, label in people_rules.SENTENCE_LABELS.items()))
        self.stdout.write("矫正状态 (status): " + "，".join(
            f"{label} {stats['status'][k.value]}" for k, label in people_rules.STATUS_LABELS.items())
            + f"；未成年人 (minors) {stats['minors']}")
        self.stdout.write(f"\n演示账号 (demo sign-ins) — 密码 / password: {org_demo.DEMO_PASSWORD}")
        rows = [(a["username"], org_rules.ROLE_LABELS[org_rules.Role(a["role"])]
                 + ("（可查阅未成年人）" if a["minor_access"] else ""), orgs[a["org"]].name) for a in org_demo.DEMO_ACCOUNTS]
        rows.append(("officer_<县区代码>", "社区矫正机构工作人员", "其他县区，如 officer_360104"))
        rows.append(("staff_<乡镇代码>", "司法所工作人员", "每个司法所一名，如 staff_360102002"))
        w = max(len(r[0]) for r in rows) + 2
        self.stdout.write(f"{'username':<{w}}role / organisation")
        for username, role, org in rows:
            self.stdout.write(f"{username:<{w}}{role} — {org}")
