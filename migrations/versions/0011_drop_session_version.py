"""Accounts: drop user.session_version, which server-side sessions replaced

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Sessions are rows of their own (0005) and end there; this counter was still
    # written on each password change but nothing read it.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='1'))
