/**
 * Backstage scaffolder module: the `platform:copier:copy` action, which renders a copier
 * template with the real copier. Install with `backend.add(import('<this package>'))`.
 */
export { scaffolderModuleCopier as default } from './module';
export {
  ACTION_ID,
  answersFile,
  checkTemplateUrl,
  copierAnswers,
  createCopierCopyAction,
  type CopierActionOptions,
} from './copierCopyAction';
export { refusedAnswers, runCopier, type CopierRunOptions } from './runCopier';
