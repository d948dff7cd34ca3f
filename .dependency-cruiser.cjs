/**
 * Import rules (dependency-cruiser, `npm run lint`). Layers point down only:
 *   platform (lib/, stores/, outbox/, events/)  <-  domains (orders/, stock/, catalog/, carts/, users/, payments/,
 *   search/, analytics/, recommendations/, notifications/, demo/)  <-  orchestration (workflows/, activities/,
 *   read-models/)
 *   <-  adapters (api/, workers/, scripts/, bench/).
 */
const PLATFORM = '^(lib|stores|outbox|events)/';
const DOMAINS = '^(orders|stock|catalog|carts|users|payments|search|analytics|recommendations|notifications|demo)/';
const ORCHESTRATION = '^(workflows|activities|read-models)/';
const ADAPTERS = '^(api|workers|scripts|bench)/';
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
      comment:
        'Domains do not import orchestration or adapters (api/ maps domain errors to HTTP; the order model and ' +
        "the saga's messages live in orders/, and orders/saga.ts starts the workflow by name).",
      from: { path: DOMAINS },
      to: { path: [ORCHESTRATION, ADAPTERS] },
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
