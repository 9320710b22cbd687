import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

// The public names of 'frugal' and 'frugal/node', pinned: adding, removing or renaming an export
// is a decision, made by updating test/exports.snapshot.json in the same commit.
const SNAPSHOT = 'test/exports.snapshot.json';

async function names(entry: string): Promise<string[]> {
  return Object.keys(await import(entry)).sort();
}

describe('exported names', () => {
  it("'frugal' and 'frugal/node' export exactly the names in the snapshot", async () => {
    const want = JSON.parse(readFileSync(SNAPSHOT, 'utf8'));
    const got = {
      frugal: await names('../src/index.ts'),
      'frugal/node': await names('../src/node.ts'),
    };
    if (process.env.UPDATE_EXPORTS_SNAPSHOT === '1') {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(SNAPSHOT, `${JSON.stringify(got, null, 1)}\n`);
      return;
    }
    for (const entry of ['frugal', 'frugal/node'] as const) {
      const added = got[entry].filter((n) => !want[entry].includes(n));
      const removed = want[entry].filter((n: string) => !got[entry].includes(n));
      assert.deepEqual(
        { added, removed },
        { added: [], removed: [] },
        `${entry}: exports differ from ${SNAPSHOT} (UPDATE_EXPORTS_SNAPSHOT=1 rewrites it)`,
      );
    }
  });
});
