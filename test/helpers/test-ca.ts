import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** PEM files of a CA made for one test run, and of certificates it signed. */
export interface TestCa {
  dir: string
  /** The CA's certificate file (what --ca or NODE_EXTRA_CA_CERTS names). */
  caFile: string
  ca: Buffer
  /** Signs a certificate for these DNS names and IP addresses; `client` for TLS client authentication. */
  issue(name: string, altNames: string[], client?: boolean): {certFile: string; keyFile: string; cert: Buffer; key: Buffer}
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})

/** A fresh P-256 CA in a temporary directory, made with openssl at test time: nothing else trusts it. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-test-ca-'))
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=fanout test CA'], dir)
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca: readFileSync(join(dir, 'ca.pem')),
    issue(name, altNames, client = false) {
      const san = altNames.map((alt) => (/^[\d.]+$|:/.test(alt) ? `IP:${alt}` : `DNS:${alt}`)).join(',')
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san || 'DNS:none.invalid'}\nextendedKeyUsage=${client ? 'clientAuth' : 'serverAuth'}\n`)
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir)
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir)
      const certFile = join(dir, `${name}.pem`)
      const keyFile = join(dir, `${name}-key.pem`)
      return {certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile)}
    },
  }
}
