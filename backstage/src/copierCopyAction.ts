/**
 * The scaffolder action `platform:copier:copy`: renders a copier template from an
 * allow-listed git URL into the task workspace with the real copier CLI.
 *
 * Answers reach copier through a YAML data file (`--data-file`), never through a shell
 * string; copier's validators decide every answer, and a refused answer fails the step with
 * copier's message. copier renders into a staging folder first, so a refusal or a crash
 * leaves nothing in the workspace. The rendered `.copier-answers.yml` records the template
 * URL and release, so the new repository can run `copier update` later.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { parse } from 'yaml';
import { runCopier } from './runCopier';

export const ACTION_ID = 'platform:copier:copy';

/** What the platform team configures (app-config `scaffolder.copier`). */
export type CopierActionOptions = {
  /** Template URLs (or local paths) this action may render; copier runs them with --trust. */
  allowedTemplates: string[];
  /** The command that runs copier, program first. Default: `['copier']` from PATH. */
  command?: string[];
  /** Kills a render that takes longer. Default: 10 minutes. */
  timeoutSeconds?: number;
};

const DEFAULT_COMMAND = ['copier'];
const DEFAULT_TIMEOUT_SECONDS = 600;
const ANSWERS_FILE = '.copier-answers.yml';
// A copier question key. Keys starting with `_` are copier's own records (`_src_path`,
// `_commit`): an answer must not overwrite where the project says it came from.
const QUESTION_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
// A git tag or branch name; never an option (`-...`) and never a range (`..`).
const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]+$/;

type Answer = string | number | boolean | null | undefined;

/** Refuse a template the platform team did not allow, or a URL that carries credentials. */
export function checkTemplateUrl(url: string, allowed: readonly string[]): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined; // a local path or an scp-style git address: the allow-list decides
  }
  if (parsed && (parsed.username || parsed.password)) {
    // The answers file records the URL verbatim: a token in it would be committed.
    throw new InputError(
      'url must not contain credentials (user or token): the generated .copier-answers.yml ' +
        'records it. Give git its credentials through a credential helper instead.',
    );
  }
  if (!allowed.includes(url)) {
    throw new InputError(
      `url ${url} is not an allowed copier template: copier runs templates with --trust, ` +
        'so only those listed in scaffolder.copier.allowedTemplates may run',
    );
  }
}

/** The answers copier receives: empty ones dropped, so copier derives or skips them. */
export function copierAnswers(data: Record<string, Answer>): Record<string, Answer> {
  const answers: Record<string, Answer> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!QUESTION_KEY.test(key)) {
      throw new InputError(
        `data key '${key}' is not a copier question key: use the keys of copier.yml ` +
          "(letters, digits and '_', not starting with '_')",
      );
    }
    if (value === undefined || value === null || value === '') continue;
    answers[key] = value;
  }
  return answers;
}

// Characters a YAML reader takes as line breaks or refuses raw inside a quoted string.
const YAML_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

/**
 * The answers as copier's data file: JSON, which is YAML whose strings are all quoted. A
 * plain YAML dump would write `yes`, `on` or `~` bare, and copier's YAML 1.1 reader would
 * turn them into a boolean or null; escaped, a line separator reaches copier's validator
 * instead of being folded into a space.
 */
export function answersFile(answers: Record<string, Answer>): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return `${JSON.stringify(answers, null, 2).replace(YAML_UNSAFE, escape)}\n`;
}

/** Build the action with the platform team's options. */
export function createCopierCopyAction(options: CopierActionOptions) {
  const command = options.command?.length ? options.command : DEFAULT_COMMAND;
  const timeoutMs = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  return createTemplateAction({
    id: ACTION_ID,
    description:
      'Renders a copier template from an allow-listed git URL into the workspace with copier',
    supportsDryRun: true,
    schema: {
      input: {
        url: z => z.string().min(1).describe('git URL of the copier template (allow-listed)'),
        vcsRef: z =>
          z
            .string()
            .optional()
            .describe('tag or branch to render; empty renders the latest release tag'),
        data: z =>
          z
            .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]).optional())
            .describe('copier answers keyed by question; empty values are left to copier'),
        targetPath: z =>
          z.string().optional().describe('workspace sub-directory to render into; default ./'),
      },
      output: {
        templateUrl: z => z.string().describe('template URL recorded in .copier-answers.yml'),
        templateVersion: z =>
          z.string().describe('template release or commit recorded in .copier-answers.yml'),
      },
    },
    async handler(ctx) {
      const { url, vcsRef, data, targetPath = './' } = ctx.input;
      checkTemplateUrl(url, options.allowedTemplates);
      if (vcsRef && !GIT_REF.test(vcsRef)) {
        throw new InputError(`vcsRef '${vcsRef}' is not a git tag or branch name`);
      }
      // Throws NotAllowedError for a path outside the workspace (`..`, absolute paths).
      const target = resolveSafeChildPath(ctx.workspacePath, targetPath);
      const answers = copierAnswers(data);

      const scratch = await fs.mkdtemp(path.join(await ctx.createTemporaryDirectory(), 'copier-'));
      try {
        const dataFile = path.join(scratch, 'answers.json');
        await fs.writeFile(dataFile, answersFile(answers), { encoding: 'utf8', mode: 0o600 });
        const staging = path.join(scratch, 'render');
        // --skip-tasks: publish:github makes the first commit, on the branch it names.
        const args = ['copy', '--trust', '--defaults', '--skip-tasks', '--data-file', dataFile];
        if (vcsRef) args.push('--vcs-ref', vcsRef);
        // `--` ends the options: the URL and the path are positional whatever they hold.
        args.push('--', url, staging);
        ctx.logger.info(`Rendering ${url}${vcsRef ? ` at ${vcsRef}` : ''} with copier`);
        await runCopier({ command, args, logger: ctx.logger, signal: ctx.signal, timeoutMs });

        const recorded = parse(await fs.readFile(path.join(staging, ANSWERS_FILE), 'utf8'));
        if (recorded?._src_path !== url) {
          throw new Error(
            `${ANSWERS_FILE} records the template as ${recorded?._src_path}, not ${url}: ` +
              'copier update would not find it',
          );
        }
        await fs.mkdir(target, { recursive: true });
        await fs.cp(staging, target, { recursive: true, errorOnExist: true, force: false });
        ctx.output('templateUrl', String(recorded._src_path));
        ctx.output('templateVersion', String(recorded._commit ?? ''));
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  });
}
