"""Migration 0001 (2026-11-28): initial schema."""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0001', None


def upgrade() -> None:
    
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('username_key', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('ssn_hash', sa.String(length=64), nullable=False),
    sa.Column('profile_enc', sa.Text(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('site_phrase_enc', sa.Text(), nullable=False),
    sa.Column('site_image', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('totp_secret_enc', sa.Text(), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone_hash'),
    sa.UniqueConstraint('ssn_hash'),
    sa.UniqueConstraint('username_key')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_chat_id'), ['chat_id'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index('ix_attempts_key_at', ['key', 'at'], unique=False)

    op.create_table('codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('codes', schema=None) as batch_op:
        batch_op.create_index('ix_codes_subject_purpose', ['subject', 'purpose', 'created_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('to_enc', sa.Text(), nullable=False),
    sa.Column('subject_enc', sa.Text(), nullable=True),
    sa.Column('body_enc', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_sent_at'), ['sent_at'], unique=False)

    op.create_table('record_taxpayers',
    sa.Column('ssn_hash', sa.String(length=64), nullable=False),
    sa.Column('record_enc', sa.Text(), nullable=False),
    sa.Column('e_services_username_key', sa.String(length=64), nullable=True),
    sa.Column('e_services_password_hash', sa.Text(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ssn_hash'),
    sa.UniqueConstraint('e_services_username_key')
    )
    op.create_table('conversations',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('flow', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=60), nullable=False),
    sa.Column('data_enc', sa.Text(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('chat_id')
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_updated_at'), ['updated_at'], unique=False)

    op.create_table('record_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ssn_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('card_network', sa.String(length=20), nullable=True),
    sa.Column('card_kind', sa.String(length=20), nullable=True),
    sa.Column('last8_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['ssn_hash'], ['record_taxpayers.ssn_hash'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('record_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_accounts_ssn_hash'), ['ssn_hash'], unique=False)

    op.create_table('record_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ssn_hash', sa.String(length=64), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('text_enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ssn_hash'], ['record_taxpayers.ssn_hash'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('record_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_phones_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_phones_ssn_hash'), ['ssn_hash'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('record_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_phones_ssn_hash'))
        batch_op.drop_index(batch_op.f('ix_record_phones_phone_hash'))

    op.drop_table('record_phones')
    with op.batch_alter_table('record_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_accounts_ssn_hash'))

    op.drop_table('record_accounts')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_updated_at'))

    op.drop_table('conversations')
    op.drop_table('record_taxpayers')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_sent_at'))

    op.drop_table('deliveries')
    with op.batch_alter_table('codes', schema=None) as batch_op:
        batch_op.drop_index('ix_codes_subject_purpose')

    op.drop_table('codes')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_key_at')

    op.drop_table('attempts')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_chat_id'))

    op.drop_table('accounts')
    
