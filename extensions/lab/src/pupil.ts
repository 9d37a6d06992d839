/** The pupil's view: their courses and assignments, deadline, countdown, state, receipt, actions. */
import { TranslationBundle } from '@jupyterlab/translation';

import {
  formatCountdown,
  formatDate,
  formatNumber,
  latestReceipt,
  Practice,
  pupilState,
  PupilAssignment,
  PupilState,
  shortHash,
  submissionsOpen
} from './model';
import { button, el } from './dom';

export interface PupilCourse {
  course_id: string;
  class: string;
  subject: string;
  assignments: PupilAssignment[];
}

export type PupilAction = 'fetch' | 'submit' | 'feedback' | 'open';

export function stateLabel(state: PupilState, trans: TranslationBundle): string {
  switch (state) {
    case 'todo':
      return trans.__('To do');
    case 'fetched':
      return trans.__('Fetched');
    case 'submitted':
      return trans.__('Submitted');
    case 'late':
      return trans.__('Late');
    case 'graded':
      return trans.__('Graded');
  }
}

/** The practice score of the latest submission, or where its grading stands. */
export function practiceText(p: Practice, trans: TranslationBundle, lang: string): string {
  switch (p.status) {
    case 'queued':
    case 'grading':
      return trans.__('Automatic grading in progress…');
    case 'failed':
      return trans.__('The automatic grading failed; your teacher will grade it.');
    case 'graded':
      return trans.__('%1 / %2', formatNumber(p.score ?? 0, lang), formatNumber(p.max_score ?? 0, lang));
  }
}

/** "My grades": per assignment submitted, its state and the practice score. */
function renderGrades(c: PupilCourse, trans: TranslationBundle, lang: string, now: Date): HTMLElement | null {
  const done = c.assignments.filter(a => a.submissions.length > 0 || a.feedback.length > 0);
  if (done.length === 0) {
    return null;
  }
  const box = el('section', { class: 'jp-Cartable-grades', 'aria-label': trans.__('My grades') });
  box.append(el('h4', {}, trans.__('My grades')));
  const table = el('table', { class: 'jp-Cartable-roster' });
  const head = el('tr');
  for (const h of [trans.__('Assignment'), trans.__('State'), trans.__('Practice score')]) {
    head.append(el('th', { scope: 'col' }, h));
  }
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const a of done) {
    const row = el('tr', { 'data-assignment': a.assignment_id });
    row.append(el('th', { scope: 'row', dir: 'ltr' }, a.assignment_id));
    row.append(el('td', {}, stateLabel(pupilState(a, now), trans)));
    row.append(el('td', { class: 'jp-Cartable-score' }, a.practice ? practiceText(a.practice, trans, lang) : '—'));
    body.append(row);
  }
  table.append(body);
  box.append(table);
  return box;
}

export function renderPupilCourse(
  c: PupilCourse,
  trans: TranslationBundle,
  lang: string,
  now: Date,
  act: (action: PupilAction, a: PupilAssignment) => void
): HTMLElement {
  const section = el('section', { class: 'jp-Cartable-course', 'data-course': c.course_id });
  section.append(el('h3', {}, `${c.subject} — ${c.class}`));
  if (c.assignments.length === 0) {
    section.append(el('p', { class: 'jp-Cartable-empty' }, trans.__('No assignment for now.')));
  }
  for (const a of c.assignments) {
    const state = pupilState(a, now);
    const item = el('article', {
      class: `jp-Cartable-assignment jp-Cartable-state-${state}`,
      'data-assignment': a.assignment_id,
      'data-state': state
    });
    const title = el('h4', {}, el('bdi', { dir: 'ltr' }, a.assignment_id), ' ');
    title.append(el('span', { class: 'jp-Cartable-badge' }, stateLabel(state, trans)));
    item.append(title);
    if (a.due_at) {
      const due = el('p', { class: 'jp-Cartable-deadline' });
      due.append(trans.__('Due %1', formatDate(a.due_at, lang, a.timezone)), ' ');
      due.append(el('span', { class: 'jp-Cartable-countdown', 'data-due': a.due_at }, `(${formatCountdown(a.due_at, now, lang)})`));
      item.append(due);
    }
    if (a.hard_deadline && a.hard_deadline !== a.due_at) {
      item.append(
        el('p', { class: 'jp-Cartable-hard' }, trans.__('Submissions close %1', formatDate(a.hard_deadline, lang, a.timezone)))
      );
    }
    const receipt = latestReceipt(a);
    if (receipt) {
      const p = el('p', { class: 'jp-Cartable-receipt' });
      p.append(
        (receipt.late ? trans.__('Submitted late on %1', formatDate(receipt.received_at, lang, a.timezone)) :
          trans.__('Submitted on %1', formatDate(receipt.received_at, lang, a.timezone))) + ' — ' + trans.__('receipt') + ' '
      );
      p.append(el('code', { dir: 'ltr', title: receipt.sha256, class: 'jp-Cartable-hash' }, `SHA-256 ${shortHash(receipt.sha256)}…`));
      item.append(p);
    }
    if (a.practice) {
      const line = el('p', { class: 'jp-Cartable-score', 'data-status': a.practice.status });
      line.append(
        a.practice.status === 'graded'
          ? trans.__('Practice score: %1', practiceText(a.practice, trans, lang))
          : practiceText(a.practice, trans, lang)
      );
      item.append(line);
    }
    const actions = el('div', { class: 'jp-Cartable-actions' });
    if (!a.fetched) {
      actions.append(button(trans.__('Fetch'), () => act('fetch', a), 'jp-Cartable-fetch'));
    } else {
      actions.append(button(trans.__('Open'), () => act('open', a), 'jp-Cartable-open'));
      if (submissionsOpen(a, now)) {
        actions.append(
          button(receipt ? trans.__('Submit again') : trans.__('Submit'), () => act('submit', a), 'jp-Cartable-submit')
        );
      } else {
        actions.append(el('span', { class: 'jp-Cartable-closed' }, trans.__('Submissions are closed.')));
      }
    }
    if (a.feedback.length > 0) {
      actions.append(button(trans.__('Open feedback'), () => act('feedback', a), 'jp-Cartable-feedback'));
    }
    item.append(actions);
    section.append(item);
  }
  const grades = renderGrades(c, trans, lang, now);
  if (grades) {
    section.append(grades);
  }
  return section;
}
