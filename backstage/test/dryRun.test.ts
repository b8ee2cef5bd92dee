/**
 * The real Template entity (catalog-info.yaml) through a real scaffolder backend: the
 * scaffolder plugin, the GitHub publisher module and this module, started with
 * startTestBackend and driven through the scaffolder's own dry-run API. For each answer
 * set the rendered files equal a `copier copy` with the same answers; values the form
 * refuses come back as HTTP 400 before any step runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { parseAllDocuments } from 'yaml';
import copierModule from '../src';
import { answerSets, copierCommand, copierCopy, templateRepo, treeBytes } from './environment';

const CATALOG_INFO = path.resolve(__dirname, '../../catalog-info.yaml');
const DRY_RUN = '/api/scaffolder/v2/dry-run';

type DryRunFile = { path: string; base64Content: string; executable?: boolean };

/** The Template entity as checked in, its render step pointed at the local template copy. */
function templateEntity(): any {
  const documents = parseAllDocuments(fs.readFileSync(CATALOG_INFO, 'utf8')).map(d => d.toJS());
  const template = documents.find(entity => entity?.kind === 'Template');
  const render = template.spec.steps.find((step: any) => step.id === 'render');
  render.input.url = templateRepo();
  return template;
}

let backend: Awaited<ReturnType<typeof startTestBackend>>;
let baseUrl: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'copier-dry-run-'));

beforeAll(async () => {
  backend = await startTestBackend({
    features: [
      import('@backstage/plugin-scaffolder-backend'),
      import('@backstage/plugin-scaffolder-backend-module-github'),
      copierModule,
      catalogServiceMock.factory(),
      mockServices.rootConfig.factory({
        data: {
          backend: { workingDirectory: scratch },
          scaffolder: { copier: { allowedTemplates: [templateRepo()], command: copierCommand() } },
        },
      }),
    ],
  });
  const address = backend.server.address();
  if (!address || typeof address === 'string') throw new Error('the test backend has no port');
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await backend?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function dryRun(values: Record<string, unknown>) {
  const response = await fetch(`${baseUrl}${DRY_RUN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: mockCredentials.user.header() },
    body: JSON.stringify({ template: templateEntity(), values, directoryContents: [] }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

function rendered(files: DryRunFile[]): Map<string, Buffer> {
  return new Map(files.map(file => [file.path, Buffer.from(file.base64Content, 'base64')]));
}

describe('the Template through the scaffolder dry-run API', () => {
  it.each(answerSets().map(set => [set.id, set] as const))(
    'renders %s exactly as copier copy does',
    async (_, set) => {
      const { status, body } = await dryRun(set.values);
      expect({ status, errors: body.errors, error: body.error }).toMatchObject({ status: 200 });
      const expected = path.join(scratch, `expected-${set.id}`);
      copierCopy(set.answers, expected);
      const actual = rendered(body.directoryContents);
      const wanted = treeBytes(expected);
      expect([...actual.keys()].sort()).toEqual([...wanted.keys()].sort());
      for (const [file, bytes] of wanted) {
        expect({ file, same: actual.get(file)?.equals(bytes) }).toEqual({ file, same: true });
      }
      // publish and register are real actions that skip themselves in a dry run.
      const skipped = body.log.map((entry: any) => entry.body.message).join('\n');
      expect(skipped).toMatch(/Skipping because publish:github does not support dry-run/);
    },
  );
});

describe('answers the form or copier refuses', () => {
  const valid = () => ({ ...answerSets()[0].values });

  // Each breaks one rule the form states (copier.yml's, generated into the Template).
  it.each([
    ['a slug that is no DNS label', { project_slug: 'Orders_Pipeline' }, 'project_slug'],
    ['an engine copier does not offer', { engine: 'cobol' }, 'engine'],
    ['a schedule preset cron does not know', { schedule: '@fortnightly' }, 'schedule'],
    ['a description on two lines', { description: 'one\ntwo' }, 'description'],
    ['Spark for a streaming pipeline', { pipeline_type: 'streaming', stream_source: 'kafka', engine: 'spark' }, 'engine'],
  ])('rejects %s with HTTP 400 before any step', async (_, change, field) => {
    const values: Record<string, unknown> = { ...valid(), ...change };
    if (values.pipeline_type === 'streaming') delete values.source;
    const { status, body } = await dryRun(values);
    expect(status).toBe(400);
    // The form's errors, and no step log: the dry runner never started.
    expect(JSON.stringify(body.errors)).toContain(field);
    expect(body.log).toBeUndefined();
  });

  it('rejects a missing required answer with HTTP 400', async () => {
    const { project_name: _, ...values } = valid();
    const { status, body } = await dryRun(values);
    expect(status).toBe(400);
    expect(JSON.stringify(body.errors)).toContain('project_name');
  });

  it("fails the render step with copier's message for what only copier checks", async () => {
    // Hour 25 passes the form's shape check; copier's cron validator refuses it.
    const { status, body } = await dryRun({ ...valid(), schedule: '0 25 * * *' });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toMatch(/copier refused the answers: schedule '0 25 \* \* \*'/);
  });
});
