"""The screening table.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "screening",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("company_key", sa.String(300), nullable=False),
        sa.Column("company_name", sa.String(300), nullable=False),
        sa.Column("website", sa.String(2000), nullable=True),
        sa.Column("pack_name", sa.String(200), nullable=False),
        sa.Column("pack_version", sa.String(100), nullable=False),
        sa.Column("pack_hash", sa.String(64), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("knockouts", sa.JSON(), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("company_key", "pack_name", "pack_version", name="uq_screening_company_pack"),
    )
    op.create_index("ix_screening_company_key", "screening", ["company_key"])
    op.create_index("ix_screening_screened_on", "screening", ["screened_on"])
    op.create_index("ix_screening_score", "screening", ["score"])
    op.create_index("ix_screening_verdict", "screening", ["verdict"])


def downgrade() -> None:
    op.drop_table("screening")
