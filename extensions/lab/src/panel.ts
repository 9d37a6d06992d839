/** « Mon cartable »: the side panel. Renders the server extension's overview; laid out right-to-left in Arabic. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { PanelError, requestAPI } from './api';
import { ClassHandlers, ClassSpace, renderAnnouncements, renderExposes } from './classroom';
import { button, el } from './dom';
import {
  Announcement,
  bcp47,
  deadlineProblem,
  DeadlineProblem,
  direction,
  Expose,
  formatCountdown,
  formatDate,
  formatNumber,
  pickMessage,
  practicePending,
  PupilAssignment,
  setZone,
  ZoneRules
} from './model';
import { PupilAction, PupilCourse, renderPupilCourse } from './pupil';
import { DeadlineForm, renderTeacherCourse, TeacherAction, TeacherCourse } from './teacher';

export const DOMAIN = 'cartable_lab';

interface Overview {
  role: string;
  user: string;
  zone?: ZoneRules;
  courses: (PupilCourse | TeacherCourse)[];
}

export class CartablePanel extends Widget {
  private trans: TranslationBundle;
  private lang: string;
  private body: HTMLElement;
  private status: HTMLElement;
  private data: Overview | null = null;
  private timer: number | undefined;
  private poll: number | undefined;
  private busy = false;

  constructor(
    translator: ITranslator,
    private commands: CommandRegistry,
    private currentPath: () => string = () => ''
  ) {
    super();
    this.trans = translator.load(DOMAIN);
    this.lang = bcp47(translator.languageCode);
    this.id = 'cartable-panel';
    this.addClass('jp-CartablePanel');
    this.title.caption = this.trans.__('My schoolbag');
    this.node.setAttribute('dir', direction(this.lang));
    this.node.setAttribute('lang', this.lang);
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this.trans.__('My schoolbag'));
    const header = el('header', { class: 'jp-Cartable-header' }, el('h2', {}, this.trans.__('My schoolbag')));
    header.append(button(this.trans.__('Refresh'), () => void this.refresh(), 'jp-Cartable-refresh'));
    this.status = el('div', { class: 'jp-Cartable-status', role: 'status', 'aria-live': 'polite' });
    this.body = el('div', { class: 'jp-Cartable-body' });
    this.node.append(header, this.status, this.body);
  }

  protected onAfterAttach(): void {
    void this.refresh();
    // countdowns move on without asking the server
    this.timer = window.setInterval(() => this.tick(), 30_000);
  }

  protected onBeforeDetach(): void {
    window.clearInterval(this.timer);
    window.clearTimeout(this.poll);
  }

  async refresh(): Promise<void> {
    // busy until the new content is drawn, so assistive technology (and tests) wait for it
    this.node.setAttribute('aria-busy', 'true');
    try {
      this.data = await requestAPI<Overview>('overview');
      setZone(this.data.zone);
      this.render();
    } catch (error) {
      this.say(error, true);
    } finally {
      if (!this.busy) {
        this.node.removeAttribute('aria-busy');
      }
    }
  }

  private tick(): void {
    const now = new Date();
    this.body.querySelectorAll<HTMLElement>('.jp-Cartable-countdown').forEach(node => {
      node.textContent = `(${formatCountdown(node.dataset.due ?? null, now, this.lang)})`;
    });
  }

  private render(): void {
    const data = this.data;
    this.body.replaceChildren();
    if (!data) {
      return;
    }
    const now = new Date();
    if (data.courses.length === 0) {
      this.body.append(el('p', { class: 'jp-Cartable-empty' }, this.trans.__('You have no class in your schoolbag.')));
    }
    const role = data.role === 'teacher' ? 'teacher' : 'pupil';
    for (const c of data.courses) {
      const section =
        data.role === 'teacher'
          ? renderTeacherCourse(c as TeacherCourse, this.trans, this.lang, now, (act, course, a, form) =>
              this.teacherAction(act, course, a, form)
            )
          : renderPupilCourse(c as PupilCourse, this.trans, this.lang, now, (act, a) => void this.pupilAction(act, a));
      const space = c as unknown as ClassSpace;
      const tz = (c.assignments as { timezone?: string }[])[0]?.timezone;
      // announcements first, under the course's heading; exposés last
      section.insertBefore(
        renderAnnouncements(space, role, this.trans, this.lang, tz, this.classHandlers),
        section.querySelector('h3')?.nextSibling ?? null
      );
      section.append(renderExposes(space, role, this.trans, this.lang, tz, this.classHandlers));
      this.body.append(section);
    }
    window.clearTimeout(this.poll);
    const grading =
      data.role === 'teacher'
        ? (data.courses as TeacherCourse[]).some(c => c.assignments.some(a => a.autograde?.running))
        : (data.courses as PupilCourse[]).some(c => c.assignments.some(a => practicePending(a)));
    if (grading) {
      this.poll = window.setTimeout(() => void this.refresh(), 3000);
    }
  }

  /** Show a message (a refusal in the user's language, or what went well). */
  private say(what: unknown, isError = false): void {
    let text: string;
    if (what instanceof PanelError) {
      text = pickMessage(what.messages, this.lang) || this.trans.__('The request failed (%1).', what.status);
    } else if (typeof what === 'string') {
      text = what;
    } else {
      text = this.trans.__('The server cannot be reached; try again.');
    }
    this.status.textContent = text;
    this.status.classList.toggle('jp-Cartable-error', isError);
  }

  private async run(work: () => Promise<string | void>): Promise<boolean> {
    if (this.busy) {
      return false;
    }
    this.busy = true;
    this.node.setAttribute('aria-busy', 'true');
    this.say(this.trans.__('Please wait…'));
    try {
      const message = await work();
      this.say(message || '');
      await this.refresh();
      return true;
    } catch (error) {
      this.say(error, true);
      return false;
    } finally {
      this.busy = false;
      this.node.removeAttribute('aria-busy');
    }
  }

  private readonly classHandlers: ClassHandlers = {
    read: async (course: string, a: Announcement) => {
      try {
        await requestAPI('announcement-read', { course_id: course, announcement_id: a.announcement_id });
      } catch (error) {
        this.say(error, true);
        throw error;
      }
    },
    announce: (course: string, title: string, body: string) =>
      this.run(async () => {
        await requestAPI('announce', { course_id: course, title, body });
        return this.trans.__('Announcement posted.');
      }),
    publish: (course: string, path: string, title: string) =>
      this.run(async () => {
        await requestAPI('publish', { course_id: course, path, title });
        return this.trans.__('Exposé published to the class.');
      }),
    withdraw: (e: Expose) =>
      void this.run(async () => {
        await requestAPI('withdraw-expose', { expose_id: e.expose_id });
        return this.trans.__('Exposé withdrawn.');
      }),
    exposeUrl: (e: Expose) =>
      URLExt.join(ServerConnection.makeSettings().baseUrl, 'api', 'cartable', 'exposes', encodeURIComponent(e.expose_id)),
    currentPath: () => this.currentPath()
  };

  private pupilAction(action: PupilAction, a: PupilAssignment): Promise<boolean> {
    const ids = { course_id: a.course_id, assignment_id: a.assignment_id };
    const open = (path: string) => this.commands.execute('docmanager:open', { path });
    return this.run(async () => {
      switch (action) {
        case 'fetch': {
          const r = await requestAPI<{ path: string; notebooks: string[] }>('fetch', ids);
          if (r.notebooks.length) {
            await open(`${r.path}/${r.notebooks[0]}`);
          }
          return this.trans.__('Fetched into %1.', r.path);
        }
        case 'open':
          if (a.notebooks.length) {
            await open(`${a.path}/${a.notebooks[0]}.ipynb`);
          }
          return;
        case 'submit': {
          await this.commands.execute('docmanager:save-all').catch(() => undefined);
          const r = await requestAPI<{ messages: { [k: string]: string } }>('submit', ids);
          return pickMessage(r.messages, this.lang);
        }
        case 'feedback': {
          const r = await requestAPI<{ paths: string[] }>('feedback', ids);
          for (const path of r.paths) {
            await open(path);
          }
          return this.trans.__('Feedback opened.');
        }
      }
    });
  }

  /** A refusal of the typed deadlines, before asking the server (which checks them again). */
  private deadlineRefusal(problem: DeadlineProblem): PanelError {
    const text = {
      'missing-due': this.trans.__('Choose a date and a time for the due date.'),
      'bad-due': this.trans.__('The due date is not a date and time.'),
      'bad-hard': this.trans.__('The hard deadline is not a date and time.'),
      'past-due': this.trans.__('The due date has already passed: choose a later date.'),
      'past-hard': this.trans.__('The hard deadline has already passed: choose a later date.'),
      'hard-before-due': this.trans.__('The hard deadline must not come before the due date.')
    }[problem];
    return new PanelError({ fr: text, ar: text, en: text }, 400, problem);
  }

  private teacherAction(
    action: TeacherAction,
    course: string,
    assignment?: string,
    form?: DeadlineForm
  ): Promise<boolean> {
    const ids = { course_id: course, assignment_id: assignment };
    const timezone =
      (this.data?.courses as TeacherCourse[] | undefined)?.find(c => c.course_id === course)?.timezone || 'UTC';
    return this.run(async () => {
      if (form) {
        const problem = deadlineProblem(form.due, form.hard_deadline, new Date(), timezone);
        if (problem) {
          throw this.deadlineRefusal(problem);
        }
      }
      switch (action) {
        case 'release': {
          const r = await requestAPI<{ due_at: string; timezone: string; replaced: boolean }>('release', {
            ...ids,
            due: form?.due,
            hard_deadline: form?.hard_deadline,
            practice: !!form?.practice
          });
          return this.trans.__('%1 released, due %2.', assignment ?? '', formatDate(r.due_at, this.lang, r.timezone));
        }
        case 'extend': {
          const r = await requestAPI<{ due_at: string; timezone: string }>('extend', {
            ...ids,
            student: form?.student,
            due: form?.due,
            hard_deadline: form?.hard_deadline
          });
          return this.trans.__(
            '%1 may submit %2 until %3.',
            form?.student ?? '',
            assignment ?? '',
            formatDate(r.due_at, this.lang, r.timezone)
          );
        }
        case 'feedback': {
          const r = await requestAPI<{ feedback_returned: string[] }>('return-feedback', ids);
          return this.trans.__('Feedback returned to %1 pupils.', formatNumber(r.feedback_returned.length, this.lang));
        }
        case 'collect': {
          const r = await requestAPI<{ collected: string[] }>('collect', { course_id: course, assignment_id: assignment });
          return this.trans.__('%1 submissions collected.', r.collected.length);
        }
        case 'autograde':
          await requestAPI('autograde', { course_id: course, assignment_id: assignment });
          return this.trans.__('Autograding started.');
        case 'formgrader': {
          const r = await requestAPI<{ url: string }>('formgrader', { course_id: course });
          if (this.commands.hasCommand('nbgrader:open-formgrader')) {
            await this.commands.execute('nbgrader:open-formgrader');
          } else {
            window.open(r.url, '_blank', 'noopener');
          }
          return;
        }
      }
    });
  }
}
