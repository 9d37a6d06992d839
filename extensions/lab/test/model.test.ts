import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  bcp47,
  countdown,
  direction,
  formatCountdown,
  formatDate,
  formatShortDate,
  latestReceipt,
  pickMessage,
  pupilState,
  submissionsOpen,
  unreadCount,
  practicePending,
  schoolTimeToUtc,
  toSchoolInput,
  defaultDue,
  deadlineProblem,
  extendedPupils,
  setZone,
  serverOffset,
  Announcement,
  PupilAssignment
} from '../src/model';

const NOW = new Date('2026-11-18T12:00:00Z');

function assignment(extra: Partial<PupilAssignment> = {}): PupilAssignment {
  return {
    course_id: 'demo-2026-2bsm1-maths',
    assignment_id: 'ps1',
    due_at: '2026-11-20T17:00:00+00:00',
    hard_deadline: '2026-11-21T07:00:00+00:00',
    timezone: 'Africa/Casablanca',
    notebooks: ['ps1'],
    fetched: false,
    path: 'demo-2026-2bsm1-maths/ps1',
    submissions: [],
    feedback: [],
    ...extra
  };
}

const receipt = (at: string, late = false) => ({ submission_id: at, received_at: at, sha256: 'ab'.repeat(32), late });

test('states follow the cycle: to do, fetched, submitted, graded; late after the due date', () => {
  assert.equal(pupilState(assignment(), NOW), 'todo');
  assert.equal(pupilState(assignment({ fetched: true }), NOW), 'fetched');
  assert.equal(pupilState(assignment({ fetched: true, submissions: [receipt('2026-11-18T10:00:00Z')] }), NOW), 'submitted');
  const feedback = [{ notebook_id: 'ps1', released_at: '2026-11-25T10:00:00Z', submission_id: 'x' }];
  assert.equal(pupilState(assignment({ submissions: [receipt('2026-11-18T10:00:00Z')], feedback }), NOW), 'graded');
  const after = new Date('2026-11-20T17:01:00Z');
  assert.equal(pupilState(assignment({ fetched: true }), after), 'late');
  assert.equal(pupilState(assignment({ submissions: [receipt('2026-11-18T10:00:00Z')] }), after), 'submitted');
});

test('the latest receipt is the last received, whatever the order given', () => {
  const a = assignment({ submissions: [receipt('2026-11-18T11:00:00Z'), receipt('2026-11-18T09:00:00Z')] });
  assert.equal(latestReceipt(a)?.received_at, '2026-11-18T11:00:00Z');
  assert.equal(latestReceipt(assignment()), null);
});

test('submissions close at the hard deadline only', () => {
  assert.ok(submissionsOpen(assignment(), new Date('2026-11-20T18:00:00Z')));
  assert.ok(!submissionsOpen(assignment(), new Date('2026-11-21T07:00:01Z')));
  assert.ok(submissionsOpen(assignment({ hard_deadline: null }), new Date('2030-01-01T00:00:00Z')));
});

test('countdowns use days, then hours, then minutes, negative when past', () => {
  assert.deepEqual(countdown('2026-11-20T17:00:00Z', NOW), { value: 2, unit: 'day' });
  assert.deepEqual(countdown('2026-11-18T15:30:00Z', NOW), { value: 3, unit: 'hour' });
  assert.deepEqual(countdown('2026-11-18T12:45:00Z', NOW), { value: 45, unit: 'minute' });
  assert.deepEqual(countdown('2026-11-15T12:00:00Z', NOW), { value: -3, unit: 'day' });
  assert.equal(countdown(null, NOW), null);
});

test('countdowns and dates are written for the language, in the school time zone', () => {
  assert.equal(formatCountdown('2026-11-20T17:00:00Z', NOW, 'fr_FR'), 'dans 2 jours');
  assert.equal(formatCountdown('2026-11-15T12:00:00Z', NOW, 'en'), '3 days ago');
  assert.match(formatCountdown('2026-11-20T17:00:00Z', NOW, 'ar_SA'), /يوم/);
  // 17:00 UTC is 18:00 in Casablanca (UTC+1)
  const fr = formatDate('2026-11-20T17:00:00Z', 'fr_FR', 'Africa/Casablanca');
  assert.match(fr, /vendredi 20 novembre 2026/);
  assert.match(fr, /18:00/);
  // Arabic: Gregorian calendar (not the Saudi locale's Hijri default), Arabic month name
  const ar = formatDate('2026-11-20T17:00:00Z', 'ar_SA', 'Africa/Casablanca');
  assert.match(ar, /نوفمبر/);
  assert.doesNotMatch(ar, /هـ/);
});

test('direction and language of messages', () => {
  assert.equal(direction('ar_SA'), 'rtl');
  assert.equal(direction('fr-FR'), 'ltr');
  assert.equal(direction('default'), 'ltr');
  assert.equal(bcp47('fr_FR'), 'fr-FR');
  const m = { fr: 'Délai dépassé', ar: 'انتهى الأجل', en: 'Deadline passed' };
  assert.equal(pickMessage(m, 'ar_SA'), 'انتهى الأجل');
  assert.equal(pickMessage(m, 'en'), 'Deadline passed');
  assert.equal(pickMessage({ fr: 'seulement', ar: '', en: '' }, 'ar_SA'), 'seulement');
});

test('short dates for tables', () => {
  assert.equal(formatShortDate('2026-11-20T17:00:00Z', 'fr_FR', 'Africa/Casablanca'), '20/11/2026 18:00');
  assert.equal(formatShortDate(null, 'fr_FR'), '');
});

test('announcements count as unread until the pupil opens them; never for teachers', () => {
  const a = (read: boolean | null): Announcement => ({
    announcement_id: 'x',
    course_id: 'c',
    title: 't',
    body: 'b',
    author: 'be812345',
    posted_at: '2026-11-18T12:00:00+00:00',
    read
  });
  assert.equal(unreadCount([a(false), a(true), a(false)]), 2);
  assert.equal(unreadCount([a(null), a(null)]), 0);
  assert.equal(unreadCount(undefined), 0);
});

test('practice grading is pending while queued or grading, not once graded, failed or off', () => {
  const p = (status: 'queued' | 'grading' | 'graded' | 'failed') => ({ status, score: null, max_score: 3, submission_id: 's' });
  assert.equal(practicePending(assignment({ practice: p('queued') })), true);
  assert.equal(practicePending(assignment({ practice: p('grading') })), true);
  assert.equal(practicePending(assignment({ practice: p('graded') })), false);
  assert.equal(practicePending(assignment({ practice: p('failed') })), false);
  assert.equal(practicePending(assignment({ practice: null })), false);
  assert.equal(practicePending(assignment()), false);
});

test('a date typed by the teacher is the school\'s wall clock, whatever the browser\'s zone', () => {
  // Casablanca: UTC+1 in November; Paris: UTC+1 in winter, UTC+2 in summer; Djibouti: UTC+3
  assert.equal(schoolTimeToUtc('2026-11-20T18:00', 'Africa/Casablanca'), '2026-11-20T17:00:00.000Z');
  assert.equal(schoolTimeToUtc('2026-11-20 18:00', 'Europe/Paris'), '2026-11-20T17:00:00.000Z');
  assert.equal(schoolTimeToUtc('2026-07-01T18:00', 'Europe/Paris'), '2026-07-01T16:00:00.000Z');
  assert.equal(schoolTimeToUtc('2026-11-20T08:30', 'Africa/Djibouti'), '2026-11-20T05:30:00.000Z');
  assert.equal(schoolTimeToUtc('2026-11-20T18:00', 'UTC'), '2026-11-20T18:00:00.000Z');
  // the night the clocks go forward in Paris (02:00 → 03:00): 03:30 is 01:30 UTC
  assert.equal(schoolTimeToUtc('2026-03-29T03:30', 'Europe/Paris'), '2026-03-29T01:30:00.000Z');
  for (const bad of ['', '20/11/2026 18:00', '2026-02-30T10:00', '2026-11-20T25:00', '2026-11-20', 'demain']) {
    assert.equal(schoolTimeToUtc(bad, 'Africa/Casablanca'), null, bad);
  }
});

test('an instant is shown back on the school\'s wall clock; the default is next week at 18:00', () => {
  assert.equal(toSchoolInput('2026-11-20T17:00:00Z', 'Africa/Casablanca'), '2026-11-20T18:00');
  assert.equal(toSchoolInput('2026-07-01T16:00:00+00:00', 'Europe/Paris'), '2026-07-01T18:00');
  assert.equal(toSchoolInput('2026-11-20T22:30:00Z', 'Africa/Djibouti'), '2026-11-21T01:30');
  assert.equal(toSchoolInput(null, 'UTC'), '');
  for (const v of ['2026-11-20T18:00', '2027-04-02T07:45']) {
    assert.equal(toSchoolInput(schoolTimeToUtc(v, 'Europe/Paris'), 'Europe/Paris'), v);
  }
  assert.equal(defaultDue(NOW, 'Africa/Casablanca'), '2026-11-25T18:00');
  assert.equal(defaultDue(new Date('2026-11-18T22:30:00Z'), 'Africa/Djibouti'), '2026-11-26T18:00');
});

test('deadlines are checked before asking the server', () => {
  const tz = 'Africa/Casablanca';
  assert.equal(deadlineProblem('2026-11-20T18:00', '', NOW, tz), null);
  assert.equal(deadlineProblem('2026-11-20T18:00', '2026-11-21T08:00', NOW, tz), null);
  assert.equal(deadlineProblem('2026-11-20T18:00', '2026-11-20T18:00', NOW, tz), null);
  assert.equal(deadlineProblem('', '', NOW, tz), 'missing-due');
  assert.equal(deadlineProblem('2026-13-01T18:00', '', NOW, tz), 'bad-due');
  assert.equal(deadlineProblem('2026-11-20T18:00', 'lundi', NOW, tz), 'bad-hard');
  assert.equal(deadlineProblem('2026-11-18T12:30', '', NOW, tz), 'past-due'); // 11:30 UTC, before NOW
  assert.equal(deadlineProblem('2026-11-18T13:30', '', NOW, tz), null); // 12:30 UTC, after NOW
  assert.equal(deadlineProblem('2026-11-20T18:00', '2026-11-17T08:00', NOW, tz), 'past-hard');
  assert.equal(deadlineProblem('2026-11-20T18:00', '2026-11-20T17:59', NOW, tz), 'hard-before-due');
});

test('the pupils with their own deadlines', () => {
  const ext = { due_at: '2026-11-22T17:00:00Z', hard_deadline: null };
  assert.deepEqual(
    extendedPupils([
      { student: 'zz1', extension: ext },
      { student: 'aa2', extension: null },
      { student: 'bb3', extension: ext },
      { student: 'cc4' }
    ]),
    ['bb3', 'zz1']
  );
  assert.deepEqual(extendedPupils([]), []);
});

test('the server\'s time zone rules win over the browser\'s (out-of-date data)', () => {
  // a made-up zone, so that the browser's own data cannot answer: UTC+1, UTC+0 for a month
  const start = Date.parse('2026-01-01T00:00:00Z');
  const rules = {
    name: 'Etc/Cartable-Test',
    offsets: [
      [start, 60],
      [Date.parse('2026-02-18T02:00:00Z'), 0],
      [Date.parse('2026-03-22T02:00:00Z'), 60]
    ] as [number, number][]
  };
  assert.equal(serverOffset(Date.parse('2026-11-20T17:00:00Z'), rules.name), null);
  setZone(rules);
  assert.equal(serverOffset(Date.parse('2025-06-01T00:00:00Z'), rules.name), 60); // before the first: the first
  assert.equal(serverOffset(Date.parse('2026-03-01T00:00:00Z'), rules.name), 0);
  assert.equal(serverOffset(Date.parse('2026-11-20T17:00:00Z'), rules.name), 60);
  assert.equal(serverOffset(Date.parse('2026-11-20T17:00:00Z'), 'Europe/Paris'), null);
  assert.equal(schoolTimeToUtc('2026-11-20T18:00', rules.name), '2026-11-20T17:00:00.000Z');
  assert.equal(schoolTimeToUtc('2026-03-01T18:00', rules.name), '2026-03-01T18:00:00.000Z');
  assert.equal(toSchoolInput('2026-11-20T17:00:00Z', rules.name), '2026-11-20T18:00');
  assert.match(formatDate('2026-11-20T17:00:00Z', 'fr-FR', rules.name), /^vendredi 20 novembre 2026 (à )?18:00$/);
  assert.match(formatShortDate('2026-03-01T17:00:00Z', 'fr-FR', rules.name), /^01\/03\/2026 17:00$/);
  setZone({ name: 'Etc/Other', offsets: [] }); // nothing known: ignored
  assert.equal(serverOffset(0, 'Etc/Other'), null);
});
