"""Migration 0005, after 0004 (2026-12-02): pending replies: the transactional outbox of Telegram messages."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0005', '0004'


def upgrade() -> None:
    op.create_table('pending_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('payload_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pending_replies', schema=None) as batch_op:
        batch_op.create_index('ix_pending_replies_chat_update', ['chat_id', 'update_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_replies_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_replies_created_at'))
        batch_op.drop_index('ix_pending_replies_chat_update')
    op.drop_table('pending_replies')
