"""the tables of the first release: people, classes, teaching, inspection, roster imports and the exchange

Revision ID: 0001
Revises: (none)

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Every table of the first release; a database that release made (tables created without
    Alembic, perhaps without the exchange's) gets the ones it lacks, and nothing else changes."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'cartable_class' not in existing:
        op.create_table('cartable_class',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school', sa.String(length=32), nullable=False),
        sa.Column('year', sa.String(length=9), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('level', sa.String(length=100), nullable=True),
        sa.Column('stream', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school', 'year', 'code')
        )
    if 'cartable_exchange_announcement' not in existing:
        op.create_table('cartable_exchange_announcement',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('posted_at', sa.DateTime(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('cartable_exchange_announcement', schema=None) as batch_op:
            batch_op.create_index('ix_cartable_exchange_announcement_course', ['course_id', 'posted_at'], unique=False)

    if 'cartable_exchange_announcement_read' not in existing:
        op.create_table('cartable_exchange_announcement_read',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('announcement_id', sa.String(length=32), nullable=False),
        sa.Column('reader', sa.String(length=64), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('announcement_id', 'reader')
        )
        with op.batch_alter_table('cartable_exchange_announcement_read', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_cartable_exchange_announcement_read_announcement_id'), ['announcement_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_cartable_exchange_announcement_read_reader'), ['reader'], unique=False)

    if 'cartable_exchange_assignment' not in existing:
        op.create_table('cartable_exchange_assignment',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('manifest', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('hard_at', sa.DateTime(), nullable=True),
        sa.Column('penalty_per_day', sa.Float(), nullable=False),
        sa.Column('released_by', sa.String(length=64), nullable=False),
        sa.Column('released_at', sa.DateTime(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('course_id', 'name')
        )
        with op.batch_alter_table('cartable_exchange_assignment', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_cartable_exchange_assignment_course_id'), ['course_id'], unique=False)

    if 'cartable_exchange_audit' not in existing:
        op.create_table('cartable_exchange_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=True),
        sa.Column('assignment', sa.String(length=128), nullable=True),
        sa.Column('target', sa.String(length=64), nullable=True),
        sa.Column('digest', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('cartable_exchange_audit', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_cartable_exchange_audit_at'), ['at'], unique=False)
            batch_op.create_index(batch_op.f('ix_cartable_exchange_audit_course_id'), ['course_id'], unique=False)

    if 'cartable_exchange_expose' not in existing:
        op.create_table('cartable_exchange_expose',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('notebook', sa.String(length=400), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
        sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('cartable_exchange_expose', schema=None) as batch_op:
            batch_op.create_index('ix_cartable_exchange_expose_course', ['course_id', 'published_at'], unique=False)

    if 'cartable_exchange_extension' not in existing:
        op.create_table('cartable_exchange_extension',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('assignment', sa.String(length=128), nullable=False),
        sa.Column('student', sa.String(length=64), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('hard_at', sa.DateTime(), nullable=True),
        sa.Column('set_by', sa.String(length=64), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('course_id', 'assignment', 'student')
        )
    if 'cartable_exchange_feedback' not in existing:
        op.create_table('cartable_exchange_feedback',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('submission_id', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('assignment', sa.String(length=128), nullable=False),
        sa.Column('student', sa.String(length=64), nullable=False),
        sa.Column('notebook', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('released_by', sa.String(length=64), nullable=False),
        sa.Column('released_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('submission_id', 'notebook')
        )
        with op.batch_alter_table('cartable_exchange_feedback', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_cartable_exchange_feedback_student'), ['student'], unique=False)
            batch_op.create_index(batch_op.f('ix_cartable_exchange_feedback_submission_id'), ['submission_id'], unique=False)

    if 'cartable_exchange_submission' not in existing:
        op.create_table('cartable_exchange_submission',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('course_id', sa.String(length=128), nullable=False),
        sa.Column('assignment', sa.String(length=128), nullable=False),
        sa.Column('student', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('manifest', sa.Text(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('files', sa.Integer(), nullable=False),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('late_seconds', sa.Integer(), nullable=False),
        sa.Column('penalty_percent', sa.Float(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('cartable_exchange_submission', schema=None) as batch_op:
            batch_op.create_index('ix_cartable_exchange_submission_cas', ['course_id', 'assignment', 'student'], unique=False)

    if 'cartable_person' not in existing:
        op.create_table('cartable_person',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('national_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('school', sa.String(length=32), nullable=False),
        sa.Column('last_name', sa.String(length=200), nullable=False),
        sa.Column('first_name', sa.String(length=200), nullable=False),
        sa.Column('last_name_ar', sa.String(length=200), nullable=True),
        sa.Column('first_name_ar', sa.String(length=200), nullable=True),
        sa.Column('birth_date', sa.String(length=10), nullable=True),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('language', sa.String(length=5), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('last_year', sa.String(length=9), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username')
        )
        with op.batch_alter_table('cartable_person', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_cartable_person_school'), ['school'], unique=False)

    if 'cartable_roster_import' not in existing:
        op.create_table('cartable_roster_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school', sa.String(length=32), nullable=False),
        sa.Column('year', sa.String(length=9), nullable=False),
        sa.Column('filename', sa.String(length=500), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('summary', sa.String(length=2000), nullable=False),
        sa.Column('applied_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
    if 'cartable_credential' not in existing:
        op.create_table('cartable_credential',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('must_change', sa.Boolean(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('password_set_at', sa.DateTime(), nullable=False),
        sa.Column('last_login', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['username'], ['cartable_person.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('username')
        )
    if 'cartable_enrollment' not in existing:
        op.create_table('cartable_enrollment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['class_id'], ['cartable_class.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['username'], ['cartable_person.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', 'class_id')
        )
    if 'cartable_inspection' not in existing:
        op.create_table('cartable_inspection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('school', sa.String(length=32), nullable=False),
        sa.Column('year', sa.String(length=9), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['username'], ['cartable_person.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', 'school', 'year', 'subject')
        )
    if 'cartable_teaching' not in existing:
        op.create_table('cartable_teaching',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('class_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['class_id'], ['cartable_class.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['username'], ['cartable_person.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username', 'class_id', 'subject')
        )


def downgrade() -> None:
    """Drop every table of Cartable (the Hub's stay)."""
    op.drop_table('cartable_teaching')
    op.drop_table('cartable_inspection')
    op.drop_table('cartable_enrollment')
    op.drop_table('cartable_credential')
    op.drop_table('cartable_roster_import')
    with op.batch_alter_table('cartable_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cartable_person_school'))

    op.drop_table('cartable_person')
    with op.batch_alter_table('cartable_exchange_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_cartable_exchange_submission_cas')

    op.drop_table('cartable_exchange_submission')
    with op.batch_alter_table('cartable_exchange_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_feedback_submission_id'))
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_feedback_student'))

    op.drop_table('cartable_exchange_feedback')
    op.drop_table('cartable_exchange_extension')
    with op.batch_alter_table('cartable_exchange_expose', schema=None) as batch_op:
        batch_op.drop_index('ix_cartable_exchange_expose_course')

    op.drop_table('cartable_exchange_expose')
    with op.batch_alter_table('cartable_exchange_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_audit_course_id'))
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_audit_at'))

    op.drop_table('cartable_exchange_audit')
    with op.batch_alter_table('cartable_exchange_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_assignment_course_id'))

    op.drop_table('cartable_exchange_assignment')
    with op.batch_alter_table('cartable_exchange_announcement_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_announcement_read_reader'))
        batch_op.drop_index(batch_op.f('ix_cartable_exchange_announcement_read_announcement_id'))

    op.drop_table('cartable_exchange_announcement_read')
    with op.batch_alter_table('cartable_exchange_announcement', schema=None) as batch_op:
        batch_op.drop_index('ix_cartable_exchange_announcement_course')

    op.drop_table('cartable_exchange_announcement')
    op.drop_table('cartable_class')
