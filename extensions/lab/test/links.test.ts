import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { launcherCards, LessonLink, Links, MAX_LESSON_CARDS, sameOriginPath } from '../src/links';

const LESSONS = '/services/cartable-lessons/';
const DASHBOARDS = '/services/cartable-dashboards/';

function lesson(id: string, extra: Partial<LessonLink> = {}): LessonLink {
  return {
    id,
    source: 'library',
    subject: 'mathematiques',
    title: id,
    lang: 'fr',
    dir: 'ltr',
    url: `${LESSONS}voila/render/library/${id}.ipynb`,
    lite_url: `${LESSONS}lite/library/${id}.ipynb`,
    ...extra
  };
}

function links(lessons: LessonLink[], dashboards: string[] = ['progress']): Links {
  return {
    lang: 'fr',
    lessons: { available: true, index_url: LESSONS, items: lessons },
    dashboards: {
      available: true,
      index_url: DASHBOARDS,
      items: dashboards.map(name => ({ name, title: name, url: DASHBOARDS + name }))
    }
  };
}

test('a pupil: the lessons index and their dashboard in « Cartable », each lesson in « Lessons »', () => {
  const cards = launcherCards(
    links([lesson('radioactivite', { subject: 'physique-chimie' }), lesson('suites'), lesson('ondes', { source: 'published' })])
  );
  assert.deepEqual(
    cards.map(c => [c.section, c.kind, c.url]),
    [
      ['cartable', 'lessons', LESSONS],
      ['cartable', 'dashboard', `${DASHBOARDS}progress`],
      // library first, maths before physics, then the teachers' lessons
      ['lessons', 'lesson', `${LESSONS}voila/render/library/suites.ipynb`],
      ['lessons', 'lesson', `${LESSONS}voila/render/library/radioactivite.ipynb`],
      ['lessons', 'lesson', `${LESSONS}voila/render/library/ondes.ipynb`]
    ]
  );
  assert.deepEqual(cards.filter(c => c.section === 'lessons').map(c => c.rank), [0, 1, 2]);
});

test('many lessons: the index card alone, no wall of cards', () => {
  const many = Array.from({ length: MAX_LESSON_CARDS + 1 }, (_, i) => lesson(`l${i}`));
  const cards = launcherCards(links(many, ['school']));
  assert.deepEqual(cards.map(c => c.kind), ['lessons', 'dashboard']);
  const enough = launcherCards(links(many.slice(0, MAX_LESSON_CARDS)));
  assert.equal(enough.filter(c => c.kind === 'lesson').length, MAX_LESSON_CARDS);
});

test('a service down or missing: what the other one gives, nothing else', () => {
  const down = links([lesson('suites')], ['class']);
  down.lessons = { available: false, index_url: null, items: [] };
  assert.deepEqual(launcherCards(down).map(c => c.detail), ['class']);
  down.dashboards = { available: false, index_url: null, items: [] };
  assert.deepEqual(launcherCards(down), []);
  assert.deepEqual(launcherCards(null), []);
});

test('only paths of the hub itself are ever opened', () => {
  assert.ok(sameOriginPath('/services/cartable-lessons/voila/render/library/suites.ipynb'));
  for (const bad of ['https://evil.example/', '//evil.example/x', 'javascript:alert(1)', '/a/../hub/admin',
    '/a\\b', '/a b', '/x"onmouseover=1', '', null, 42]) {
    assert.equal(sameOriginPath(bad), false, String(bad));
  }
  const evil = links([lesson('suites', { url: 'javascript:alert(1)' })], []);
  evil.dashboards.items = [{ name: 'class', title: 'x', url: 'https://evil.example/' }];
  evil.lessons.index_url = '//evil.example/';
  assert.deepEqual(launcherCards(evil), []);
});
