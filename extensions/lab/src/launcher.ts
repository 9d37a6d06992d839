/**
 * The launcher's « Cartable » and « Lessons » sections: the lessons and dashboards the user may
 * open (asked of the server extension, which asks the services with the server's Hub token).
 * A card opens its page in a new browser tab (never inside JupyterLab: the pages are the Hub
 * services' own, with their own login and right-to-left layout).
 */
import { ILauncher } from '@jupyterlab/launcher';
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';

import { requestAPI } from './api';
import { Card, CardKind, launcherCards, Links, sameOriginPath } from './links';
import { shortLang } from './model';

export const OPEN_COMMAND = 'cartable:open-page';

export const LESSON_ICON = new LabIcon({
  name: 'cartable:lesson',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M4 4.5A2.5 2.5 0 0 1 6.5 2H20v16H6.5a.5.5 0 0 0 0 1H20v3H6.5A2.5 2.5 0 0 1 4 19.5v-15z' +
    'M8 6v2h8V6H8zm0 4v2h6v-2H8z"/></g></svg>'
});

export const DASHBOARD_ICON = new LabIcon({
  name: 'cartable:dashboard',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 3h2v16h16v2H3V3zm4 9h3v6H7v-6zm5-5h3v11h-3V7zm5 3h3v8h-3v-8z"/></g></svg>'
});

/** Open one of the services' pages in a new tab, without giving it this window (noopener). */
export function openInNewTab(url: string): boolean {
  if (!sameOriginPath(url)) {
    return false;
  }
  window.open(url, '_blank', 'noopener');
  return true;
}

export function registerOpenCommand(commands: CommandRegistry, trans: TranslationBundle): void {
  const kindOf = (args: { kind?: unknown }) => String(args.kind ?? '') as CardKind;
  const titleOf = (args: { title?: unknown }) => String(args.title ?? '');
  commands.addCommand(OPEN_COMMAND, {
    label: args => (kindOf(args) === 'lessons' ? trans.__('All lessons') : titleOf(args)),
    caption: args => {
      switch (kindOf(args)) {
        case 'lessons':
          return trans.__('Your lessons, each with its low-bandwidth version (opens in a new tab)');
        case 'dashboard':
          return trans.__('Dashboard: %1 (opens in a new tab)', titleOf(args));
        default:
          return trans.__('Lesson: %1 (opens in a new tab)', titleOf(args));
      }
    },
    icon: args => (kindOf(args) === 'dashboard' ? DASHBOARD_ICON : LESSON_ICON),
    execute: args => {
      openInNewTab(String(args.url ?? ''));
    }
  });
}

/** Add the cards; returns them (for tests and logs). A failed request adds nothing. */
export async function addLauncherItems(
  launcher: ILauncher,
  trans: TranslationBundle,
  languageCode: string
): Promise<Card[]> {
  let links: Links;
  try {
    links = await requestAPI<Links>(`launcher?lang=${encodeURIComponent(shortLang(languageCode))}`);
  } catch (error) {
    console.warn('Cartable: the launcher links are not available', error);
    return [];
  }
  const sections = { cartable: trans.__('Cartable'), lessons: trans.__('Lessons') };
  const cards = launcherCards(links);
  for (const card of cards) {
    launcher.add({
      command: OPEN_COMMAND,
      args: { kind: card.kind, title: card.title, url: card.url, detail: card.detail },
      category: sections[card.section],
      categoryRank: card.section === 'cartable' ? 10 : 11,
      rank: card.rank
    });
  }
  return cards;
}
