"""Reports: indexes for the mentorship, meeting and supply figures

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # The figures page (issue #9) reads each of these from the index alone rather than
    # the wide rows: see register/reports/models.py for which figure reads which.
    with op.batch_alter_table('mentorship_meeting', schema=None) as batch_op:
        batch_op.create_index('ix_mentorship_meeting_figures',
                              ['mentorship_id', 'status', 'starts_at', 'recorded_at',
                               'created_at'], unique=False)
        batch_op.create_index('ix_mentorship_meeting_held',
                              ['status', 'starts_at', 'minutes', 'mentorship_id'],
                              unique=False)
    with op.batch_alter_table('mentorship', schema=None) as batch_op:
        batch_op.create_index('ix_mentorship_started', ['started_at', 'status'], unique=False)
        batch_op.create_index('ix_mentorship_closed', ['closed_at', 'status', 'close_reason'],
                              unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        # PostgreSQL's json has no btree order, so the lists cannot be indexed there.
        with op.batch_alter_table('mentor_profile', schema=None) as batch_op:
            batch_op.create_index('ix_mentor_profile_supply',
                                  ['state', 'knowing', 'contexts', 'sector', 'paused',
                                   'away_until', 'capacity', 'user_id'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('mentor_profile', schema=None) as batch_op:
            batch_op.drop_index('ix_mentor_profile_supply')
    with op.batch_alter_table('mentorship', schema=None) as batch_op:
        batch_op.drop_index('ix_mentorship_closed')
        batch_op.drop_index('ix_mentorship_started')
    with op.batch_alter_table('mentorship_meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_mentorship_meeting_held')
        batch_op.drop_index('ix_mentorship_meeting_figures')
