"""Users, roles, projects and work groups: who may see and do what."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import JsonType, utcnow

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_code", ForeignKey("roles.code", ondelete="CASCADE"), primary_key=True),
)

group_members = Table(
    "group_members",
    db.metadata,
    Column("group_id", ForeignKey("work_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_members_user", "user_id"),
)


class Role(db.Model):
    """A role of DOMAIN.md (surveyor, appraiser, …); lanes of the BPMN name them."""

    __tablename__ = "roles"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))


PROJECT_KINDS = ("collective", "state", "mixed")  # 集体土地 / 国有土地 / 混合
PROJECT_STATUSES = ("active", "closed", "archived")


class Project(db.Model):
    """A demolition project (项目) with its villages, batches, work groups and households."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="collective", server_default="collective")
    decision_number: Mapped[str | None] = mapped_column(String(64))  # 征收决定文号
    announced_on: Mapped[date | None]  # 公告日期
    signing_starts_on: Mapped[date | None]
    sign_deadline: Mapped[date | None]  # the signing period's last day
    target_signed_on: Mapped[date | None]  # 签约
    target_vacated_on: Mapped[date | None]  # 腾空
    target_demolished_on: Mapped[date | None]  # 拆除
    target_cleared_on: Mapped[date | None]  # 清零
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(String(1000))  # notes
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    closed_at: Mapped[datetime | None]
    # separation-of-duties rules switched off for this project: {rule: {"reason", "by", "at"}}; empty = all on
    duty_rules_off: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[WorkGroup]] = relationship(back_populates="project", order_by="WorkGroup.id")
    villages: Mapped[list[Village]] = relationship(back_populates="project", order_by="Village.id")
    batches: Mapped[list[Batch]] = relationship(back_populates="project", order_by="Batch.id")


class Village(db.Model):
    """A village or section (村、片区、标段) of a project; its cadre signs the agreements of its households."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_village_project_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="village", server_default="village")  # village|section
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(String(500))

    project: Mapped[Project] = relationship(back_populates="villages")
    cadre: Mapped[User | None] = relationship()


class Batch(db.Model):
    """A batch (批次) of households of a project, e.g. the first round of signing."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_batch_project_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship(back_populates="batches")


class WorkGroup(db.Model):
    """A work group (工作组) of a project; membership grants access to the project."""

    __tablename__ = "work_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    project: Mapped[Project] = relationship(back_populates="groups")
    leader: Mapped[User | None] = relationship(foreign_keys=[leader_id])
    members: Mapped[list[User]] = relationship(
        secondary=group_members, back_populates="groups", order_by="User.id"
    )


class User(UserMixin, db.Model):
    """A member of staff who signs in; holds roles and belongs to work groups."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by="Role.code")
    groups: Mapped[list[WorkGroup]] = relationship(
        secondary=group_members, back_populates="members", lazy="selectin", order_by="WorkGroup.id"
    )

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def role_codes(self) -> set[str]:
        """The codes of the roles this user holds."""
        return {r.code for r in self.roles}

    @property
    def sees_all_projects(self) -> bool:
        """Supervisors and administrators see every project."""
        return bool(self.role_codes & {"supervisor", "admin"})

    def has_role(self, *codes: str) -> bool:
        """True when the user holds any of the given roles."""
        return bool(self.role_codes.intersection(codes))

    @property
    def session_stamp(self) -> str:
        """A short fingerprint of the password hash: a session signed in before a password change no longer fits."""
        return hashlib.sha256(self.password_hash.encode("utf-8")).hexdigest()[:16]

    def get_id(self) -> str:  # flask-login: what the session cookie names the user by
        return f"{self.id}:{self.session_stamp}"


class ApiToken(db.Model):
    """A bearer token for the JSON API, stored as a SHA-256 digest with an expiry."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(64))
    created_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """A failed sign-in (page or token exchange): the throttle counts these per username and per address."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
