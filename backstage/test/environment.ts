/**
 * What the tests render with: the copier command and a git copy of the template, both
 * given by the environment (tests/test_backstage_module.py sets them; see README.md).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function required(name: string, hint: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: ${hint}`);
  return value;
}

/** The command that runs copier: a program path, or a JSON array (`["uvx", ..., "copier"]`). */
export function copierCommand(): string[] {
  const value = required(
    'COPIER_COMMAND',
    'the command that runs copier, e.g. COPIER_COMMAND="$PWD/../.venv/bin/copier"',
  );
  return value.startsWith('[') ? JSON.parse(value) : [value];
}

/** A git repository of the template with a release tag (copier renders the latest tag). */
export function templateRepo(): string {
  return required(
    'GOLDEN_PATH_TEMPLATE',
    'a committed, tagged git copy of the template (tests/template_fixtures.py makes one)',
  );
}

/** Run copier directly, as a user on the command line would, with `--data key=value`. */
export function copierCopy(answers: Record<string, string>, destination: string): void {
  const [program, ...prefix] = copierCommand();
  const data = Object.entries(answers).flatMap(([key, value]) => ['--data', `${key}=${value}`]);
  const args = ['copy', '--trust', '--defaults', '--skip-tasks', '--quiet', ...data];
  const result = spawnSync(program, [...prefix, ...args, templateRepo(), destination], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`copier copy failed: ${result.stderr}`);
}

/** Every file under `root` by relative path, with its bytes. */
export function treeBytes(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(root, full), fs.readFileSync(full));
    }
  };
  walk(root);
  return files;
}

/** One dry run: the form values a user enters, and the copier answers they stand for. */
export type AnswerSet = { id: string; values: Record<string, string>; answers: Record<string, string> };

/** The answer sets tests/test_backstage_module.py derives from copier.yml (a JSON file). */
export function answerSets(): AnswerSet[] {
  const file = required(
    'GOLDEN_PATH_ANSWER_SETS',
    'a JSON file of answer sets (tests/test_backstage_module.py writes one from copier.yml)',
  );
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
