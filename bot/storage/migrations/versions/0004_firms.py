"""Migration 0004, after 0003 (2026-11-28): firms."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0004', '0003'


def upgrade() -> None:

    op.create_table('firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('firm_admins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('added_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', name='uq_firm_admins_user_id')
    )
    with op.batch_alter_table('firm_admins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firm_admins_firm_id'), ['firm_id'], unique=False)

    op.create_table('firm_hires',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('name_enc', sa.Text(), nullable=False),
    sa.Column('email_enc', sa.Text(), nullable=True),
    sa.Column('invited_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=30), nullable=False),
    sa.Column('blocker', sa.String(length=30), nullable=True),
    sa.Column('blocker_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocker_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blocker_count', sa.Integer(), nullable=False),
    sa.Column('blocker_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tracking', sa.Boolean(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('letter_warned_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('firm_hires', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firm_hires_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firm_hires_firm_id'), ['firm_id'], unique=False)

    op.create_table('firm_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hire_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_chat', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expiry_noted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hire_id'], ['firm_hires.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_firm_invites_token_hash')
    )
    with op.batch_alter_table('firm_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firm_invites_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firm_invites_hire_id'), ['hire_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('firm_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firm_invites_hire_id'))
        batch_op.drop_index(batch_op.f('ix_firm_invites_firm_id'))

    op.drop_table('firm_invites')
    with op.batch_alter_table('firm_hires', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firm_hires_firm_id'))
        batch_op.drop_index(batch_op.f('ix_firm_hires_chat_id'))

    op.drop_table('firm_hires')
    with op.batch_alter_table('firm_admins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firm_admins_firm_id'))

    op.drop_table('firm_admins')
    op.drop_table('firms')

