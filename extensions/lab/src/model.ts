/**
 * What the panel computes from the server extension's answers: states, countdowns,
 * dates in the school's time zone, direction and message language. No JupyterLab
 * imports, so that it is unit-tested with Node's own test runner (test/model.test.ts).
 */

export type PupilState = 'todo' | 'fetched' | 'submitted' | 'late' | 'graded';

export interface Receipt {
  submission_id: string;
  received_at: string;
  sha256: string;
  late: boolean;
  penalty_percent?: number;
}

export interface PupilAssignment {
  course_id: string;
  assignment_id: string;
  due_at: string | null;
  hard_deadline: string | null;
  timezone: string;
  notebooks: string[];
  fetched: boolean;
  path: string;
  submissions: Receipt[];
  feedback: { notebook_id: string; released_at: string; submission_id: string }[];
  /** grading on submit of the latest submission (practice mode), null when off */
  practice?: Practice | null;
}

export interface Practice {
  status: 'queued' | 'grading' | 'graded' | 'failed';
  score: number | null;
  max_score: number | null;
  submission_id: string;
}

/** Whether the grading on submit of this assignment is still running (the panel polls meanwhile). */
export function practicePending(a: PupilAssignment): boolean {
  return !!a.practice && (a.practice.status === 'queued' || a.practice.status === 'grading');
}

export type Messages = { [lang: string]: string };

/** The state shown for an assignment: graded > submitted > late > fetched > to do. */
export function pupilState(a: PupilAssignment, now: Date): PupilState {
  if (a.feedback.length > 0) {
    return 'graded';
  }
  if (a.submissions.length > 0) {
    return 'submitted';
  }
  if (a.due_at && Date.parse(a.due_at) < now.getTime()) {
    return 'late';
  }
  return a.fetched ? 'fetched' : 'todo';
}

/** The latest receipt, or null. */
export function latestReceipt(a: PupilAssignment): Receipt | null {
  if (a.submissions.length === 0) {
    return null;
  }
  return [...a.submissions].sort((x, y) => Date.parse(x.received_at) - Date.parse(y.received_at))[
    a.submissions.length - 1
  ];
}

/** Whether the exchange still accepts a submission (before the hard deadline). */
export function submissionsOpen(a: PupilAssignment, now: Date): boolean {
  return !a.hard_deadline || Date.parse(a.hard_deadline) >= now.getTime();
}

/** The time left (negative: past) in the unit a person would use. */
export function countdown(
  target: string | null,
  now: Date
): { value: number; unit: 'day' | 'hour' | 'minute' } | null {
  if (!target) {
    return null;
  }
  const ms = Date.parse(target) - now.getTime();
  const sign = ms < 0 ? -1 : 1;
  const abs = Math.abs(ms);
  const minutes = Math.floor(abs / 60000);
  if (minutes >= 2 * 24 * 60) {
    return { value: sign * Math.floor(minutes / (24 * 60)), unit: 'day' };
  }
  if (minutes >= 2 * 60) {
    return { value: sign * Math.floor(minutes / 60), unit: 'hour' };
  }
  return { value: sign * minutes, unit: 'minute' };
}

/** A BCP 47 tag from JupyterLab's language code (`fr_FR`, `ar-SA`, `en`, `default`). */
export function bcp47(languageCode: string | undefined | null): string {
  const code = (languageCode || '').replace(/_/g, '-');
  return !code || code === 'default' ? 'en' : code;
}

/** `fr`, `ar` or `en`: the language of a message to show. */
export function shortLang(languageCode: string | undefined | null): string {
  const short = bcp47(languageCode).split('-')[0].toLowerCase();
  return ['fr', 'ar', 'en'].includes(short) ? short : 'en';
}

export function direction(languageCode: string | undefined | null): 'rtl' | 'ltr' {
  return ['ar', 'fa', 'he', 'ur'].includes(bcp47(languageCode).split('-')[0].toLowerCase()) ? 'rtl' : 'ltr';
}

/**
 * A time zone's UTC offsets as the server knows them: `[start (ms since 1970, UTC), minutes
 * ahead of UTC]`, in order, the first one holding before its start too. Browsers' own time
 * zone data may be out of date (Debian's Chromium puts Casablanca at UTC+0 in winter), so the
 * panel writes the school's dates with the server's offsets when it has them.
 */
export interface ZoneRules {
  name: string;
  offsets: [number, number][];
}

const ZONES = new Map<string, ZoneRules>();

/** Use the server's offsets for `zone.name` from now on (an empty list: the browser's own). */
export function setZone(zone: ZoneRules | null | undefined): void {
  if (zone && zone.name && Array.isArray(zone.offsets) && zone.offsets.length) {
    ZONES.set(zone.name, zone);
  }
}

/** The offset (minutes ahead of UTC) of the server's rules for `timeZone` at `utcMs`, or null. */
export function serverOffset(utcMs: number, timeZone: string | undefined): number | null {
  const zone = timeZone ? ZONES.get(timeZone) : undefined;
  if (!zone) {
    return null;
  }
  let minutes = zone.offsets[0][1];
  for (const [start, value] of zone.offsets) {
    if (start > utcMs) {
      break;
    }
    minutes = value;
  }
  return minutes;
}

/** Format an instant on the school's clock: with the server's offsets when known. */
function formatIn(iso: string, languageCode: string, options: Intl.DateTimeFormatOptions, timeZone?: string): string {
  const ms = Date.parse(iso);
  const offset = serverOffset(ms, timeZone);
  if (offset !== null) {
    // the wall clock's fields, written as if in UTC
    return new Intl.DateTimeFormat(bcp47(languageCode), { ...options, timeZone: 'UTC' }).format(
      new Date(ms + offset * 60000)
    );
  }
  try {
    return new Intl.DateTimeFormat(bcp47(languageCode), { ...options, timeZone }).format(new Date(ms));
  } catch {
    return new Intl.DateTimeFormat(bcp47(languageCode), options).format(new Date(ms));
  }
}

/** "dans 3 jours", "منذ ساعتين", "in 5 minutes" … */
export function formatCountdown(target: string | null, now: Date, languageCode: string): string {
  const c = countdown(target, now);
  if (!c) {
    return '';
  }
  return new Intl.RelativeTimeFormat(bcp47(languageCode), { numeric: 'always' }).format(c.value, c.unit);
}

/** A date and time in the school's time zone, written for the language (Gregorian calendar). */
export function formatDate(iso: string | null, languageCode: string, timeZone?: string): string {
  if (!iso) {
    return '';
  }
  const options: Intl.DateTimeFormatOptions = {
    dateStyle: 'full',
    timeStyle: 'short',
    calendar: 'gregory'
  };
  return formatIn(iso, languageCode, options, timeZone);
}

/** The message in the user's language, else French, else any. */
export function pickMessage(messages: Messages | undefined, languageCode: string): string {
  if (!messages) {
    return '';
  }
  return messages[shortLang(languageCode)] || messages.fr || Object.values(messages)[0] || '';
}

export function shortHash(sha: string): string {
  return sha.slice(0, 12);
}

/** A number written for the language (Arabic-Indic digits where the locale uses them). */
export function formatNumber(n: number, languageCode: string): string {
  return new Intl.NumberFormat(bcp47(languageCode)).format(n);
}

/** A short date and time (tables), in the school's time zone. */
export function formatShortDate(iso: string | null, languageCode: string, timeZone?: string): string {
  if (!iso) {
    return '';
  }
  const options: Intl.DateTimeFormatOptions = { dateStyle: 'short', timeStyle: 'short', calendar: 'gregory' };
  return formatIn(iso, languageCode, options, timeZone);
}

export interface Announcement {
  announcement_id: string;
  course_id: string;
  title: string;
  body: string;
  author: string;
  posted_at: string;
  /** the pupil's read state; null for teachers */
  read: boolean | null;
}

export interface Expose {
  expose_id: string;
  course_id: string;
  title: string;
  notebook: string;
  author: string;
  mine: boolean;
  published_at: string;
}

/** How many announcements the pupil has not opened yet. */
export function unreadCount(list: Announcement[] | undefined): number {
  return (list ?? []).filter(a => a.read === false).length;
}

/* ------------------------------------------------------------------ the teacher's deadlines */

const INPUT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** How far `timeZone`'s wall clock is ahead of UTC at the instant `utcMs` (milliseconds). */
function zoneOffset(utcMs: number, timeZone: string): number {
  const known = serverOffset(utcMs, timeZone);
  if (known !== null) {
    return known * 60000;
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find(p => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/**
 * The instant (ISO 8601, UTC) of a date and time typed in a `datetime-local` field
 * (`2026-11-20T18:00`), read as the school's wall clock in `timeZone`; null when malformed.
 */
export function schoolTimeToUtc(value: string, timeZone: string): string | null {
  const m = INPUT.exec((value || '').trim());
  if (!m) {
    return null;
  }
  const [y, mo, d, h, mi, s] = m.slice(1).map(x => Number(x || 0));
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(guess);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59) {
    return null;
  }
  let utc = guess - zoneOffset(guess, timeZone);
  // around a change of clocks the offset at the result may differ from the one at the guess
  utc = guess - zoneOffset(utc, timeZone);
  return new Date(utc).toISOString();
}

/** The `datetime-local` value (`YYYY-MM-DDTHH:MM`) showing an instant on the school's wall clock. */
export function toSchoolInput(iso: string | null, timeZone: string): string {
  if (!iso) {
    return '';
  }
  const ms = Date.parse(iso);
  const wall = new Date(ms + zoneOffset(ms, timeZone));
  return wall.toISOString().slice(0, 16);
}

/** What a teacher would pick by default: one week from now, at 18:00 school time. */
export function defaultDue(now: Date, timeZone: string): string {
  const inAWeek = toSchoolInput(new Date(now.getTime() + 7 * 24 * 3600 * 1000).toISOString(), timeZone);
  return `${inAWeek.slice(0, 10)}T18:00`;
}

export type DeadlineProblem = 'missing-due' | 'bad-due' | 'bad-hard' | 'past-due' | 'past-hard' | 'hard-before-due';

/**
 * Why a due date and an optional hard deadline (typed in school time) cannot be given, or null.
 * The server extension checks the same again; this only spares a round trip.
 */
export function deadlineProblem(due: string, hard: string, now: Date, timeZone: string): DeadlineProblem | null {
  if (!due) {
    return 'missing-due';
  }
  const dueAt = schoolTimeToUtc(due, timeZone);
  if (!dueAt) {
    return 'bad-due';
  }
  const hardAt = hard ? schoolTimeToUtc(hard, timeZone) : null;
  if (hard && !hardAt) {
    return 'bad-hard';
  }
  if (Date.parse(dueAt) <= now.getTime()) {
    return 'past-due';
  }
  if (hardAt && Date.parse(hardAt) <= now.getTime()) {
    return 'past-hard';
  }
  if (hardAt && Date.parse(hardAt) < Date.parse(dueAt)) {
    return 'hard-before-due';
  }
  return null;
}

export interface PupilExtension {
  due_at: string | null;
  hard_deadline: string | null;
  set_by?: string;
  set_at?: string;
}

/** The pupils who have their own deadlines for an assignment, sorted by name. */
export function extendedPupils(pupils: { student: string; extension?: PupilExtension | null }[]): string[] {
  return pupils
    .filter(p => !!p.extension)
    .map(p => p.student)
    .sort();
}
