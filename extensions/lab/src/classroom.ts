/**
 * The class's shared space, under each course: announcements (unread until opened; a form for
 * teachers to post) and exposés (links to read-only pages; a form for pupils to publish a
 * notebook; withdraw for the teacher and the author). Text only: titles and texts typed by
 * users are text nodes, never parsed as HTML.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { button, el } from './dom';
import { Announcement, Expose, formatDate, formatNumber, unreadCount } from './model';

export interface ClassSpace {
  course_id: string;
  announcements?: Announcement[];
  exposes?: Expose[];
}

export interface ClassHandlers {
  /** The pupil opened an unread announcement: tell the server (resolves when stored). */
  read(course: string, a: Announcement): Promise<void>;
  announce(course: string, title: string, body: string): Promise<boolean>;
  publish(course: string, path: string, title: string): Promise<boolean>;
  withdraw(e: Expose): void;
  exposeUrl(e: Expose): string;
  currentPath(): string;
}

let counter = 0;

export function field(label: string, input: HTMLElement): HTMLElement {
  const id = `cartable-field-${++counter}`;
  input.id = id;
  return el('div', { class: 'jp-Cartable-field' }, el('label', { for: id }, label), input);
}

function unreadText(n: number, trans: TranslationBundle, lang: string): string {
  return n === 1 ? trans.__('1 unread') : trans.__('%1 unread', formatNumber(n, lang));
}

export function renderAnnouncements(
  c: ClassSpace,
  role: 'pupil' | 'teacher',
  trans: TranslationBundle,
  lang: string,
  timezone: string | undefined,
  on: ClassHandlers
): HTMLElement {
  const list = c.announcements ?? [];
  const box = el('section', { class: 'jp-Cartable-announcements', 'aria-label': trans.__('Announcements') });
  const heading = el('h4', {}, trans.__('Announcements'));
  const count = el('span', { class: 'jp-Cartable-unread-count' });
  const showCount = () => {
    const n = unreadCount(list);
    count.textContent = n > 0 ? unreadText(n, trans, lang) : '';
    count.hidden = n === 0;
  };
  showCount();
  heading.append(' ', count);
  box.append(heading);
  if (list.length === 0) {
    box.append(el('p', { class: 'jp-Cartable-empty' }, trans.__('No announcement.')));
  }
  const ul = el('ul', { class: 'jp-Cartable-list' });
  for (const a of list) {
    const item = el('li', {
      class: 'jp-Cartable-announcement',
      'data-announcement': a.announcement_id,
      'data-read': a.read === false ? 'false' : 'true'
    });
    const bodyId = `cartable-announcement-${a.announcement_id}`;
    const toggle = el(
      'button',
      {
        type: 'button',
        class: 'jp-Cartable-announcement-title',
        'aria-expanded': 'false',
        'aria-controls': bodyId,
        dir: 'auto'
      },
      a.title
    ) as HTMLButtonElement;
    const line = el('div', { class: 'jp-Cartable-announcement-head' }, toggle);
    let badge: HTMLElement | null = null;
    if (a.read === false) {
      badge = el('span', { class: 'jp-Cartable-badge jp-Cartable-unread' }, trans.__('Unread'));
      line.append(' ', badge);
    }
    const meta = el('p', { class: 'jp-Cartable-meta' }, trans.__('Posted on %1 by %2', formatDate(a.posted_at, lang, timezone), a.author));
    // the text as typed: a text node, line breaks kept by CSS (white-space: pre-wrap)
    const body = el('div', { class: 'jp-Cartable-announcement-body', id: bodyId, dir: 'auto' }, a.body);
    body.hidden = true;
    toggle.addEventListener('click', () => {
      const open = body.hidden;
      body.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open && a.read === false) {
        void on.read(c.course_id, a).then(() => {
          a.read = true;
          item.setAttribute('data-read', 'true');
          badge?.remove();
          showCount();
        });
      }
    });
    item.append(line, meta, body);
    ul.append(item);
  }
  box.append(ul);
  if (role === 'teacher') {
    const form = el('form', { class: 'jp-Cartable-form jp-Cartable-announce' }) as HTMLFormElement;
    const title = el('input', { type: 'text', name: 'title', maxlength: '200', required: '' }) as HTMLInputElement;
    const text = el('textarea', { name: 'body', rows: '3', maxlength: '10000', required: '' }) as HTMLTextAreaElement;
    form.append(
      field(trans.__('Title'), title),
      field(trans.__('Text'), text),
      el('button', { type: 'submit', class: 'jp-Button jp-mod-styled jp-Cartable-button' }, trans.__('Post the announcement'))
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      void on.announce(c.course_id, title.value, text.value).then(ok => {
        if (ok) {
          form.reset();
        }
      });
    });
    box.append(form);
  }
  return box;
}

export function renderExposes(
  c: ClassSpace,
  role: 'pupil' | 'teacher',
  trans: TranslationBundle,
  lang: string,
  timezone: string | undefined,
  on: ClassHandlers
): HTMLElement {
  const list = c.exposes ?? [];
  const box = el('section', { class: 'jp-Cartable-exposes', 'aria-label': trans.__('Exposés') });
  box.append(el('h4', {}, trans.__('Exposés')));
  if (list.length === 0) {
    box.append(el('p', { class: 'jp-Cartable-empty' }, trans.__('No exposé published in this class.')));
  }
  const ul = el('ul', { class: 'jp-Cartable-list' });
  for (const e of list) {
    const item = el('li', { class: 'jp-Cartable-expose', 'data-expose': e.expose_id });
    // opened in a tab of its own (never in a frame), where the page runs no script
    const link = el('a', { href: on.exposeUrl(e), target: '_blank', rel: 'noopener noreferrer', dir: 'auto' }, e.title);
    const meta = el('span', { class: 'jp-Cartable-meta' }, ' — ' + trans.__('by %1, %2', e.author, formatDate(e.published_at, lang, timezone)));
    item.append(link, meta);
    if (role === 'teacher' || e.mine) {
      item.append(' ', button(trans.__('Withdraw'), () => on.withdraw(e), 'jp-Cartable-withdraw'));
    }
    ul.append(item);
  }
  box.append(ul);
  if (role === 'pupil') {
    const form = el('form', { class: 'jp-Cartable-form jp-Cartable-publish' }) as HTMLFormElement;
    const current = on.currentPath();
    const path = el('input', {
      type: 'text',
      name: 'path',
      dir: 'ltr',
      required: '',
      placeholder: 'dossier/notebook.ipynb'
    }) as HTMLInputElement;
    path.value = current.endsWith('.ipynb') ? current : '';
    const title = el('input', { type: 'text', name: 'title', maxlength: '200' }) as HTMLInputElement;
    form.append(
      field(trans.__('Notebook'), path),
      field(trans.__('Title'), title),
      el('button', { type: 'submit', class: 'jp-Button jp-mod-styled jp-Cartable-button' }, trans.__('Publish to the class'))
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      void on.publish(c.course_id, path.value, title.value).then(ok => {
        if (ok) {
          form.reset();
        }
      });
    });
    box.append(form);
  }
  return box;
}
