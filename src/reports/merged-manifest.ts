/**
 * merged.json: what `edgeproof merge` made of a night's shards. It embeds
 * every run's full result (so a diff needs nothing else) and names every gap:
 * a shard or a cell whose results are missing or corrupt.
 */
import { z } from 'zod';

export const MERGED_FILE = 'merged.json';
export const MERGED_SCHEMA_VERSION = 1;

export const shardStatusSchema = z.enum(['ok', 'partial', 'missing', 'corrupt']);
export type ShardStatus = z.infer<typeof shardStatusSchema>;

export const mergedManifestSchema = z.object({
  schemaVersion: z.literal(MERGED_SCHEMA_VERSION),
  kind: z.literal('edgeproof-merged'),
  mergedAt: z.string(),
  verdict: z.enum(['PASS', 'FAIL']),
  shards: z.array(
    z.object({
      name: z.string(),
      path: z.string(),
      status: shardStatusSchema,
      problems: z.array(z.string()),
      runIds: z.array(z.string()),
    }),
  ),
  gaps: z.array(z.string()),
  runs: z.array(
    z.object({
      runId: z.string(),
      cell: z.string(),
      shard: z.string(),
      /** The copied run directory, relative to merged.json. */
      dir: z.string(),
      outcome: z.string(),
      exitCode: z.number().int(),
      result: z.unknown(),
    }),
  ),
});

export type MergedManifest = z.infer<typeof mergedManifestSchema>;
