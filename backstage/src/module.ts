/**
 * The backend module that adds `platform:copier:copy` to the scaffolder, configured from
 * app-config `scaffolder.copier` (allowedTemplates, command, timeoutSeconds).
 */
import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createCopierCopyAction } from './copierCopyAction';

export const scaffolderModuleCopier = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'copier',
  register(reg) {
    reg.registerInit({
      deps: { scaffolder: scaffolderActionsExtensionPoint, config: coreServices.rootConfig },
      async init({ scaffolder, config }) {
        // Required: without an allow-list the action would run any template with --trust.
        const allowedTemplates = config.getStringArray('scaffolder.copier.allowedTemplates');
        scaffolder.addActions(
          createCopierCopyAction({
            allowedTemplates,
            command: config.getOptionalStringArray('scaffolder.copier.command'),
            timeoutSeconds: config.getOptionalNumber('scaffolder.copier.timeoutSeconds'),
          }),
        );
      },
    });
  },
});
