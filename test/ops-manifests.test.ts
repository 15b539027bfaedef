// Deployment files checked for what breaks deployments quietly: every compose service health-checked,
// restarted and limited (or saying why not), every Kubernetes Deployment probed and given resources, images
// pinned, autoscalers pointing at real Deployments, and alerts and dashboards naming metrics Conduit exports.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { auditGauges } from '../audit/monitor.js';
import { createMetrics } from '../core/metrics.js';
import { projectRoot } from './support/platform.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked by shape; the assertions are the type check.
type Doc = Record<string, any>;

const read = (path: string) => readFile(join(projectRoot, path), 'utf8');
const readYaml = async (path: string): Promise<Doc> => parse(await read(path), { merge: true }) as Doc;

async function k8sDocuments(): Promise<Array<{ file: string; doc: Doc }>> {
  const dir = join(projectRoot, 'deploy/k8s');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.yaml')).sort();
  const documents: Array<{ file: string; doc: Doc }> = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      expect(document.errors, `${file}: ${document.errors.join('; ')}`).toEqual([]);
      const doc = document.toJS() as Doc | null;
      if (doc) documents.push({ file, doc });
    }
  }
  return documents;
}

/** A tag that names one release: present, not `latest`, not a bare major version like `postgres:16`. */
function expectPinned(image: string, where: string) {
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  expect(tag, `${where}: image ${image} has no tag`).toBeDefined();
  expect(tag, `${where}: image ${image} uses latest`).not.toMatch(/latest/);
  expect(tag, `${where}: image ${image} is not pinned to a release`).toMatch(/[.-]|\$\{/);
}

/** conduit_* series names Conduit's registry exports, with histogram suffixes. */
async function exportedConduitSeries(): Promise<Set<string>> {
  const metrics = createMetrics();
  // API processes also export the audit chain's gauges, registered by the audit monitor.
  auditGauges(metrics.registry);
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    if (String(metric.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

const conduitNamesIn = (text: string) => new Set(text.match(/\bconduit_[a-z0-9_]+/g) ?? []);

describe('docker-compose.yml', () => {
  it('gives every service a healthcheck (or a stated exemption), a restart policy and resource limits', async () => {
    const compose = await readYaml('docker-compose.yml');
    const services = Object.entries(compose.services as Record<string, Doc>);
    expect(services.length).toBeGreaterThanOrEqual(10);
    for (const [name, service] of services) {
      if (service['x-ops-exempt'] === undefined) {
        expect(service.healthcheck?.test, `${name}: healthcheck.test`).toBeDefined();
      } else {
        expect(String(service['x-ops-exempt']).length, `${name}: x-ops-exempt says why`).toBeGreaterThan(10);
      }
      expect(
        ['always', 'unless-stopped'].includes(service.restart) || /^on-failure/.test(service.restart ?? ''),
        name,
      ).toBe(true);
      expect(service.deploy?.resources?.limits?.memory, `${name}: memory limit`).toBeDefined();
      expect(service.deploy?.resources?.limits?.cpus, `${name}: cpu limit`).toBeDefined();
      if (service.image) expectPinned(service.image, name);
      else expect(service.build, `${name}: image or build`).toBeDefined();
    }
  });

  it('declares every named volume and keeps secrets in the environment', async () => {
    const compose = await readYaml('docker-compose.yml');
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, service] of Object.entries(compose.services as Record<string, Doc>)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) {
          expect(declared.has(source), `${name}: volume ${source} declared`).toBe(true);
        }
      }
      for (const [key, value] of Object.entries((service.environment ?? {}) as Record<string, unknown>)) {
        if (/PASSWORD|SECRET|_KEY$|TOKEN/.test(key) && typeof value === 'string' && value !== '') {
          expect(value, `${name}: ${key} comes from the environment`).toMatch(/^\$\{[A-Z_]+(:-[^}]*)?\}$/);
        }
      }
    }
  });

  it('runs the production shape: nginx over two API replicas, worker replicas, Temporal on PostgreSQL, profiles', async () => {
    const { services } = await readYaml('docker-compose.yml');
    expect(String(services.api.deploy.replicas)).toMatch(/2/);
    expect(services.api.ports).toBeUndefined();
    expect(services.worker.deploy.replicas).toBeDefined();
    expect(services.worker.environment.METRICS_PORT).toBeDefined();
    expect(services.worker.environment.TEMPORAL_SDK_METRICS_PORT).toBeDefined();
    expect(services.nginx.depends_on.api).toBeDefined();
    expect(services.nginx.volumes.join()).toContain('deploy/nginx/conduit.conf');
    expect(services.temporal.environment.DB).toMatch(/^postgres/);
    expect(services['temporal-ui'].environment.TEMPORAL_CODEC_ENDPOINT).toContain('/codec');
    for (const name of ['prometheus', 'alertmanager', 'grafana']) expect(services[name], name).toBeDefined();
    expect(services.vllm.profiles).toEqual(['llm']);
    expect(services.vllm.deploy.resources.reservations.devices[0].capabilities).toEqual(['gpu']);
    for (const name of ['elasticsearch', 'logstash', 'filebeat', 'kibana']) {
      expect(services[name].profiles, name).toEqual(['elk']);
    }
  });
});

describe('the Temporal server in production', () => {
  it('compose and stack:prod bound its history cache, which otherwise grows with every run up to 128,000 entries', async () => {
    const { services } = await readYaml('docker-compose.yml');
    const mount = (services.temporal.volumes as string[]).find((volume) =>
      volume.startsWith('./deploy/temporal/dynamicconfig.yaml:'),
    );
    expect(mount).toBeDefined();
    // The auto-setup image resolves the path from /etc/temporal.
    expect(mount!.split(':')[1]).toBe(`/etc/temporal/${services.temporal.environment.DYNAMIC_CONFIG_FILE_PATH}`);
    const dynamic = await readYaml('deploy/temporal/dynamicconfig.yaml');
    const bound = dynamic['history.hostLevelCacheMaxSize'][0].value;
    expect(bound).toBeGreaterThan(0);
    expect(bound).toBeLessThanOrEqual(8096); // the Temporal CLI's dev server uses 8096
    expect(await read('scripts/prod-stack.ts')).toContain('deploy/temporal/dynamicconfig.yaml');
  });
});

describe('the Temporal UI in production', () => {
  it('compose: signs people in with the provider Conduit trusts and forwards their token to the codec', async () => {
    const compose = await readYaml('docker-compose.yml');
    const ui = compose.services['temporal-ui'].environment as Doc;
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toContain('/codec');
    // On unless an operator turns it off (a default of false would send no token, and decode nothing).
    expect(ui.TEMPORAL_CODEC_PASS_ACCESS_TOKEN).toMatch(/^\$\{TEMPORAL_CODEC_PASS_ACCESS_TOKEN:-true\}$/);
    expect(ui.TEMPORAL_AUTH_TYPE).toBe('oidc');
    for (const key of ['ENABLED', 'CLIENT_ID', 'CLIENT_SECRET', 'CALLBACK_URL', 'SCOPES']) {
      expect(ui[`TEMPORAL_AUTH_${key}`], `TEMPORAL_AUTH_${key}`).toBeDefined();
    }
    expect(ui.TEMPORAL_AUTH_SCOPES).toContain('openid');
    // One identity provider for both: the UI's sign-in and the tokens Conduit's /codec verifies.
    const conduit = compose['x-conduit-env'] as Doc;
    expect(ui.TEMPORAL_AUTH_PROVIDER_URL).toBe(conduit.OIDC_ISSUER);
    expect(conduit.OIDC_AUDIENCE).toBeDefined();
    for (const role of ['api', 'worker']) expect(compose.services[role].environment.OIDC_ISSUER, role).toBeDefined();
  });

  it('kubernetes: the same, with the client secret from a Secret and the issuer Conduit trusts', async () => {
    const documents = await k8sDocuments();
    const configMap = (name: string) =>
      documents.find(({ doc }) => doc.kind === 'ConfigMap' && doc.metadata.name === name)!.doc.data as Doc;
    const ui = configMap('temporal-ui-config');
    const conduit = configMap('conduit-config');
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toMatch(/^https:\/\/.+\/codec$/);
    expect(ui.TEMPORAL_CODEC_PASS_ACCESS_TOKEN).toBe('true');
    expect(ui.TEMPORAL_AUTH_ENABLED).toBe('true');
    expect(ui.TEMPORAL_AUTH_PROVIDER_URL).toBe(conduit.OIDC_ISSUER);
    expect(conduit.OIDC_AUDIENCE).toBeTruthy();
    expect(conduit.TEMPORAL_UI_ORIGIN).toBe(new URL(ui.TEMPORAL_AUTH_CALLBACK_URL).origin);
    const deployment = documents.find(({ doc }) => doc.kind === 'Deployment' && doc.metadata.name === 'temporal-ui')!;
    const container = deployment.doc.spec.template.spec.containers[0] as Doc;
    expect(container.envFrom[0].configMapRef.name).toBe('temporal-ui-config');
    const secret = (container.env as Doc[]).find((entry) => entry.name === 'TEMPORAL_AUTH_CLIENT_SECRET');
    expect(secret?.valueFrom?.secretKeyRef?.name).toBe('temporal-ui-secrets');
  });
});

describe('Kubernetes manifests', () => {
  it('give every Deployment liveness and readiness probes, resource requests and limits, pinned images', async () => {
    const deployments = (await k8sDocuments()).filter(({ doc }) => doc.kind === 'Deployment');
    expect(deployments.map(({ doc }) => doc.metadata.name).sort()).toEqual([
      'conduit-api',
      'conduit-worker',
      'temporal-ui',
    ]);
    for (const { file, doc } of deployments) {
      const where = `${file} ${doc.metadata.name}`;
      for (const [key, value] of Object.entries(doc.spec.selector.matchLabels as Record<string, string>)) {
        expect(doc.spec.template.metadata.labels[key], `${where}: pod label ${key} matches the selector`).toBe(value);
      }
      for (const container of doc.spec.template.spec.containers as Doc[]) {
        const ports = new Set((container.ports ?? []).map((port: Doc) => port.name));
        for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
          expect(container[probe]?.httpGet?.path, `${where}: ${probe}`).toBeDefined();
          expect(ports.has(container[probe].httpGet.port), `${where}: ${probe} port is a named container port`).toBe(
            true,
          );
        }
        expect(container.resources?.requests?.cpu, `${where}: cpu request`).toBeDefined();
        expect(container.resources?.requests?.memory, `${where}: memory request`).toBeDefined();
        expect(container.resources?.limits?.memory, `${where}: memory limit`).toBeDefined();
        expectPinned(container.image, where);
      }
    }
  });

  it('autoscale the API on CPU and the workers on CPU and the task-queue backlog, one HPA per Deployment', async () => {
    const documents = await k8sDocuments();
    const deployments = new Set(
      documents.filter(({ doc }) => doc.kind === 'Deployment').map(({ doc }) => doc.metadata.name),
    );
    const hpas = documents.filter(({ doc }) => doc.kind === 'HorizontalPodAutoscaler').map(({ doc }) => doc);
    const targets = hpas.map((hpa) => hpa.spec.scaleTargetRef.name);
    expect(new Set(targets).size, 'two HPAs on one Deployment fight each other').toBe(targets.length);
    for (const target of targets) expect(deployments.has(target), `HPA target ${target}`).toBe(true);
    const metricsOf = (name: string) =>
      hpas.find((hpa) => hpa.spec.scaleTargetRef.name === name)!.spec.metrics as Doc[];
    expect(metricsOf('conduit-api').map((metric) => metric.resource?.name)).toContain('cpu');
    const worker = metricsOf('conduit-worker');
    expect(worker.map((metric) => metric.resource?.name)).toContain('cpu');
    const external = worker.find((metric) => metric.type === 'External');
    expect(external?.external.metric.name).toBe('temporal_task_queue_backlog');
    const adapter = documents.find(({ file }) => file === 'prometheus-adapter.yaml')!.doc;
    expect(adapter.rules.external.map((rule: Doc) => rule.name.as)).toContain('temporal_task_queue_backlog');
  });

  it('select real pods from every Service and list only existing files in the kustomization', async () => {
    const documents = await k8sDocuments();
    const podLabels = documents
      .filter(({ doc }) => doc.kind === 'Deployment')
      .map(({ doc }) => doc.spec.template.metadata.labels as Record<string, string>);
    for (const { doc } of documents.filter(({ doc }) => doc.kind === 'Service')) {
      const selector = doc.spec.selector as Record<string, string>;
      expect(
        podLabels.some((labels) => Object.entries(selector).every(([key, value]) => labels[key] === value)),
        `Service ${doc.metadata.name} selects a Deployment's pods`,
      ).toBe(true);
    }
    const kustomization = documents.find(({ doc }) => doc.kind === 'Kustomization')!.doc;
    const files = new Set(documents.map(({ file }) => file));
    for (const resource of kustomization.resources as string[]) expect(files.has(resource), resource).toBe(true);
  });
});

describe('monitoring configuration', () => {
  it('gives every alert a severity, a summary and a description, and a promtool test that makes it fire', async () => {
    const alerts = await readYaml('deploy/prometheus/alerts.yml');
    const tests = await readYaml('deploy/prometheus/alerts.test.yml');
    const firingInTests = new Set(
      (tests.tests as Doc[]).flatMap((test) =>
        (test.alert_rule_test as Doc[]).filter((rule) => rule.exp_alerts.length > 0).map((rule) => rule.alertname),
      ),
    );
    for (const rule of (alerts.groups as Doc[]).flatMap((group) => group.rules as Doc[])) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(firingInTests.has(rule.alert), `${rule.alert} has a firing case in alerts.test.yml`).toBe(true);
    }
  });

  it('names only conduit_ metrics that Conduit exports, in the alerts and the Grafana dashboard', async () => {
    const exported = await exportedConduitSeries();
    const dashboard = await read('deploy/grafana/dashboards/conduit.json');
    for (const [file, text] of [
      ['alerts.yml', await read('deploy/prometheus/alerts.yml')],
      ['conduit.json', dashboard],
    ] as const) {
      const unknown = [...conduitNamesIn(text)].filter((name) => !exported.has(name));
      expect(unknown, `${file} names metrics nobody exports`).toEqual([]);
    }
    const parsed = JSON.parse(dashboard) as { panels: Array<{ type: string; datasource?: { uid: string } }> };
    const datasource = await readYaml('deploy/grafana/provisioning/datasources/prometheus.yml');
    const uid = datasource.datasources[0].uid;
    for (const panel of parsed.panels.filter((p) => p.type !== 'row')) expect(panel.datasource?.uid).toBe(uid);
  });

  it('routes Alertmanager only to receivers it defines', async () => {
    const config = await readYaml('deploy/alertmanager/alertmanager.yml');
    const receivers = new Set((config.receivers as Doc[]).map((receiver) => receiver.name));
    const routes = [config.route, ...((config.route.routes ?? []) as Doc[])];
    for (const route of routes)
      expect(receivers.has(route.receiver ?? config.route.receiver), route.receiver).toBe(true);
  });

  it('ships Kibana saved objects whose searches point at the shipped data view', async () => {
    const lines = (await read('deploy/elk/kibana-saved-objects.ndjson')).trim().split('\n');
    const objects = lines.map((line) => JSON.parse(line) as Doc);
    const ids = new Set(objects.map((object) => object.id));
    const searches = objects.filter((object) => object.type === 'search');
    expect(searches.map((search) => search.attributes.title)).toContain('Conduit failed runs');
    for (const search of searches) {
      for (const reference of search.references as Doc[]) expect(ids.has(reference.id), reference.id).toBe(true);
      const source = JSON.parse(search.attributes.kibanaSavedObjectMeta.searchSourceJSON) as Doc;
      expect(source.query.language).toBe('kuery');
    }
    const filebeat = await readYaml('deploy/elk/filebeat.yml');
    expect(filebeat['output.logstash'].hosts[0]).toContain('5044');
  });
});
