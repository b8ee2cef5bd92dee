/**
 * The action under Backstage's mock action context, rendering the template with the real
 * copier: what it writes, what it refuses, and that a refusal leaves nothing behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { parse } from 'yaml';
import { createCopierCopyAction } from '../src';
import { copierCommand, templateRepo } from './environment';

const scratch: string[] = [];
afterAll(() => scratch.forEach(dir => fs.rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'copier-action-'));
  scratch.push(dir);
  return dir;
}

function context(input: Record<string, unknown>) {
  const workspacePath = path.join(tempDir(), 'workspace');
  fs.mkdirSync(workspacePath);
  const temporary = tempDir();
  const lines: string[] = [];
  const ctx = createMockActionContext({ input: input as any, workspacePath });
  ctx.createTemporaryDirectory = async () => temporary;
  ctx.logger = {
    ...ctx.logger,
    info: (message: string) => void lines.push(message),
  } as typeof ctx.logger;
  return { ctx, workspacePath, temporary, lines };
}

function action(command: string[] = copierCommand()) {
  return createCopierCopyAction({ allowedTemplates: [templateRepo()], command });
}

const ANSWERS = {
  project_name: 'Orders Pipeline',
  description: 'Loads orders; a=b "quoted" $(touch /tmp/pwned) `id` done.',
  owner: 'group:default/data-eng',
  pipeline_type: 'batch',
  engine: 'polars',
  orchestrator: 'dagster',
  source: 'local',
  destination: 'local',
  schedule: '0 3 * * *',
};

describe('platform:copier:copy', () => {
  it('renders the template into the workspace and records where it came from', async () => {
    // The form leaves derived answers empty and sends the other pipeline type's field empty.
    const data = { ...ANSWERS, project_slug: '', package_name: null, stream_source: '' };
    const { ctx, workspacePath, temporary, lines } = context({ url: templateRepo(), data });
    await action().handler(ctx);

    const recorded = parse(fs.readFileSync(path.join(workspacePath, '.copier-answers.yml'), 'utf8'));
    expect(recorded._src_path).toBe(templateRepo());
    expect(recorded._commit).toMatch(/^v\d+\.\d+\.\d+/);
    // Empty answers were left to copier, which derived them as on the command line.
    expect(recorded.project_slug).toBe('orders-pipeline');
    expect(recorded.package_name).toBe('orders_pipeline');
    expect(recorded).not.toHaveProperty('stream_source');
    // Text a shell would interpret reaches copier intact, and nothing ran it.
    expect(recorded.description).toBe(ANSWERS.description);
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
    expect(fs.existsSync(path.join(workspacePath, 'src/orders_pipeline'))).toBe(true);
    expect(fs.existsSync(path.join(workspacePath, 'src/orders_pipeline/orchestration/dagster_definitions.py'))).toBe(true);
    expect(ctx.output).toHaveBeenCalledWith('templateUrl', templateRepo());
    expect(ctx.output).toHaveBeenCalledWith('templateVersion', recorded._commit);
    // copier's own output reached the task log; the scratch folder is gone.
    expect(lines.some(line => line.includes('catalog-info.yaml'))).toBe(true);
    expect(fs.readdirSync(temporary)).toEqual([]);
  });

  it('renders into a sub-directory of the workspace', async () => {
    const { ctx, workspacePath } = context({
      url: templateRepo(),
      // `yes` is a boolean to a YAML 1.1 reader such as copier's: it must stay text.
      data: {
        ...ANSWERS,
        project_name: 'Clicks',
        description: 'yes',
        pipeline_type: 'streaming',
        source: '',
      },
      targetPath: 'services/clicks',
    });
    await action().handler(ctx);
    const recorded = parse(
      fs.readFileSync(path.join(workspacePath, 'services/clicks/.copier-answers.yml'), 'utf8'),
    );
    expect(recorded).toMatchObject({
      project_slug: 'clicks',
      description: 'yes',
      pipeline_type: 'streaming',
    });
    expect(recorded.stream_source).toBe('kafka');
    expect(fs.readdirSync(workspacePath)).toEqual(['services']);
  });

  it("fails with copier's validator message and leaves nothing behind", async () => {
    const { ctx, workspacePath, temporary } = context({
      url: templateRepo(),
      data: {
        ...ANSWERS,
        description: 'one\u2028two',
        pipeline_type: 'streaming',
        engine: 'spark',
        schedule: '@fortnightly',
      },
    });
    const failure = action().handler(ctx);
    await expect(failure).rejects.toMatchObject({ name: 'InputError' });
    await expect(failure).rejects.toThrow(/engine 'spark': Spark is batch only/);
    await expect(failure).rejects.toThrow(/schedule '@fortnightly' is not a known preset/);
    // Escaped in the data file, the separator reached copier's validator unfolded.
    await expect(failure).rejects.toThrow(/description contains a line separator/);
    expect(fs.readdirSync(workspacePath)).toEqual([]);
    expect(fs.readdirSync(temporary)).toEqual([]);
  });

  // Each refusal comes before copier starts: the command below would fail differently.
  const NOT_COPIER = ['/nonexistent/copier'];
  it.each([
    ['a template outside the allow-list', { url: 'https://github.com/evil/t.git' }, /not an allowed copier template/],
    [
      'a URL carrying a token',
      { url: 'https://x-access-token:ghp_abc@github.com/org/t.git' },
      /must not contain credentials/,
    ],
    ['a parent-relative target path', { targetPath: '../outside' }, /outside/i],
    ['an absolute target path', { targetPath: '/etc' }, /outside/i],
    ['a ref that is an option', { vcsRef: '--help' }, /not a git tag or branch/],
    ['an answer overwriting copier records', { data: { _src_path: 'x' } }, /not a copier question key/],
  ])('refuses %s', async (_, overrides, message) => {
    const { ctx, workspacePath } = context({ url: templateRepo(), data: ANSWERS, ...overrides });
    await expect(action(NOT_COPIER).handler(ctx)).rejects.toThrow(message);
    expect(fs.readdirSync(workspacePath)).toEqual([]);
  });

  it('names the command when copier cannot start', async () => {
    const { ctx } = context({ url: templateRepo(), data: ANSWERS });
    await expect(action(['/nonexistent/copier']).handler(ctx)).rejects.toThrow(
      /could not start copier \(\/nonexistent\/copier\)/,
    );
  });
});
