import {mkdtemp, readFile, readdir, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Job} from 'kubernetes-models/batch/v1'
import {ConfigMap} from 'kubernetes-models/v1'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'

import {ROOT, fanout} from '../helpers/cli.js'
import type {CliRun} from '../helpers/cli.js'
import {postgresBackend} from '../migrate/backends.js'
import type {Backend} from '../migrate/backends.js'

const DIR = join(ROOT, 'deploy/kubernetes')

interface Recipe {
  file: string
  configMaps: ConfigMap[]
  job: Job
}

async function recipes(): Promise<Recipe[]> {
  const files = (await readdir(DIR)).filter((name) => name.endsWith('.yaml')).sort()
  return Promise.all(
    files.map(async (file) => {
      const objects = parseAllDocuments(await readFile(join(DIR, file), 'utf8')).map((document) => document.toJS())
      const configMaps = objects.filter((object) => object.kind === 'ConfigMap').map((object) => new ConfigMap(object))
      const jobs = objects.filter((object) => object.kind === 'Job').map((object) => new Job(object))
      expect(jobs, file).toHaveLength(1)
      expect(configMaps.length + jobs.length, `${file}: only ConfigMaps and one Job`).toBe(objects.length)
      return {file, configMaps, job: jobs[0]!}
    }),
  )
}

/**
 * The Job's pods as processes here: the container's args with each ConfigMap volume's mount path pointing at a
 * directory holding the ConfigMap's files, its env (a Secret's value from `secrets`), JOB_COMPLETION_INDEX set
 * as Kubernetes sets it — then `kubectl logs -l job-name=… --tail=-1 | fanout merge -` as stdout and stderr of
 * every pod one after another into the real merge.
 */
async function runRecipe(recipe: Recipe, options: {secrets?: Record<string, string>; rewrite?: (arg: string) => string} = {}): Promise<{pods: CliRun[]; merged: CliRun}> {
  const spec = recipe.job.spec!
  const pod = spec.template.spec!
  const container = pod.containers[0]!
  expect(container.command).toEqual(['fanout'])
  const mounts = new Map<string, string>()
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes!.find((candidate) => candidate.name === mount.name)!
    const configMap = recipe.configMaps.find((candidate) => candidate.metadata!.name === volume.configMap!.name)!
    const dir = await mkdtemp(join(tmpdir(), 'fanout-k8s-volume-'))
    for (const [key, value] of Object.entries(configMap.data!)) await writeFile(join(dir, key), value)
    mounts.set(mount.mountPath, dir)
  }
  const local = (arg: string) => {
    for (const [path, dir] of mounts) if (arg.startsWith(path)) return dir + arg.slice(path.length)
    return options.rewrite ? options.rewrite(arg) : arg
  }
  const env: NodeJS.ProcessEnv = {}
  for (const variable of container.env ?? []) {
    env[variable.name] = variable.value ?? options.secrets?.[`${variable.valueFrom!.secretKeyRef!.name}/${variable.valueFrom!.secretKeyRef!.key}`]
  }
  const pods = await Promise.all(
    Array.from({length: spec.completions!}, (_, index) => fanout(container.args!.map(local), {env: {...env, JOB_COMPLETION_INDEX: String(index)}})),
  )
  const merged = await fanout(['merge', '-', '--json'], {input: pods.map((run) => `${run.stderr}${run.stdout}`).join('')})
  return {pods, merged}
}

describe('deploy/kubernetes: an Indexed Job for each command', {timeout: 120_000}, () => {
  it('every manifest validates against the Kubernetes schemas at its API version (kubernetes-models), and shards as the README says', async () => {
    const found = await recipes()
    expect(found.map((recipe) => recipe.file)).toEqual(['exec.yaml', 'healthcheck.yaml', 'loadtest.yaml', 'migrate.yaml'])
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    for (const {file, configMaps, job} of found) {
      for (const configMap of configMaps) expect(() => configMap.validate(), file).not.toThrow()
      expect(() => job.validate(), file).not.toThrow()
      expect(job.apiVersion).toBe('batch/v1')
      const spec = job.spec!
      expect(spec, file).toMatchObject({completionMode: 'Indexed', parallelism: spec.completions})
      expect(spec.backoffLimitPerIndex, file).toBeGreaterThanOrEqual(1)
      expect(spec.template.spec!.restartPolicy).toBe('Never') // podFailurePolicy requires it
      const container = spec.template.spec!.containers[0]!
      expect(container.name).toBe(spec.podFailurePolicy!.rules[0]!.onExitCodes!.containerName)
      expect(container.env!.find((variable) => variable.name === 'JOB_COMPLETIONS')!.value, file).toBe(String(spec.completions))
      expect(container.args!.join(' '), file).toMatch(/--shard auto .*--json|--json .*--shard auto/)
      expect(container.args![0]).toBe(file.replace('.yaml', ''))
      expect(readme, file).toContain(`kubectl logs -l job-name=${job.metadata!.name} --tail=-1 | fanout merge -`)
    }
    // The schemas are enforced: a wrong type is refused.
    const broken = new Job({...found[0]!.job.toJSON(), spec: {...found[0]!.job.spec!, completions: 'three' as never}})
    expect(() => broken.validate()).toThrow(/completions must be integer/)
  })

  describe('the recipes run as written, the pods as processes', () => {
    let server: Server
    let base: string
    let backend: Backend
    beforeAll(async () => {
      server = createServer((_request, response) => response.end('ok'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
      backend = await postgresBackend()
    })
    afterAll(async () => {
      server.closeAllConnections()
      server.close()
      await backend.close()
    })
    // The services the manifests name, served here.
    const toLocal = (text: string) => text.replaceAll(/http:\/\/[a-z.-]+\.svc\.cluster\.local:8080/g, base)

    const byFile = async (file: string) => (await recipes()).find((recipe) => recipe.file === file)!

    it('exec', async () => {
      const {pods, merged} = await runRecipe(await byFile('exec.yaml'))
      for (const pod of pods) expect(pod.code, pod.stderr).toBe(0)
      expect(merged.code, merged.stderr).toBe(0)
      const report = JSON.parse(merged.stdout)
      expect(report.summary).toMatchObject({total: 10, succeeded: 10})
      expect(report.results.map((r: {stdout: string[]}) => r.stdout[0])).toEqual(
        ['eu-west-1', 'eu-west-2', 'eu-central-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ap-south-1', 'ap-northeast-1', 'sa-east-1'].map((region, i) => `region ${region} (target ${i}): done`),
      )
    })

    it('healthcheck', async () => {
      const recipe = await byFile('healthcheck.yaml')
      for (const configMap of recipe.configMaps) configMap.data = Object.fromEntries(Object.entries(configMap.data!).map(([key, value]) => [key, toLocal(value)]))
      const {merged} = await runRecipe(recipe)
      expect(merged.code, merged.stderr).toBe(0)
      expect(JSON.parse(merged.stdout).summary).toMatchObject({total: 12, succeeded: 12})
    })

    it('loadtest', async () => {
      const {pods, merged} = await runRecipe(await byFile('loadtest.yaml'), {rewrite: toLocal})
      for (const pod of pods) expect(pod.code, pod.stderr).toBe(0)
      expect(merged.code, merged.stderr).toBe(0)
      const report = JSON.parse(merged.stdout)
      expect(report.summary).toMatchObject({requests: 30000, completed: 30000})
      expect(report.config.workers).toBe(30)
      expect(report.thresholds).toMatchObject([{expression: 'p99<500ms'}]) // the shards' gate, judged on the whole
    })

    it('migrate', async () => {
      const {pods, merged} = await runRecipe(await byFile('migrate.yaml'), {secrets: {'fanout-database/url': backend.url}})
      for (const pod of pods) expect(pod.code, pod.stderr).toBe(0)
      expect(merged.code, merged.stderr).toBe(0)
      const report = JSON.parse(merged.stdout)
      expect(report.summary).toMatchObject({total: 10, succeeded: 10})
      expect(report.results.every((r: {version: string}) => r.version === '2')).toBe(true)
      const rows = await backend.query<{n: number}>("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'")
      expect(rows[0]!.n).toBe(10)
    })
  })
})
