"""Coordinators: mentee objectives, proposed matches, search statistics

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mentee_objectives',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('objectives', sa.JSON(), nullable=False),
        sa.Column('knowing', sa.JSON(), nullable=False),
        sa.Column('contexts', sa.JSON(), nullable=False),
        sa.Column('development_areas', sa.JSON(), nullable=False),
        sa.Column('formats', sa.JSON(), nullable=False),
        sa.Column('sector', sa.String(length=20), nullable=False),
        sa.Column('location', sa.String(length=120), nullable=False),
        sa.Column('welcome_in_training', sa.Boolean(), nullable=False),
        sa.Column('facilitated', sa.Boolean(), nullable=False),
        sa.Column('waiting_since', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_mentee_objectives_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mentee_objectives')),
        sa.UniqueConstraint('user_id', name=op.f('uq_mentee_objectives_user_id')),
    )
    with op.batch_alter_table('mentee_objectives', schema=None) as batch_op:
        batch_op.create_index('ix_mentee_objectives_waiting', ['facilitated', 'waiting_since'],
                              unique=False)

    op.create_table(
        'report_request_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_report_request_day')),
    )

    with op.batch_alter_table('intro_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('proposal_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_intro_request_proposed_by_id_user'), 'user',
                                    ['proposed_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(op.f('ix_intro_request_proposed_by_id'), ['proposed_by_id'],
                              unique=False)
        # The figures read a period's requests from these indexes alone, not the wide
        # rows (see IntroRequest.__table_args__).
        batch_op.create_index('ix_intro_request_figures',
                              ['created_at', 'state', 'decline_reason', 'answered_at',
                               'closed_note', 'profile_id'], unique=False)
        if op.get_bind().dialect.name == 'sqlite':
            batch_op.create_index('ix_intro_request_asked',
                                  ['created_at', 'profile_id', 'knowing', 'contexts'],
                                  unique=False)


def downgrade():
    with op.batch_alter_table('intro_request', schema=None) as batch_op:
        if op.get_bind().dialect.name == 'sqlite':
            batch_op.drop_index('ix_intro_request_asked')
        batch_op.drop_index('ix_intro_request_figures')
        batch_op.drop_index(op.f('ix_intro_request_proposed_by_id'))
        batch_op.drop_constraint(op.f('fk_intro_request_proposed_by_id_user'),
                                 type_='foreignkey')
        batch_op.drop_column('proposal_note')
        batch_op.drop_column('proposed_by_id')

    op.drop_table('report_request_day')
    with op.batch_alter_table('mentee_objectives', schema=None) as batch_op:
        batch_op.drop_index('ix_mentee_objectives_waiting')
    op.drop_table('mentee_objectives')
