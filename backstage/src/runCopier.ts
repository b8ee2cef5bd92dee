/**
 * Runs the copier CLI as a child process, without a shell, streaming its output to the
 * task log and turning copier's refusal of an answer into an error that carries copier's
 * own message.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { InputError } from '@backstage/errors';
import type { LoggerService } from '@backstage/backend-plugin-api';

/** How copier is started and how long a render may take. */
export type CopierRunOptions = {
  /** The command that runs copier, program first, e.g. `['copier']` or a uvx line. */
  command: string[];
  /** Arguments after the command (`copy ...`). */
  args: string[];
  logger: LoggerService;
  /** Stops the render when the task is cancelled. */
  signal?: AbortSignal;
  /** Kills copier after this long; a hung git clone must not hold a task forever. */
  timeoutMs: number;
};

// copier prints this header, then one `  - <question> ...` line per refused answer (its
// validator messages), then a closing line; see copier's `_main.py`.
const REFUSAL_HEADER = /answers given with --data or --data-file are invalid/;
const REFUSAL_ITEM = /^\s+- (.*)$/;
// Lines kept for the error when copier fails for another reason (a bad ref, no git).
const TAIL_LINES = 20;

/** copier's messages for refused answers in `stderr`, one per refused answer. */
export function refusedAnswers(stderr: string[]): string[] {
  const start = stderr.findIndex(line => REFUSAL_HEADER.test(line));
  if (start < 0) return [];
  const items: string[] = [];
  for (const line of stderr.slice(start + 1)) {
    const match = REFUSAL_ITEM.exec(line);
    if (!match) break;
    items.push(match[1]);
  }
  return items;
}

/**
 * Run copier and resolve when it exits 0. A refused answer rejects with an InputError
 * holding copier's validator messages; any other failure with an Error holding the end of
 * copier's output.
 */
export async function runCopier(options: CopierRunOptions): Promise<void> {
  const [program, ...prefix] = options.command;
  if (!program) throw new InputError('the copier command is empty');
  const child = spawn(program, [...prefix, ...options.args], {
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A template URL that needs credentials must fail, not wait for a prompt.
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', NO_COLOR: '1' },
  });
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', line => options.logger.info(line));
  createInterface({ input: child.stderr }).on('line', line => {
    stderr.push(line);
    options.logger.info(line);
  });

  const stop = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, options.timeoutMs);
  try {
    const exit = await new Promise<{ code: number | null; signal: string | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      },
    ).catch(error => {
      throw new Error(`could not start copier (${options.command.join(' ')}): ${error.message}`);
    });
    if (exit.code === 0) return;
    const refused = refusedAnswers(stderr);
    if (refused.length > 0) {
      throw new InputError(`copier refused the answers: ${refused.join('; ')}`);
    }
    if (options.signal?.aborted) throw new Error('copier was stopped: the task was cancelled');
    const how = exit.signal ? `was killed (${exit.signal})` : `exited with code ${exit.code}`;
    const tail = stderr.slice(-TAIL_LINES).join('\n');
    throw new Error(`copier ${how}:\n${tail}`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
}
