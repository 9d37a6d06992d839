/**
 * The launcher's links (no DOM, no JupyterLab: unit-tested with Node): what the server extension's
 * `GET launcher` answers, and which launcher cards it becomes.
 *
 * Decision (docs/lessons.md): the « Cartable » section always holds a « Lessons » card (the
 * lessons index: every lesson, grouped, with its low-bandwidth form) and one card per dashboard
 * the user's role allows; a « Lessons » section holds one card per lesson while the user has at
 * most MAX_LESSON_CARDS of them. Above that (a director, an inspector, a teacher of many
 * levels), the index card alone: dozens of cards would push the notebook cards out of sight.
 */

export interface LessonLink {
  id: string;
  source: string;
  subject: string;
  title: string;
  lang: string;
  dir: string;
  url: string;
  lite_url: string | null;
}

export interface DashboardLink {
  name: string;
  title: string;
  url: string;
}

export interface ServiceLinks<T> {
  available: boolean;
  index_url: string | null;
  items: T[];
}

export interface Links {
  lang: string;
  lessons: ServiceLinks<LessonLink>;
  dashboards: ServiceLinks<DashboardLink>;
}

export type CardKind = 'lessons' | 'lesson' | 'dashboard';

export interface Card {
  kind: CardKind;
  /** 'cartable' or 'lessons': the launcher section (its translated name is the front end's) */
  section: 'cartable' | 'lessons';
  /** the title as the server gave it (translated there); empty for the lessons index */
  title: string;
  url: string;
  rank: number;
  /** a dashboard's name, a lesson's language */
  detail: string;
}

export const MAX_LESSON_CARDS = 16;

/** Only pages of the hub's own origin, as a path (never another site, never `javascript:`). */
export function sameOriginPath(url: unknown): url is string {
  return (
    typeof url === 'string' &&
    url.startsWith('/') &&
    !url.startsWith('//') &&
    !url.includes('\\') &&
    !/[\s"'<>]/.test(url) &&
    !url.split('/').includes('..')
  );
}

const DASHBOARD_ORDER = ['progress', 'class', 'school', 'inspection'];
const SUBJECT_ORDER = ['mathematiques', 'physique-chimie'];

function subjectRank(subject: string): number {
  const i = SUBJECT_ORDER.indexOf(subject);
  return i < 0 ? SUBJECT_ORDER.length : i;
}

export function launcherCards(links: Links | null | undefined, max = MAX_LESSON_CARDS): Card[] {
  const cards: Card[] = [];
  if (!links) {
    return cards;
  }
  const lessons = links.lessons?.available ? (links.lessons.items ?? []).filter(l => sameOriginPath(l.url)) : [];
  if (links.lessons?.available && sameOriginPath(links.lessons.index_url)) {
    cards.push({ kind: 'lessons', section: 'cartable', title: '', url: links.lessons.index_url, rank: 0, detail: '' });
  }
  const dashboards = links.dashboards?.available
    ? (links.dashboards.items ?? []).filter(d => sameOriginPath(d.url))
    : [];
  for (const d of dashboards) {
    const i = DASHBOARD_ORDER.indexOf(d.name);
    cards.push({
      kind: 'dashboard',
      section: 'cartable',
      title: d.title,
      url: d.url,
      rank: 10 + (i < 0 ? DASHBOARD_ORDER.length : i),
      detail: d.name
    });
  }
  if (lessons.length > 0 && lessons.length <= max) {
    // the library's lessons by subject, in the service's (catalogue) order; teachers' lessons after
    const ordered = lessons
      .map((l, i) => ({ l, i }))
      .sort(
        (a, b) =>
          Number(a.l.source !== 'library') - Number(b.l.source !== 'library') ||
          subjectRank(a.l.subject) - subjectRank(b.l.subject) ||
          a.i - b.i
      );
    ordered.forEach(({ l }, n) =>
      cards.push({ kind: 'lesson', section: 'lessons', title: l.title, url: l.url, rank: n, detail: l.lang })
    );
  }
  return cards;
}
