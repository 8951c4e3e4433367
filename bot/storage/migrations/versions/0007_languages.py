"""Migration 0007, after 0006 (2026-12-07): languages: the one each chat speaks, and the person's on
help-desk cases, letters and firm hires."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0007', '0006'

_TABLES = ('conversations', 'exception_cases', 'letters', 'firm_hires')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('language')
