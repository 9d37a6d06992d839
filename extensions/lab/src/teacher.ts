/**
 * The teacher's view: courses, release with a deadline picker, who fetched and submitted (and
 * who has an extension), per-pupil extensions, collect, autograde with progress, return
 * feedback, formgrader. Dates are typed on the school's wall clock (its time zone, given by
 * the server) and shown back written out in the user's language.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { field } from './classroom';
import { button, el } from './dom';
import {
  defaultDue,
  formatCountdown,
  formatDate,
  formatNumber,
  formatShortDate,
  PupilExtension,
  schoolTimeToUtc,
  toSchoolInput
} from './model';

export interface TeacherAssignment {
  assignment_id: string;
  due_at: string | null;
  hard_deadline: string | null;
  timezone: string;
  pupils: {
    student: string;
    fetched: boolean;
    submissions: number;
    last_received_at: string | null;
    late: boolean;
    extension?: PupilExtension | null;
  }[];
  set_up: boolean;
  collected: string[];
  graded: string[];
  feedback_returned?: string[];
  autograde: { running: boolean; returncode: number | null; log?: string } | null;
}

export interface TeacherCourse {
  course_id: string;
  class: string;
  subject: string;
  pupils: string[];
  timezone?: string;
  sources?: { name: string; released: boolean }[];
  assignments: TeacherAssignment[];
}

/** What the release and extension forms send (dates as typed: school time, `YYYY-MM-DDTHH:MM`). */
export interface DeadlineForm {
  due: string;
  hard_deadline: string;
  practice?: boolean;
  student?: string;
}

export type TeacherAction = 'collect' | 'autograde' | 'formgrader' | 'release' | 'extend' | 'feedback';

export type TeacherAct = (
  action: TeacherAction,
  course: string,
  assignment?: string,
  form?: DeadlineForm
) => Promise<boolean> | void;

function datetimeInput(name: string, value = '', required = false): HTMLInputElement {
  const input = el('input', { type: 'datetime-local', name, dir: 'ltr' }) as HTMLInputElement;
  input.value = value;
  input.required = required;
  return input;
}

/** "vendredi 20 novembre 2026 à 18:00": what the typed date means, written out (or nothing). */
function preview(input: HTMLInputElement, out: HTMLElement, lang: string, timezone: string): void {
  const show = () => {
    const iso = schoolTimeToUtc(input.value, timezone);
    out.textContent = iso ? formatDate(iso, lang, timezone) : '';
  };
  input.addEventListener('input', show);
  input.addEventListener('change', show);
  show();
}

function deadlineFields(
  trans: TranslationBundle,
  lang: string,
  timezone: string,
  due: string,
  hard: string
): { due: HTMLInputElement; hard: HTMLInputElement; nodes: HTMLElement[] } {
  const dueInput = datetimeInput('due', due, true);
  const hardInput = datetimeInput('hard_deadline', hard);
  const duePreview = el('span', { class: 'jp-Cartable-meta jp-Cartable-preview' });
  const hardPreview = el('span', { class: 'jp-Cartable-meta jp-Cartable-preview' });
  preview(dueInput, duePreview, lang, timezone);
  preview(hardInput, hardPreview, lang, timezone);
  const dueField = field(trans.__('Due date (school time, %1)', timezone), dueInput);
  dueField.append(duePreview);
  const hardField = field(trans.__('Hard deadline, optional: no submission after it'), hardInput);
  hardField.append(hardPreview);
  return { due: dueInput, hard: hardInput, nodes: [dueField, hardField] };
}

function renderRelease(
  c: TeacherCourse,
  trans: TranslationBundle,
  lang: string,
  now: Date,
  act: TeacherAct
): HTMLElement {
  const timezone = c.timezone || c.assignments[0]?.timezone || 'UTC';
  const sources = c.sources ?? [];
  const box = el('section', { class: 'jp-Cartable-release', 'aria-label': trans.__('Release an assignment') });
  box.append(el('h4', {}, trans.__('Release an assignment')));
  if (sources.length === 0) {
    box.append(
      el(
        'p',
        { class: 'jp-Cartable-empty' },
        trans.__('No assignment in the source folder of this course (%1).', `cartable/${c.course_id}/source/`)
      )
    );
    return box;
  }
  const form = el('form', { class: 'jp-Cartable-form jp-Cartable-release-form' }) as HTMLFormElement;
  const select = el('select', { name: 'assignment', dir: 'ltr' }) as HTMLSelectElement;
  for (const s of sources) {
    const label = s.released ? trans.__('%1 (released: release again)', s.name) : s.name;
    select.append(el('option', { value: s.name }, label));
  }
  const first = sources.find(s => !s.released) ?? sources[0];
  select.value = first.name;
  const dates = deadlineFields(trans, lang, timezone, defaultDue(now, timezone), '');
  const practice = el('input', { type: 'checkbox', name: 'practice' }) as HTMLInputElement;
  const practiceId = `cartable-practice-${c.course_id}`;
  practice.id = practiceId;
  const practiceField = el(
    'div',
    { class: 'jp-Cartable-check' },
    practice,
    el('label', { for: practiceId }, trans.__('Practice mode: each submission is graded at once'))
  );
  form.append(
    field(trans.__('Assignment'), select),
    ...dates.nodes,
    practiceField,
    el('button', { type: 'submit', class: 'jp-Button jp-mod-styled jp-Cartable-button' }, trans.__('Release'))
  );
  form.addEventListener('submit', event => {
    event.preventDefault();
    void act('release', c.course_id, select.value, {
      due: dates.due.value,
      hard_deadline: dates.hard.value,
      practice: practice.checked
    });
  });
  box.append(form);
  return box;
}

function renderExtension(
  c: TeacherCourse,
  a: TeacherAssignment,
  trans: TranslationBundle,
  lang: string,
  act: TeacherAct
): HTMLElement {
  const details = el('details', { class: 'jp-Cartable-extension' });
  details.append(el('summary', {}, trans.__('Give a pupil more time')));
  const form = el('form', { class: 'jp-Cartable-form jp-Cartable-extend-form' }) as HTMLFormElement;
  const select = el('select', { name: 'student', dir: 'ltr' }) as HTMLSelectElement;
  for (const p of a.pupils) {
    select.append(el('option', { value: p.student }, p.student));
  }
  // start from the assignment's own deadline, one day later
  const base = a.due_at ? new Date(Math.max(Date.parse(a.due_at), Date.now()) + 24 * 3600 * 1000).toISOString() : null;
  const dates = deadlineFields(trans, lang, a.timezone, toSchoolInput(base, a.timezone), '');
  form.append(
    field(trans.__('Pupil'), select),
    ...dates.nodes,
    el('button', { type: 'submit', class: 'jp-Button jp-mod-styled jp-Cartable-button' }, trans.__('Grant the extension'))
  );
  form.addEventListener('submit', event => {
    event.preventDefault();
    void act('extend', c.course_id, a.assignment_id, {
      student: select.value,
      due: dates.due.value,
      hard_deadline: dates.hard.value
    });
  });
  details.append(form);
  return details;
}

export function renderTeacherCourse(
  c: TeacherCourse,
  trans: TranslationBundle,
  lang: string,
  now: Date,
  act: TeacherAct
): HTMLElement {
  const section = el('section', { class: 'jp-Cartable-course', 'data-course': c.course_id });
  section.append(el('h3', {}, `${c.subject} — ${c.class}`));
  const formgrader = button(trans.__('Open the formgrader'), () => void act('formgrader', c.course_id));
  section.append(formgrader);
  section.append(renderRelease(c, trans, lang, now, act));
  if (c.assignments.length === 0) {
    section.append(el('p', { class: 'jp-Cartable-empty' }, trans.__('No assignment released in this class yet.')));
  }
  for (const a of c.assignments) {
    const item = el('article', { class: 'jp-Cartable-assignment', 'data-assignment': a.assignment_id });
    item.append(el('h4', { dir: 'ltr' }, a.assignment_id));
    if (a.due_at) {
      item.append(
        el(
          'p',
          { class: 'jp-Cartable-deadline' },
          trans.__('Due %1 (%2)', formatDate(a.due_at, lang, a.timezone), formatCountdown(a.due_at, now, lang))
        )
      );
    }
    if (a.hard_deadline) {
      item.append(
        el(
          'p',
          { class: 'jp-Cartable-deadline jp-Cartable-hard' },
          trans.__('Submissions close %1', formatDate(a.hard_deadline, lang, a.timezone))
        )
      );
    }
    const n = a.pupils.length;
    const fetched = a.pupils.filter(p => p.fetched).length;
    const submitted = a.pupils.filter(p => p.submissions > 0).length;
    item.append(
      el(
        'p',
        { class: 'jp-Cartable-counts' },
        trans.__(
          'Fetched: %1 of %2 · Submitted: %3 of %4 · Collected: %5',
          ...[fetched, n, submitted, n, a.collected.length].map(x => formatNumber(x, lang))
        )
      )
    );
    const table = el('table', { class: 'jp-Cartable-roster' });
    table.append(el('caption', { class: 'jp-Cartable-sr' }, trans.__('Pupils and their work on %1', a.assignment_id)));
    const head = el('tr');
    for (const h of [trans.__('Pupil'), trans.__('Fetched'), trans.__('Submitted'), trans.__('Own deadline')]) {
      head.append(el('th', { scope: 'col' }, h));
    }
    table.append(el('thead', {}, head));
    const body = el('tbody');
    for (const p of a.pupils) {
      const row = el('tr', { 'data-pupil': p.student, 'data-extended': p.extension ? 'true' : 'false' });
      row.append(el('th', { scope: 'row', dir: 'ltr' }, p.student));
      row.append(el('td', {}, p.fetched ? trans.__('yes') : trans.__('no')));
      const sub = p.submissions
        ? p.late
          ? trans.__('yes, late (%1)', formatShortDate(p.last_received_at, lang, a.timezone))
          : trans.__('yes (%1)', formatShortDate(p.last_received_at, lang, a.timezone))
        : trans.__('no');
      row.append(el('td', {}, sub));
      const ext = p.extension;
      row.append(
        el(
          'td',
          { class: 'jp-Cartable-own-deadline' },
          ext?.due_at ? trans.__('until %1', formatShortDate(ext.due_at, lang, a.timezone)) : '—'
        )
      );
      body.append(row);
    }
    table.append(body);
    item.append(table);
    item.append(renderExtension(c, a, trans, lang, act));
    const total = a.collected.length;
    if (a.autograde || a.graded.length) {
      const progress = el('progress', {
        class: 'jp-Cartable-progress',
        max: String(Math.max(total, 1)),
        value: String(a.graded.length),
        'aria-label': trans.__('Autograding progress')
      });
      item.append(progress);
      let text = trans.__('Graded: %1 of %2', formatNumber(a.graded.length, lang), formatNumber(total, lang));
      if (a.autograde?.running) {
        text += ' — ' + trans.__('autograding…');
      } else if (a.autograde && a.autograde.returncode !== 0) {
        text += ' — ' + trans.__('autograding failed');
      }
      item.append(el('p', { class: 'jp-Cartable-graded', role: 'status' }, text));
    }
    const returned = a.feedback_returned ?? [];
    if (returned.length) {
      item.append(
        el(
          'p',
          { class: 'jp-Cartable-returned' },
          trans.__('Feedback returned to %1 of %2 pupils', formatNumber(returned.length, lang), formatNumber(n, lang))
        )
      );
    }
    const actions = el('div', { class: 'jp-Cartable-actions' });
    actions.append(button(trans.__('Collect'), () => void act('collect', c.course_id, a.assignment_id)));
    const grade = button(trans.__('Autograde'), () => void act('autograde', c.course_id, a.assignment_id));
    grade.disabled = total === 0 || !!a.autograde?.running;
    actions.append(grade);
    const feedback = button(
      trans.__('Return feedback'),
      () => void act('feedback', c.course_id, a.assignment_id),
      'jp-Cartable-return'
    );
    feedback.disabled = a.graded.length === 0 || !!a.autograde?.running;
    actions.append(feedback);
    item.append(actions);
    section.append(item);
  }
  return section;
}
