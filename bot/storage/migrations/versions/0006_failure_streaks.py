"""Migration 0006, after 0005 (2026-12-03): failure streaks: consecutive failed sign-in secrets per account, across every window."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0006', '0005'


def upgrade() -> None:
    op.create_table('failure_streaks',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('failure_streaks')
