import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ENV_KEYS } from '../src/app/config.js';
import { DEFAULTS } from '../src/kernel/constants.js';
import { PROVIDER_ENV_VARIABLES } from '../src/providers/provider-config.js';
import { cliEnv, eventually, REPO_ROOT, removeTempProjects, tempProject } from './support/cli.js';
import { useTestDatabase } from './support/postgres.js';
import { dockerfileEnv } from './support/dockerfile-env.js';
import { freePort } from './support/free-port.js';

/**
 * The Kubernetes manifests (deploy/kubernetes), rendered by the real `kubectl kustomize`, validated
 * against the Kubernetes API schemas (kubernetes-models; KEDA's and the Prometheus Operator's CRD
 * schemas for ScaledObject and ServiceMonitor), and checked against the real CLI and server: the
 * containers' commands exist, their variables are ones Colony reads, and a server started with the
 * API container's command line and environment answers the probes, port and metrics path the
 * manifests name, including the queue-depth metric the ScaledObject scales workers on.
 */

const KUSTOMIZATIONS = ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/production'];
const MAIN = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Container = Record<string, any>;

function render(dir: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(REPO_ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS() as K8sObject;
  });
}

/** The schema modules by apiVersion (the API groups the manifests use). */
const SCHEMAS: Record<string, () => Promise<Record<string, unknown>>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'keda.sh/v1alpha1': () => import('@kubernetes-models/keda/keda.sh/v1alpha1'),
  'monitoring.coreos.com/v1': () => import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'),
};

/** The model class of an object's apiVersion and kind, from the schema packages. */
async function modelOf(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const load = SCHEMAS[apiVersion];
  if (!load) throw new Error(`no schema module for apiVersion ${apiVersion}`);
  const model = (await load())[kind];
  if (typeof model !== 'function') throw new Error(`no schema for ${apiVersion} ${kind}`);
  return model as new (data: unknown) => { validate(): void };
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
}

function containersOf(objects: K8sObject[]): { owner: string; container: Container; pod: Container }[] {
  return objects.flatMap((o) => {
    const pod = o.spec?.template?.spec;
    return pod ? (pod.containers as Container[]).map((container) => ({ owner: `${o.kind}/${o.metadata.name}`, container, pod })) : [];
  });
}

const TEST_JWT_SECRET = 'kubernetes-test-secret-that-is-long-enough-0123456789';

function jwt(role: string): Promise<string> {
  return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject('deploy-test').setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

describe('Kubernetes manifests', () => {
  const rendered = new Map<string, K8sObject[]>();

  beforeAll(() => {
    for (const dir of KUSTOMIZATIONS) rendered.set(dir, render(dir));
  });

  it.each(KUSTOMIZATIONS)('%s renders with kubectl kustomize, and every object passes its API schema', async (dir) => {
    const objects = rendered.get(dir) as K8sObject[];
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/colony-config',
        'Deployment/colony-api',
        'Service/colony-api',
        'Deployment/colony-worker',
        'Job/colony-migrate',
        'PodDisruptionBudget/colony-api',
        'PodDisruptionBudget/colony-worker',
        'HorizontalPodAutoscaler/colony-api',
        'ScaledObject/colony-worker',
        'ServiceMonitor/colony-api',
      ]),
    );
    for (const object of objects) {
      const Model = await modelOf(object.apiVersion, object.kind);
      expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
    // A broken object is caught (the validator is not a no-op).
    const broken = structuredClone(find(objects, 'Deployment', 'colony-api'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
    const Deployment = await modelOf('apps/v1', 'Deployment');
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('the base carries only a template Secret; production leaves it out and only needs the image and the URLs edited', () => {
    const base = rendered.get(KUSTOMIZATIONS[0] as string) as K8sObject[];
    const secret = find(base, 'Secret', 'colony-secrets');
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(value === '' || value.includes('REPLACE_ME'), `${key} is a placeholder`).toBe(true);
    }
    const production = rendered.get(KUSTOMIZATIONS[1] as string) as K8sObject[];
    expect(production.some((o) => o.kind === 'Secret')).toBe(false);
    expect(production.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'colony')).toBe(true);
    for (const { owner, container } of containersOf(production)) expect(container.image, owner).toBe('registry.example.com/colony:0.1.0');
    expect(find(production, 'ConfigMap', 'colony-config').data.COLONY_REDIS_URL).toMatch(/^redis:\/\//);
  });

  it('every variable the manifests set is one Colony reads, and the commands are real CLI commands', () => {
    const known = new Set([...Object.keys(ENV_KEYS), ...Object.values(PROVIDER_ENV_VARIABLES).flatMap((v) => Object.values(v))]);
    for (const dir of KUSTOMIZATIONS) {
      const objects = rendered.get(dir) as K8sObject[];
      const names = new Set<string>(Object.keys(find(objects, 'ConfigMap', 'colony-config').data));
      const secret = objects.find((o) => o.kind === 'Secret');
      for (const key of Object.keys(secret?.stringData ?? {})) names.add(key);
      for (const { container } of containersOf(objects)) for (const e of container.env ?? []) names.add(e.name);
      // METRICS_TOKEN is Prometheus's (the ServiceMonitor's credential), not Colony's.
      names.delete('METRICS_TOKEN');
      for (const name of names) expect(known.has(name), `${name} is read by Colony`).toBe(true);

      for (const { owner, container } of containersOf(objects)) {
        const help = spawnSync(NODE, [MAIN, ...container.args, '--help'], { encoding: 'utf8', env: cliEnv() });
        expect(help.status, `${owner}: colony ${container.args.join(' ')} --help\n${help.stderr}`).toBe(0);
      }
    }
    const objects = rendered.get(KUSTOMIZATIONS[0] as string) as K8sObject[];
    expect(find(objects, 'Deployment', 'colony-api').spec.template.spec.containers[0].args).toEqual(['up', '--no-work']);
    expect(find(objects, 'Deployment', 'colony-worker').spec.template.spec.containers[0].args).toEqual(['worker']);
    expect(find(objects, 'Job', 'colony-migrate').spec.template.spec.containers[0].args).toEqual(['db', 'migrate']);
  });

  it('pods get more time to stop than the drain after SIGTERM (plus the preStop delay), run as non-root, and have resources', () => {
    for (const dir of KUSTOMIZATIONS) {
      for (const { owner, container, pod } of containersOf(rendered.get(dir) as K8sObject[])) {
        expect(pod.securityContext?.runAsNonRoot, owner).toBe(true);
        expect(container.resources?.requests?.cpu, owner).toBeDefined();
        expect(container.resources?.limits?.memory, owner).toBeDefined();
        if (owner.startsWith('Job/')) continue;
        const preStop = container.lifecycle?.preStop?.exec?.command;
        const preStopSeconds = preStop ? Number(preStop[1]) : 0;
        const drainSeconds = DEFAULTS.drainTimeoutMs / 1000;
        expect(pod.terminationGracePeriodSeconds, owner).toBeGreaterThan(preStopSeconds + drainSeconds);
      }
    }
  });

  describe('against a real server started like the API container', () => {
    const db = useTestDatabase();
    const started: ChildProcess[] = [];
    const drops: (() => Promise<void>)[] = [];

    afterEach(async () => {
      for (const child of started.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('close', r));
          child.kill('SIGTERM');
          await exited;
        }
      }
      for (const drop of drops.splice(0)) await drop();
      removeTempProjects();
    });

    it('answers the probes and the ServiceMonitor path on the container port, with the queue depth the ScaledObject reads', async () => {
      const objects = rendered.get(KUSTOMIZATIONS[0] as string) as K8sObject[];
      const api = find(objects, 'Deployment', 'colony-api').spec.template.spec.containers[0] as Container;
      const config = find(objects, 'ConfigMap', 'colony-config').data as Record<string, string>;
      const schema = await db.freshSchema();
      drops.push(() => schema.drop());
      const port = await freePort();
      // The container's environment: the image's ENV, the ConfigMap, the Secret (test values), the
      // hosts of the cluster mapped to this machine; the port an ephemeral one.
      const redisUrl = new URL(config.COLONY_REDIS_URL as string);
      expect(redisUrl.hostname).toBe('redis');
      const env: Record<string, string> = {
        ...dockerfileEnv(REPO_ROOT),
        ...config,
        COLONY_REDIS_URL: 'redis://127.0.0.1:6379/13',
        COLONY_DATABASE_URL: schema.url,
        COLONY_JWT_SECRET: TEST_JWT_SECRET,
        COLONY_PORT: String(port),
      };
      expect(env.COLONY_HOST).toBe('0.0.0.0');
      expect(env.NODE_ENV).toBe('production');
      const project = tempProject();

      // The migration Job first, then the API container's command line.
      const job = find(objects, 'Job', 'colony-migrate').spec.template.spec.containers[0] as Container;
      const migrate = spawnSync(NODE, [MAIN, ...job.args], { cwd: project.dir, env: cliEnv(env), encoding: 'utf8' });
      expect(migrate.status, migrate.stderr).toBe(0);
      expect(migrate.stdout).toMatch(/migrated postgres/);

      const child = spawn(NODE, [MAIN, ...api.args], { cwd: project.dir, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      let output = '';
      child.stdout?.on('data', (d) => (output += d));
      child.stderr?.on('data', (d) => (output += d));

      // The named port `http` is the port Colony listens on.
      const http = (api.ports as { name: string; containerPort: number }[]).find((p) => p.name === 'http');
      expect(http?.containerPort).toBe(Number(dockerfileEnv(REPO_ROOT).COLONY_PORT));
      expect(http?.containerPort).toBe(Number(config.COLONY_PORT));
      const base = `http://127.0.0.1:${port}`;
      const get = (path: string, token?: string) => fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

      await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`colony ${api.args.join(' ')} exited ${child.exitCode}: ${output}`);
        return (await get(api.livenessProbe.httpGet.path).catch(() => undefined))?.ok || undefined;
      }, 'the liveness probe to answer');
      expect(api.livenessProbe.httpGet.port).toBe('http');
      expect(api.readinessProbe.httpGet.port).toBe('http');
      const ready = await get(api.readinessProbe.httpGet.path);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });

      // The ServiceMonitor's path, with a viewer credential (as METRICS_TOKEN holds); refused without.
      const endpoint = find(objects, 'ServiceMonitor', 'colony-api').spec.endpoints[0];
      expect(endpoint.port).toBe('http');
      expect((await get(endpoint.path)).status).toBe(401);
      const viewer = await jwt('viewer');
      const scrape = async () => {
        const response = await get(endpoint.path, viewer);
        expect(response.status).toBe(200);
        return response.text();
      };
      expect(await scrape()).toMatch(/^colony_task_queue_depth 0$/m);

      // Every metric in the ScaledObject's query is exported.
      const trigger = find(objects, 'ScaledObject', 'colony-worker').spec.triggers[0];
      expect(trigger.type).toBe('prometheus');
      const metrics = [...(trigger.metadata.query as string).matchAll(/\b(colony_[a-z_]+)/g)].map((m) => m[1] as string);
      expect(metrics).toContain('colony_task_queue_depth');
      const text = await scrape();
      for (const name of metrics) expect(text).toContain(`# TYPE ${name} gauge`);
      expect(text).toMatch(/^colony_tasks\{status="running"\} 0$/m);

      // --no-work: tasks submitted here stay queued, and the gauge counts them.
      const operator = await jwt('operator');
      const created = await fetch(`${base}/api/v2/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tasks: [1, 2, 3].map((i) => ({ type: 'shell', name: `q${i}`, input: { command: `echo ${i}` } })) }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      expect(await scrape()).toMatch(/^colony_task_queue_depth 3$/m);
      expect(await scrape()).toMatch(/^colony_tasks\{status="queued"\} 3$/m);

      // SIGTERM: the process drains and exits 143 well within the grace period.
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    });
  });
});
