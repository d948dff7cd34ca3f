/** The analytics pipeline's settings from the platform configuration (lib/config.ts). */
import type { Config } from '../lib/config';
import { DEFAULT_WEIGHTS } from '../recommendations/effects';
import type { PipelineSettings } from './pipeline';

export function pipelineSettings(cfg: Config, prefix = cfg.ANALYTICS_REDIS_PREFIX): PipelineSettings {
  const userTtl = Math.ceil(cfg.RECS_TTL / 1000);
  return {
    prefix,
    bucketTtl: Math.ceil(cfg.ANALYTICS_BUCKET_TTL / 1000),
    dedupeTtl: Math.ceil(cfg.ANALYTICS_DEDUPE_TTL / 1000),
    recs: {
      userTtl,
      historyCap: cfg.RECS_HISTORY_CAP,
      maxOrderItems: 20,
      weights: DEFAULT_WEIGHTS,
      coCap: cfg.RECS_CO_CAP,
      crossLimit: 20,
    },
  };
}
