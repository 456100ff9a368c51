"""Mentorships: agreements, meetings, check-ins, evaluations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _mentorship_fk():
    return sa.ForeignKey('mentorship.id', ondelete='CASCADE')


def upgrade():
    with op.batch_alter_table('mentorship', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_mentorship_closed_by_id_user', 'user',
                                    ['closed_by_id'], ['id'], ondelete='SET NULL')

    # Emails may carry attachments (a meeting's .ics): a list of
    # {filename, content_type, data} kept with the row until it is sent.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=True))

    op.create_table(
        'mentorship_agreement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentorship_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('goals', sa.JSON(), nullable=False),
        sa.Column('knowing', sa.JSON(), nullable=False),
        sa.Column('frequency', sa.String(length=20), nullable=False),
        sa.Column('duration', sa.String(length=10), nullable=False),
        sa.Column('meeting_minutes', sa.Integer(), nullable=False),
        sa.Column('formats', sa.JSON(), nullable=False),
        sa.Column('confidentiality', sa.Text(), nullable=False),
        sa.Column('review_on', sa.Date(), nullable=True),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.Column('proposed_at', sa.DateTime(), nullable=False),
        sa.Column('agreed_by_id', sa.Integer(), nullable=True),
        sa.Column('agreed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                name='fk_mentorship_agreement_mentorship_id_mentorship',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['user.id'],
                                name='fk_mentorship_agreement_proposed_by_id_user',
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['agreed_by_id'], ['user.id'],
                                name='fk_mentorship_agreement_agreed_by_id_user',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_agreement'),
    )
    op.create_index('ix_mentorship_agreement_mentorship_status', 'mentorship_agreement',
                    ['mentorship_id', 'status'])

    op.create_table(
        'mentorship_meeting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentorship_id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=80), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('format', sa.String(length=20), nullable=False),
        sa.Column('place', sa.Text(), nullable=False),
        sa.Column('agenda_goals', sa.JSON(), nullable=False),
        sa.Column('agenda', sa.Text(), nullable=False),
        sa.Column('planned_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('actions', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                name='fk_mentorship_meeting_mentorship_id_mentorship',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['planned_by_id'], ['user.id'],
                                name='fk_mentorship_meeting_planned_by_id_user',
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'],
                                name='fk_mentorship_meeting_recorded_by_id_user',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_meeting'),
        sa.UniqueConstraint('uid', name='uq_mentorship_meeting_uid'),
    )
    op.create_index('ix_mentorship_meeting_mentorship_starts', 'mentorship_meeting',
                    ['mentorship_id', 'starts_at'])

    op.create_table(
        'mentorship_private_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentorship_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                name='fk_mentorship_private_note_mentorship_id_mentorship',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['user.id'],
                                name='fk_mentorship_private_note_author_id_user',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['meeting_id'], ['mentorship_meeting.id'],
                                name='fk_mentorship_private_note_meeting_id_mentorship_meeting',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_private_note'),
    )
    op.create_index('ix_mentorship_private_note_mentorship_author', 'mentorship_private_note',
                    ['mentorship_id', 'author_id'])

    op.create_table(
        'mentorship_reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentorship_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=40), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                name='fk_mentorship_reminder_mentorship_id_mentorship',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_reminder'),
        sa.UniqueConstraint('mentorship_id', 'step', name='uq_mentorship_reminder_mentorship_id'),
    )

    op.create_table(
        'mentorship_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentorship_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('step', sa.String(length=40), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('answer', sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                name='fk_mentorship_link_mentorship_id_mentorship',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name='fk_mentorship_link_user_id_user', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_link'),
        sa.UniqueConstraint('secret_hash', name='uq_mentorship_link_secret_hash'),
    )
    op.create_index('ix_mentorship_link_mentorship_user', 'mentorship_link',
                    ['mentorship_id', 'user_id'])

    for table in ('mentorship_reflection', 'mentorship_evaluation'):
        columns = {
            'mentorship_reflection': [
                sa.Column('learned', sa.Text(), nullable=False),
                sa.Column('differently', sa.Text(), nullable=False),
                sa.Column('next_need', sa.Text(), nullable=False),
                sa.Column('who_else', sa.Text(), nullable=False),
                sa.Column('updated_at', sa.DateTime(), nullable=False),
            ],
            'mentorship_evaluation': [
                sa.Column('role', sa.String(length=10), nullable=False),
                sa.Column('usefulness', sa.Integer(), nullable=False),
                sa.Column('would_recommend', sa.Boolean(), nullable=False),
                sa.Column('goals_met', sa.Integer(), nullable=False),
                sa.Column('what_changed', sa.Text(), nullable=False),
                sa.Column('mentor_gained', sa.Text(), nullable=False),
                sa.Column('created_at', sa.DateTime(), nullable=False),
            ],
        }[table]
        # An evaluation outlives its author's account, for the figures.
        on_user_delete = 'SET NULL' if table == 'mentorship_evaluation' else 'CASCADE'
        op.create_table(
            table,
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('mentorship_id', sa.Integer(), nullable=False),
            sa.Column('user_id', sa.Integer(), nullable=table == 'mentorship_evaluation'),
            *columns,
            sa.ForeignKeyConstraint(['mentorship_id'], ['mentorship.id'],
                                    name=f'fk_{table}_mentorship_id_mentorship',
                                    ondelete='CASCADE'),
            sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=f'fk_{table}_user_id_user',
                                    ondelete=on_user_delete),
            sa.PrimaryKeyConstraint('id', name=f'pk_{table}'),
            sa.UniqueConstraint('mentorship_id', 'user_id', name=f'uq_{table}_mentorship_id'),
        )

    op.create_table(
        'mentorship_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('confidentiality_default', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'],
                                name='fk_mentorship_settings_updated_by_id_user',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_mentorship_settings'),
    )


def downgrade():
    op.drop_table('mentorship_settings')
    op.drop_table('mentorship_evaluation')
    op.drop_table('mentorship_reflection')
    op.drop_index('ix_mentorship_link_mentorship_user', table_name='mentorship_link')
    op.drop_table('mentorship_link')
    op.drop_table('mentorship_reminder')
    op.drop_index('ix_mentorship_private_note_mentorship_author',
                  table_name='mentorship_private_note')
    op.drop_table('mentorship_private_note')
    op.drop_index('ix_mentorship_meeting_mentorship_starts', table_name='mentorship_meeting')
    op.drop_table('mentorship_meeting')
    op.drop_index('ix_mentorship_agreement_mentorship_status', table_name='mentorship_agreement')
    op.drop_table('mentorship_agreement')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('attachments')
    with op.batch_alter_table('mentorship', schema=None) as batch_op:
        batch_op.drop_constraint('fk_mentorship_closed_by_id_user', type_='foreignkey')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('close_note')
