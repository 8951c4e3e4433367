"""Migration 0002, after 0001 (2026-11-28): exception cases, letters, notifications, second factors."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0002', '0001'


def upgrade() -> None:
    op.create_table('exception_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('ssn_hash', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('email_enc', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('exception_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exception_cases_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exception_cases_ssn_hash'), ['ssn_hash'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('text_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_sent_at'), ['sent_at'], unique=False)

    op.create_table('letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('address_enc', sa.Text(), nullable=False),
    sa.Column('body_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letters_code_expires_at'), ['code_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_letters_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_device_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('secret_answers_enc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_unique_constraint('uq_accounts_totp_device_hash', ['totp_device_hash'])



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounts_totp_device_hash', type_='unique')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('secret_answers_enc')
        batch_op.drop_column('totp_device_hash')

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letters_created_at'))
        batch_op.drop_index(batch_op.f('ix_letters_code_expires_at'))
        batch_op.drop_index(batch_op.f('ix_letters_account_id'))

    op.drop_table('letters')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_sent_at'))

    op.drop_table('notifications')
    with op.batch_alter_table('exception_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exception_cases_ssn_hash'))
        batch_op.drop_index(batch_op.f('ix_exception_cases_chat_id'))

    op.drop_table('exception_cases')
