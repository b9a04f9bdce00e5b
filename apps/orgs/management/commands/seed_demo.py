"""`manage.py seed_demo`: the demo organisation tree, accounts and supervisees (data from apps.people.demo).

Runs once: when any organisation exists it says so and exits 0. Everything is one transaction, so a
failure leaves the database as it was."""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_seal
from apps.orgs import rules as org_rules
from apps.orgs.models import Organisation, User
from apps.orgs.services import org_create, staff_create
from apps.people import demo
from apps.people import rules as people_rules
from apps.people.models import Contact, Supervisee, TeamMember
from apps.people.services import supervisee_create

K = org_rules.OrgKind


class Command(BaseCommand):
    help = "Create the demo data (南昌市 tree, demo accounts, supervisees) unless organisations already exist."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=demo.DEMO_COUNT,
                            help=f"number of supervisees (default {demo.DEMO_COUNT})")
        parser.add_argument("--seed", type=int, default=demo.DEMO_SEED, help="random seed (default fixed)")
        parser.add_argument("--if-empty", action="store_true",
                            help="only seed an empty database (the default behaviour; kept for scripts)")
        parser.add_argument("--quiet", action="store_true", help="print one summary line only")
        parser.add_argument("--orgs-only", action="store_true",
                            help="a real installation for 南昌: only the organisation tree, no accounts, no people")

    def handle(self, *args, count: int, seed: int, quiet: bool, orgs_only: bool = False, **options):
        if Organisation.objects.exists():
            self.stdout.write("演示数据已存在，跳过 (demo data already present; nothing to do)")
            return
        if count < 2:
            raise CommandError("--count must be at least 2")
        t0 = time.perf_counter()
        data_dir = str(settings.SHARED_DATA_DIR)
        plan = demo.org_plan(data_dir)
        if orgs_only:
            with transaction.atomic():
                orgs = self._organisations(plan)
            self.stdout.write(f"机构树已建立 (organisation tree created): {len(orgs)} 个机构。"
                              "下一步：manage.py create_staff 建立系统管理员账号。")
            return
        with transaction.atomic():
            orgs = self._organisations(plan)
            users = self._staff(plan, orgs, seed)
            people = demo.people_plan(plan, count=count, seed=seed, today=demo.DEMO_TODAY, data_dir=data_dir)
            created = self._supervisees(people, orgs, users)
            n_contacts, n_team = self._families(people, created, users)
            counts = {"organisations": Organisation.objects.count(), "staff": User.objects.count(),
                      "supervisees": len(created), "contacts": n_contacts, "team_members": n_team}
            audit_record(actor=None, kind=AuditRecord.Kind.CHANGE, action="seed.demo", object_type="supervisee",
                         summary=f"生成演示数据：机构 {counts['organisations']} 个，工作人员 {counts['staff']} 名，"
                                 f"社区矫正对象 {len(created)} 名",
                         after={**counts, "seed": seed, "today": demo.DEMO_TODAY.isoformat(),
                                "set_after_create": ["status", "residence_lon", "residence_lat", "deciding_organ"],
                                "supervisee_ids": [s.pk for s in created]})
        audit_seal()  # a seed is one big write: chain its records now rather than a few seconds later
        elapsed = time.perf_counter() - t0
        self._report(counts, created, elapsed, orgs, quiet)

    # --- organisations ------------------------------------------------------------------------
    def _organisations(self, plan: dict) -> dict[str, Organisation]:
        orgs: dict[str, Organisation] = {}
        p, c = plan["province"], plan["city"]
        orgs["province"] = org_create(actor=None, name=p["name"], short_name=p["short_name"], kind=K.PROVINCE,
                                      parent=None, adcode=p["adcode"], boundary=p["boundary"])
        orgs["city"] = org_create(actor=None, name=c["name"], short_name=c["short_name"], kind=K.CITY,
                                  parent=orgs["province"], adcode=c["adcode"], boundary=c["boundary"])
        for county in plan["counties"]:
            code = county["adcode"]
            agency = org_create(actor=None, name=county["name"], short_name=county["short_name"],
                                kind=K.COUNTY_AGENCY, parent=orgs["city"], adcode=code, boundary=county["boundary"])
            orgs[f"county:{code}"] = agency
            for office in county["offices"]:
                orgs[f"office:{office['adcode']}"] = org_create(
                    actor=None, name=office["name"], short_name=office["short_name"], kind=K.JUDICIAL_OFFICE,
                    parent=agency, adcode=office["adcode"])
            orgs[f"office:first:{code}"] = orgs[f"office:{demo.first_office(plan, code)['adcode']}"]
            for kind in ("court", "procuratorate", "police"):
                orgs[f"{kind}:{code}"] = org_create(actor=None, name=county[kind]["name"], kind=kind,
                                                    parent=orgs["city"], adcode=code, oversees=agency)
        return orgs

    # --- staff --------------------------------------------------------------------------------
    def _staff(self, plan: dict, orgs: dict[str, Organisation], seed: int) -> dict[str, User]:
        """Named demo accounts through staff_create. The ~140 generated accounts (one officer per county,
        one worker per office) share the demo password; hashing it with Argon2 140 times would take ~25 s,
        so they get the one hash made here, otherwise the same checks and the same audit record as
        staff_create."""
        users: dict[str, User] = {}
        shared_hash = None
        for row in demo.staff_plan(plan, seed=seed):
            org = orgs[row["org"]]
            if row["named"]:
                users[row["username"]] = staff_create(
                    actor=None, username=row["username"], full_name=row["full_name"], organisation=org,
                    roles=[row["role"]], password=demo.DEMO_PASSWORD, gender=row["gender"], phone=row["phone"],
                    minor_access=row["minor_access"])
                continue
            check = org_rules.check_roles_for_org([row["role"]], org.kind)
            if not check.ok:
                raise CommandError(f"{row['username']}: {check.reason}")
            user = User(username=row["username"], full_name=row["full_name"], organisation=org,
                        roles=[row["role"]], gender=row["gender"], phone=row["phone"],
                        minor_access=row["minor_access"])
            validate_password(demo.DEMO_PASSWORD, user)
            shared_hash = shared_hash or make_password(demo.DEMO_PASSWORD)
            user.password = shared_hash
            user.save()
            audit_record(actor=None, kind=AuditRecord.Kind.CHANGE, action="staff.create", object_type="user",
                         object_id=user.pk, summary=f"新增工作人员 {user.full_name}",
                         after={"username": user.username, "organisation": org.pk, "roles": user.roles,
                                "minor_access": user.minor_access})
            users[row["username"]] = user
        return users

    # --- supervisees ----------------------------------------------------------------------------
    def _supervisees(self, people: list[dict], orgs: dict[str, Organisation],
                     users: dict[str, User]) -> list[Supervisee]:
        """Each through supervisee_create, as the county officer: the same validation and audit as the UI.
        What the create form does not take (state, residence point, the deciding organ's record) is set
        afterwards in one bulk update, recorded by the closing seed.demo audit record."""
        created = []
        for p in people:
            actor = users[demo.COUNTY_OFFICER[p["county"]]]
            s = supervisee_create(actor=actor, data={**p["data"], "judicial_office": orgs[f"office:{p['office']}"]},
                                  today=demo.DEMO_TODAY)
            s.status = p["status"]
            s.residence_lon, s.residence_lat = p["lon"], p["lat"]
            s.deciding_organ = orgs[p["deciding_organ"]] if p["deciding_organ"] else None
            created.append(s)
        Supervisee.objects.bulk_update(created, ["status", "residence_lon", "residence_lat", "deciding_organ"],
                                       batch_size=500)
        return created

    def _families(self, people: list[dict], created: list[Supervisee], users: dict[str, User]) -> tuple[int, int]:
        contacts, members = [], []
        for p, s in zip(people, created):
            for c in p["contacts"]:
                contacts.append(Contact(supervisee=s, **c))
            for m in p["team"]:
                if m["staff"]:
                    u = users[m["staff"]]
                    members.append(TeamMember(supervisee=s, name=u.full_name, kind=m["kind"], gender=u.gender,
                                              phone=u.phone, knows_minors=m["knows_minors"], staff=u))
                else:
                    members.append(TeamMember(supervisee=s, **{k: v for k, v in m.items() if k != "staff"}))
        Contact.objects.bulk_create(contacts, batch_size=1000)
        TeamMember.objects.bulk_create(members, batch_size=1000)
        return len(contacts), len(members)

    # --- output -----------------------------------------------------------------------------
    def _report(self, counts: dict, created: list[Supervisee], elapsed: float, orgs: dict, quiet: bool) -> None:
        line = (f"演示数据已生成 (demo seeded): 机构 {counts['organisations']}, 工作人员 {counts['staff']}, "
                f"矫正对象 {counts['supervisees']}, 联系人 {counts['contacts']}, 矫正小组成员 {counts['team_members']}"
                f" — {elapsed:.1f} s")
        if quiet:
            self.stdout.write(line)
            return
        by_type = {label: 0 for label in people_rules.SENTENCE_LABELS.values()}
        by_status = {label: 0 for label in people_rules.STATUS_LABELS.values()}
        for s in created:
            by_type[people_rules.SENTENCE_LABELS[people_rules.SentenceType(s.sentence_type)]] += 1
            by_status[people_rules.STATUS_LABELS[people_rules.Status(s.status)]] += 1
        minors = sum(s.is_minor for s in created)
        self.stdout.write(self.style.SUCCESS(line))
        self.stdout.write("矫正类别 (sentence types): " + "，".join(f"{k} {v}" for k, v in by_type.items()))
        self.stdout.write("矫正状态 (status): " + "，".join(f"{k} {v}" for k, v in by_status.items())
                          + f"；未成年人 (minors) {minors}")
        self.stdout.write(f"\n演示账号 (demo sign-ins) — 密码 / password: {demo.DEMO_PASSWORD}")
        rows = [(a["username"], org_rules.ROLE_LABELS[org_rules.Role(a["role"])]
                 + ("（可查阅未成年人）" if a["minor_access"] else ""), orgs[a["org"]].name) for a in demo.DEMO_ACCOUNTS]
        rows.append(("officer_<县区代码>", "社区矫正官", "其他县区，如 officer_360104"))
        rows.append(("staff_<乡镇代码>", "司法所工作人员", "每个司法所一名，如 staff_360102002"))
        w = max(len(r[0]) for r in rows) + 2
        self.stdout.write(f"{'username':<{w}}role / organisation")
        for username, role, org in rows:
            self.stdout.write(f"{username:<{w}}{role} — {org}")
