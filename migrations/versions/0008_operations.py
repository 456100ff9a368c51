"""Operations: worker heartbeat, mail leases

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # One row per worker (host and role); /readyz and the admin dashboard read it.
    op.create_table(
        'worker_heartbeat',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.Column('stopped_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_heartbeat')),
    )
    # Mail is claimed one message at a time with a short lease; finding lapsed
    # leases and the oldest waiting message reads this index.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_claimed_until', ['claimed_until'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_claimed_until')
    op.drop_table('worker_heartbeat')
