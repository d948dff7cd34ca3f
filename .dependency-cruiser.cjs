/**
 * Import rules (dependency-cruiser, `npm run lint`). Layers point down only:
 *   platform (lib/, stores/, outbox/, events/)  <-  domains (orders/, stock/, catalog/, carts/, users/, payments/,
 *   search/, analytics/, recommendations/, notifications/, demo/)  <-  orchestration (workflows/, activities/)
 *   <-  adapters (api/, workers/, scripts/, bench/).
 */
const PLATFORM = '^(lib|stores|outbox|events)/';
const DOMAINS = '^(orders|stock|catalog|carts|users|payments|search|analytics|recommendations|notifications|demo)/';
const ORCHESTRATION = '^(workflows|activities)/';
const ADAPTERS = '^(api|workers|scripts|bench)/';
// The order model still lives in workflows/types.ts (it moves to orders/ with the saga's restructuring); until
// then domains may import its types, and only its types.
const ORDER_MODEL = '^workflows/(types|messages)\\.ts$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles.', from: {}, to: { circular: true } },
    {
      name: 'platform-imports-platform-only',
      severity: 'error',
      comment: 'Platform code (config, logging, store clients, outbox, event contracts) knows no domain.',
      from: { path: PLATFORM },
      to: { path: [DOMAINS, ORCHESTRATION, ADAPTERS] },
    },
    {
      name: 'domain-not-up',
      severity: 'error',
      comment: 'Domains do not import orchestration or adapters (api/ maps domain errors to HTTP).',
      from: { path: DOMAINS },
      to: { path: [ORCHESTRATION, ADAPTERS], pathNot: ORDER_MODEL },
    },
    {
      name: 'domain-order-model-types-only',
      severity: 'error',
      comment: 'The order model in workflows/ is imported for its types only (temporary, see ORDER_MODEL).',
      from: { path: DOMAINS },
      to: { path: ORDER_MODEL, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'orchestration-not-adapters',
      severity: 'error',
      from: { path: ORCHESTRATION },
      to: { path: ADAPTERS },
    },
    {
      name: 'analytics-recommendations-apart',
      severity: 'error',
      comment: 'Two read models of one stream: neither imports the other.',
      from: { path: '^(analytics|recommendations)/' },
      to: { path: '^(analytics|recommendations)/', pathNot: '^$1/' },
    },
    {
      name: 'stock-table-owned-by-stock',
      severity: 'error',
      comment: 'items.stock is written by the stock module alone: only stock/ reaches its table accessor.',
      from: { pathNot: '^stock/' },
      to: { path: '^stock/table\\.ts$' },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'Production code never imports test support (the benchmarks and the fuzzer drive the platform with it).',
      from: { pathNot: '^(test/|bench/|scripts/fuzz-platform\\.ts$)' },
      to: { path: '^test/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
