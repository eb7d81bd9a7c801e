/**
 * A child that loads one claude-mem checkout and answers with what the target declares (its
 * description, checkout and era), then exits: how a command learns about a claude-mem target
 * without loading claude-mem into leaksim's own process (isolation.ts).
 */
import { InputError } from '../../../src/input-error.ts';
import { claudeMemTarget } from './target.ts';

const [name, source] = process.argv.slice(2) as [string, string];
try {
  const { factory: _factory, ...described } = await claudeMemTarget(name, source);
  process.send!({ kind: 'described', target: described }, () => process.exit(0));
} catch (error) {
  const reply =
    error instanceof InputError
      ? { kind: 'input-error', file: error.file, line: error.line, field: error.field, problem: error.problem }
      : { kind: 'crash', message: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  process.send!(reply, () => process.exit(0));
}
