"""Search: query statistics

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # What mentees search for, per day, without who searched: the coordinators'
    # reports read it. The unique key (leading with the day) also serves the
    # deletion of rows older than twelve months.
    op.create_table(
        'search_query_stat',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('words', sa.Text(), nullable=False),
        sa.Column('filters', sa.Text(), nullable=False),
        sa.Column('searches', sa.Integer(), nullable=False),
        sa.Column('results', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_query_stat')),
        sa.UniqueConstraint('day', 'words', 'filters', name=op.f('uq_search_query_stat_day')),
    )


def downgrade():
    op.drop_table('search_query_stat')
