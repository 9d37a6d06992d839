import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILauncher } from '@jupyterlab/launcher';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { addLauncherItems, registerOpenCommand } from './launcher';
import { CartablePanel, DOMAIN } from './panel';

const ICON = new LabIcon({
  name: 'cartable:schoolbag',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M9 3h6a2 2 0 0 1 2 2v1h1a3 3 0 0 1 3 3v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a3 3 0 0 1 3-3h1V5a2 2 0 0 1 2-2zm0 2v1h6V5H9z' +
    'm-4 6v2h14v-2H5zm5 1h4v3h-4v-3z"/></g></svg>'
});

/** « Mon cartable »: the left side panel of pupils and teachers. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: '@cartable/lab:panel',
  description: 'Mon cartable: courses, assignments, deadlines, receipts and feedback.',
  autoStart: true,
  optional: [ITranslator, ILayoutRestorer],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null, restorer: ILayoutRestorer | null) => {
    translator = translator ?? nullTranslator;
    const trans = translator.load(DOMAIN);
    // the notebook open in the main area: what a pupil most likely wants to publish
    const currentPath = () => (app.shell.currentWidget as { context?: { path?: string } } | null)?.context?.path ?? '';
    const panel = new CartablePanel(translator, app.commands, currentPath);
    panel.title.icon = ICON;
    app.shell.add(panel, 'left', { rank: 50 });
    restorer?.add(panel, 'cartable-panel');
    app.commands.addCommand('cartable:open-panel', {
      label: trans.__('My schoolbag'),
      execute: () => app.shell.activateById(panel.id)
    });
  }
};

/**
 * The launcher's « Cartable » section: the lessons and dashboards the user may open, in their
 * language, each opening in a new browser tab (see links.ts for which cards).
 */
const launcherPlugin: JupyterFrontEndPlugin<void> = {
  id: '@cartable/lab:launcher',
  description: 'Launcher cards for the lessons and dashboards the user may open.',
  autoStart: true,
  optional: [ITranslator, ILauncher],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null, launcher: ILauncher | null) => {
    translator = translator ?? nullTranslator;
    const trans = translator.load(DOMAIN);
    registerOpenCommand(app.commands, trans);
    if (launcher) {
      void addLauncherItems(launcher, trans, translator.languageCode);
    }
  }
};

export default [plugin, launcherPlugin];
