import {describe, expect, it} from 'vitest'

import {UsageError} from '../../src/cli/errors.js'
import {parseCondition} from '../../src/health/conditions.js'
import type {ProbeResult} from '../../src/health/types.js'

const NOW = new Date('2025-06-01T00:00:00Z')
const HOUR = 3_600_000

function probe(overrides: Partial<ProbeResult> = {}): ProbeResult {
  return {connected: true, responseTimeMs: 120, phases: {}, ...overrides}
}

const api = probe({
  status: 200,
  ip: '127.0.0.1',
  certificateExpiresAt: new Date(NOW.getTime() + 100 * HOUR),
  body: JSON.stringify({
    status: 'UP',
    version: '2.10',
    count: 3,
    healthy: true,
    nothing: null,
    empty: '',
    items: [{name: 'db', latency: 12}, {name: 'cache', tags: ['hot', 'eu']}],
    checks: {db: 'UP', queue: 'DOWN'},
  }),
})

function evaluate(condition: string, result: ProbeResult = api) {
  return parseCondition(condition, 'test').evaluate(result, NOW)
}

const holds = (condition: string, result: ProbeResult = api): boolean => evaluate(condition, result).ok

function parseError(condition: string, where = 'checks.yaml:14'): string {
  try {
    parseCondition(condition, where)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as UsageError).line
  }
  throw new Error(`expected ${JSON.stringify(condition)} to be refused`)
}

describe('conditions: placeholders', () => {
  it('[STATUS] compares the status code with every operator', () => {
    const cases: [string, boolean][] = [
      ['[STATUS] == 200', true],
      ['[STATUS] == 201', false],
      ['[STATUS] != 500', true],
      ['[STATUS] != 200', false],
      ['[STATUS] < 300', true],
      ['[STATUS] < 200', false],
      ['[STATUS] <= 200', true],
      ['[STATUS] <= 199', false],
      ['[STATUS] > 199', true],
      ['[STATUS] > 200', false],
      ['[STATUS] >= 200', true],
      ['[STATUS] >= 201', false],
    ]
    for (const [condition, ok] of cases) expect(holds(condition), condition).toBe(ok)
  })

  it('reports the condition as written and the value seen, Gatus style', () => {
    expect(evaluate('[STATUS] == 200', probe({status: 503}))).toEqual({
      condition: '[STATUS] == 200',
      ok: false,
      actual: '[STATUS] (503) == 200',
    })
  })

  it('reads operators without spaces and never splits <= or >=', () => {
    expect(holds('[STATUS]==200')).toBe(true)
    expect(holds('[STATUS]<=200')).toBe(true)
    expect(holds('[STATUS]>=200')).toBe(true)
    expect(holds('[STATUS]!=200')).toBe(false)
    expect(evaluate('[STATUS]<=200').actual).toBe('[STATUS] (200) <= 200')
    expect(holds('[BODY].count>=3')).toBe(true)
    expect(parseCondition('  [STATUS] == 200  ', 'x').text).toBe('[STATUS] == 200')
  })

  it('[RESPONSE_TIME] takes milliseconds or durations and shows the time formatted', () => {
    const slow = probe({responseTimeMs: 1500})
    expect(holds('[RESPONSE_TIME] < 2000', slow)).toBe(true)
    expect(holds('[RESPONSE_TIME] < 1000', slow)).toBe(false)
    expect(holds('[RESPONSE_TIME] < 2s', slow)).toBe(true)
    expect(holds('[RESPONSE_TIME] < 300ms', slow)).toBe(false)
    expect(holds('[RESPONSE_TIME] >= 1.5s', slow)).toBe(true)
    expect(holds('[RESPONSE_TIME] > 1m', slow)).toBe(false)
    expect(evaluate('[RESPONSE_TIME] < 300ms', slow).actual).toBe('[RESPONSE_TIME] (1.50s) < 300ms')
  })

  it('[CERTIFICATE_EXPIRATION] is the time left, compared with durations or milliseconds', () => {
    expect(holds('[CERTIFICATE_EXPIRATION] > 48h')).toBe(true)
    expect(holds('[CERTIFICATE_EXPIRATION] > 336h')).toBe(false)
    expect(holds('[CERTIFICATE_EXPIRATION] > 30m')).toBe(true)
    expect(holds(`[CERTIFICATE_EXPIRATION] < ${101 * HOUR}`)).toBe(true)
    expect(holds(`[CERTIFICATE_EXPIRATION] == ${100 * HOUR}`)).toBe(true)
    expect(evaluate('[CERTIFICATE_EXPIRATION] > 336h').actual).toBe('[CERTIFICATE_EXPIRATION] (100h0m) > 336h')
  })

  it('[CERTIFICATE_EXPIRATION] is negative once expired, and `now` defaults to the present', () => {
    const expired = probe({certificateExpiresAt: new Date(NOW.getTime() - 2 * HOUR)})
    expect(evaluate('[CERTIFICATE_EXPIRATION] > 0', expired)).toEqual({
      condition: '[CERTIFICATE_EXPIRATION] > 0',
      ok: false,
      actual: '[CERTIFICATE_EXPIRATION] (expired 2h0m ago) > 0',
    })
    expect(holds(`[CERTIFICATE_EXPIRATION] > ${-3 * HOUR}`, expired)).toBe(true)
    const soon = probe({certificateExpiresAt: new Date(Date.now() + HOUR)})
    expect(parseCondition('[CERTIFICATE_EXPIRATION] > 30m', 'test').evaluate(soon).ok).toBe(true)
    expect(parseCondition('[CERTIFICATE_EXPIRATION] > 2h', 'test').evaluate(soon).ok).toBe(false)
  })

  it('[CONNECTED] is true or false', () => {
    expect(holds('[CONNECTED] == true')).toBe(true)
    expect(holds('[CONNECTED] != false')).toBe(true)
    expect(holds('[CONNECTED] == true', probe({connected: false}))).toBe(false)
    expect(evaluate('[CONNECTED] == true', probe({connected: false})).actual).toBe('[CONNECTED] (false) == true')
    expect(holds('[CONNECTED] == false', probe({connected: false}))).toBe(true)
  })

  it('[IP] is text', () => {
    expect(holds('[IP] == 127.0.0.1')).toBe(true)
    expect(holds('[IP] != 127.0.0.1')).toBe(false)
    expect(holds('[IP] == "::1"', probe({ip: '::1'}))).toBe(true)
  })

  it('[BODY] is the body as sent, compared as a number when both sides are numbers', () => {
    const plain = probe({body: 'OK'})
    expect(holds('[BODY] == OK', plain)).toBe(true)
    expect(holds('[BODY] == "OK"', plain)).toBe(true)
    expect(holds('[BODY] != OK', plain)).toBe(false)
    expect(holds('[BODY] == ok', plain)).toBe(false)
    expect(holds('[BODY] == hello world', probe({body: 'hello world'}))).toBe(true)
    expect(holds('[BODY] > 40', probe({body: '42'}))).toBe(true)
    expect(holds('[BODY] == 42.0', probe({body: '42'}))).toBe(true)
    expect(holds('[BODY] < 40', plain)).toBe(false)
    expect(holds('[BODY] == []', probe({body: '[]'}))).toBe(true)
  })

  it('shows a long body cut short, and control characters escaped so `actual` stays one line', () => {
    const long = probe({body: 'x'.repeat(200)})
    expect(evaluate('[BODY] == OK', long).actual).toBe(`[BODY] (${'x'.repeat(80)}…) == OK`)
    expect(evaluate('[BODY] == OK', probe({body: 'OK\n'})).actual).toBe('[BODY] (OK\\n) == OK')
  })
})

describe('conditions: JSON paths into the body', () => {
  it('follows keys, nesting and array indexes', () => {
    expect(holds('[BODY].status == UP')).toBe(true)
    expect(holds('[BODY].status == DOWN')).toBe(false)
    expect(holds('[BODY].checks.db == UP')).toBe(true)
    expect(holds('[BODY].checks.queue != UP')).toBe(true)
    expect(holds('[BODY].items[0].name == db')).toBe(true)
    expect(holds('[BODY].items[1].tags[1] == eu')).toBe(true)
    expect(holds('[BODY].items[0].latency < 50')).toBe(true)
    expect(holds('[BODY][0] == a', probe({body: '["a", "b"]'}))).toBe(true)
    expect(holds('[BODY][1].id == 7', probe({body: '[{"id": 1}, {"id": 7}]'}))).toBe(true)
    expect(evaluate('[BODY].items[1].name == db').actual).toBe('[BODY].items[1].name (cache) == db')
  })

  it('compares numbers numerically, whether JSON holds them as numbers or strings', () => {
    expect(holds('[BODY].count == 3')).toBe(true)
    expect(holds('[BODY].count == 3.0')).toBe(true)
    expect(holds('[BODY].count > 2')).toBe(true)
    expect(holds('[BODY].count <= 2')).toBe(false)
    expect(holds('[BODY].version > 2.9')).toBe(false) // 2.10 is a number here, not a version
    expect(holds('[BODY].version == "2.10"')).toBe(true)
  })

  it('compares booleans, null, empty strings and objects as their JSON text', () => {
    expect(holds('[BODY].healthy == true')).toBe(true)
    expect(holds('[BODY].healthy == "true"')).toBe(true)
    expect(holds('[BODY].healthy != false')).toBe(true)
    expect(holds('[BODY].nothing == null')).toBe(true)
    expect(holds('[BODY].empty == ""')).toBe(true)
    expect(holds('[BODY].checks == pat(*"queue":"DOWN"*)')).toBe(true)
    expect(holds('[BODY].healthy < 1')).toBe(false)
  })

  it('fails, showing (absent), when the path is missing or the body is not JSON, and never throws', () => {
    const cases: [string, ProbeResult][] = [
      ['[BODY].nope == UP', api],
      ['[BODY].status.deeper == UP', api],
      ['[BODY].items[5].name == db', api],
      ['[BODY].checks[0] == UP', api],
      ['[BODY].items.length == 2', api],
      ['[BODY].constructor == x', api],
      ['[BODY].status == UP', probe({body: '<html>502 Bad Gateway</html>'})],
      ['[BODY].status == UP', probe({})],
      ['[BODY] == UP', probe({})],
      ['[BODY].status != UP', probe({body: 'not json'})],
    ]
    for (const [condition, result] of cases) {
      const outcome = evaluate(condition, result)
      expect(outcome.ok, condition).toBe(false)
      expect(outcome.actual, condition).toMatch(/ \(absent\) (==|!=) /)
    }
    expect(evaluate('[BODY].status == UP', probe({body: 'nope'})).actual).toBe('[BODY].status (absent) == UP')
  })
})

describe('conditions: absent values', () => {
  it('fail with (absent) whatever the operator, when the probe did not see the value', () => {
    const tcp = probe({})
    expect(evaluate('[STATUS] == 200', tcp)).toEqual({condition: '[STATUS] == 200', ok: false, actual: '[STATUS] (absent) == 200'})
    expect(evaluate('[STATUS] != 200', tcp).ok).toBe(false)
    expect(evaluate('[IP] == pat(*)', tcp).actual).toBe('[IP] (absent) == pat(*)')
    expect(evaluate('[CERTIFICATE_EXPIRATION] > 48h', tcp).actual).toBe('[CERTIFICATE_EXPIRATION] (absent) > 48h')
    expect(evaluate('[STATUS] != any(500, 503)', tcp).ok).toBe(false)
    expect(evaluate('len([BODY]) == 0', tcp).ok).toBe(false)
  })
})

describe('conditions: functions', () => {
  it('len() counts string characters, array items and object keys', () => {
    expect(holds('len([BODY].items) == 2')).toBe(true)
    expect(holds('len([BODY].items) > 2')).toBe(false)
    expect(holds('len([BODY].status) == 2')).toBe(true)
    expect(holds('len([BODY].checks) == 2')).toBe(true)
    expect(holds('len([BODY].items[1].tags) >= 2')).toBe(true)
    expect(holds('len([BODY].empty) == 0')).toBe(true)
    expect(holds('len( [BODY].items ) == 2')).toBe(true)
    expect(evaluate('len([BODY].items) > 5').actual).toBe('len([BODY].items) (2) > 5')
  })

  it('len([BODY]) counts a JSON body\'s items or keys, and a plain body\'s characters', () => {
    expect(holds('len([BODY]) == 3', probe({body: '[1, 2, 3]'}))).toBe(true)
    expect(holds('len([BODY]) == 8')).toBe(true)
    expect(holds('len([BODY]) == 5', probe({body: 'hello'}))).toBe(true)
    expect(holds('len([BODY]) == 0', probe({body: ''}))).toBe(true)
  })

  it('len() fails, saying why, on a value without a length or a missing one', () => {
    expect(evaluate('len([BODY].count) > 0')).toEqual({
      condition: 'len([BODY].count) > 0',
      ok: false,
      actual: 'len([BODY].count) (3 has no length) > 0',
    })
    expect(evaluate('len([BODY].nope) == 0').actual).toBe('len([BODY].nope) (absent) == 0')
  })

  it('has() says whether a path exists, null values included', () => {
    expect(holds('has([BODY].status) == true')).toBe(true)
    expect(holds('has([BODY].error) == false')).toBe(true)
    expect(holds('has([BODY].error) == true')).toBe(false)
    expect(holds('has([BODY].nothing) == true')).toBe(true)
    expect(holds('has([BODY].items[1].tags[0]) == true')).toBe(true)
    expect(holds('has([BODY].items[2]) != true')).toBe(true)
    expect(evaluate('has([BODY].error) == true').actual).toBe('has([BODY].error) (false) == true')
  })

  it('has() is absent, not false, when the body is not JSON, so an error page does not pass', () => {
    const outcome = evaluate('has([BODY].error) == false', probe({body: '<html>Bad Gateway</html>'}))
    expect(outcome).toEqual({condition: 'has([BODY].error) == false', ok: false, actual: 'has([BODY].error) (absent) == false'})
  })

  it('pat() matches a glob: * any run, ? one character, everything else literally', () => {
    const plain = probe({body: 'status: UP (3 checks)\nall good'})
    expect(holds('[BODY] == pat(*UP*)', plain)).toBe(true)
    expect(holds('[BODY] == pat(*DOWN*)', plain)).toBe(false)
    expect(holds('[BODY] != pat(*DOWN*)', plain)).toBe(true)
    expect(holds('[BODY] == pat(status: UP*)', plain)).toBe(true)
    expect(holds('[BODY] == pat(UP*)', plain)).toBe(false) // anchored at both ends
    expect(holds('[BODY] == pat("*(3 checks)*")', plain)).toBe(true)
    expect(holds('[BODY] == pat(*good)', plain)).toBe(true) // * crosses newlines
    expect(holds('[BODY].status == pat(U?)')).toBe(true)
    expect(holds('[BODY].status == pat(U?P)')).toBe(false)
    expect(holds('[IP] == pat(127.0.*)')).toBe(true)
    expect(holds('[IP] == pat(127.0.*)', probe({ip: '127.1.0.1'}))).toBe(false)
    expect(holds('[IP] == pat(127?0.0.1)', probe({ip: '127.0.0.1'}))).toBe(true)
    expect(holds('[IP] == pat(127.0.0.1)', probe({ip: '127x0x0x1'}))).toBe(false) // . is literal
    expect(holds('[STATUS] == pat(2??)')).toBe(true)
    expect(holds('[STATUS] == pat(2??)', probe({status: 404}))).toBe(false)
  })

  it('any() holds when one of the values matches; != any() when none does', () => {
    expect(holds('[STATUS] == any(200, 201, 204)')).toBe(true)
    expect(holds('[STATUS] == any(200, 201, 204)', probe({status: 202}))).toBe(false)
    expect(holds('[STATUS] != any(500, 502, 503)')).toBe(true)
    expect(holds('[STATUS] != any(500, 200)')).toBe(false)
    expect(holds('[BODY].status == any(UP, "OK")')).toBe(true)
    expect(holds('[BODY].status == any("a, UP", b)')).toBe(false)
    expect(holds('[BODY].status == any("a, b", UP)')).toBe(true)
    expect(holds('[IP] == any(::1, 127.0.0.1)')).toBe(true)
    expect(holds('[BODY].count == any(1, 3.0)')).toBe(true)
    expect(evaluate('[STATUS] == any(200,201)', probe({status: 500})).actual).toBe('[STATUS] (500) == any(200,201)')
  })
})

describe('conditions: malformed input', () => {
  const cases: [condition: string, says: RegExp][] = [
    ['', /empty condition/],
    ['   ', /empty condition/],
    ['[STAUTS] == 200', /unknown placeholder \[STAUTS\].*use one of \[STATUS\] \[RESPONSE_TIME\] \[BODY\]/],
    ['[status] == 200', /unknown placeholder \[status\]/],
    ['[BODY.status] == UP', /unknown placeholder \[BODY\.status\]/],
    ['[STATUS] == abc', /\[STATUS\] expects a number, not "abc"/],
    ['[STATUS] == 2OO', /expects a number/],
    ['[STATUS] == 200 OK', /expects a number/],
    ['len([BODY].items) > some', /expects a number/],
    ['[CERTIFICATE_EXPIRATION] > 48x', /expects a duration.*500ms, 5s, 2m or 1m30s.*48h/],
    ['[CERTIFICATE_EXPIRATION] > 48H', /expects a duration/],
    ['[RESPONSE_TIME] < fast', /expects a duration/],
    ['[CERTIFICATE_EXPIRATION] > -3h', /expects a duration/],
    ['[CONNECTED] < true', /\[CONNECTED\] is true or false, so < does not apply.*use == or !=/],
    ['[CONNECTED] == yes', /is true or false, not "yes"/],
    ['has([BODY].error) == 0', /is true or false/],
    ['[IP] > 10.0.0.0', /\[IP\] is text, so > does not apply/],
    ['[BODY].status < UP', /< compares numbers and "UP" is not one/],
    ['pat(*UP*) == [BODY]', /pat\(\) on the left side.*put it on the right/],
    ['any(200, 201) == [STATUS]', /any\(\) on the left side/],
    ['[BODY] < pat(*UP*)', /pat\(\) takes only == or !=/],
    ['[STATUS] >= any(200, 300)', /any\(\) takes only == or !=/],
    ['[CONNECTED] == pat(t*)', /pat\(\) matches text and \[CONNECTED\] is true or false/],
    ['[RESPONSE_TIME] == pat(1*)', /pat\(\) matches text/],
    ['[STATUS] == any()', /an empty value in any\(\)/],
    ['[STATUS] == any(200,,201)', /an empty value in any\(\)/],
    ['[STATUS] == any(200, ok)', /expects a number, not "ok"/],
    ['[BODY] == foo(1)', /foo\(\) on the right side/],
    ['[BODY] == len([BODY])', /len\(\) on the right side/],
    ['[STATUS] == any(200) or 201', /text after the closing \)/],
    ['lenn([BODY]) > 0', /unknown function lenn\(\)/],
    ['len([IP]) > 0', /len\(\) takes \[BODY\] or a body path/],
    ['len(200) > 0', /len\(\) takes \[BODY\] or a body path/],
    ['has([BODY]) == true', /has\(\) takes a body path/],
    ['[CONNECTED] == [STATUS]', /\[CONNECTED\] is true or false and \[STATUS\] is not/],
    ['[BODY].a == [BODY].b extra', /text after the placeholder on the right side/],
    ['200 == [STATUS]', /the left side is not a placeholder.*write the placeholder first/],
    ['STATUS == 200', /the left side is not a placeholder/],
    ['== 200', /nothing on the left side/],
    ['[STATUS] ==', /nothing on the right of ==/],
    ['[STATUS] <=   ', /nothing on the right of <=/],
    ['[STATUS] 200', /no operator after \[STATUS\].*== != < <= > >=/],
    ['[STATUS] = 200', /no operator after \[STATUS\]/],
    ['[STATUS]', /no operator after \[STATUS\]/],
    ['[STATUS == 200', /an unclosed \[/],
    ['[STATUS]] == 200', /an unmatched \]/],
    ['len([BODY].items > 0', /an unclosed \(/],
    ['len([BODY].items)) > 0', /an unmatched \)/],
    ['[STATUS] == any(200, 201', /an unclosed \(/],
    ['[BODY] == pat(*[*)', /an unmatched \)/],
    ['[BODY] == "UP', /an unclosed "/],
    ['[BODY].items[x] == 1', /a bad path after \[BODY\]\.items.*\[0\]/],
    ['[BODY].items[] == 1', /a bad path/],
    ['[BODY]. == 1', /a bad path after \[BODY\]/],
    ['[BODY]..a == 1', /a bad path/],
    ['[STATUS].code == 200', /a path after \[STATUS\].*only \[BODY\] takes a path/],
  ]

  it.each(cases)('refuses %j as one line that starts with where', (condition, says) => {
    const line = parseError(condition)
    expect(line.startsWith('checks.yaml:14: ')).toBe(true)
    expect(line).not.toContain('\n')
    expect(line).toMatch(says)
    // What is wrong, then after "; " how to fix it.
    expect(line).toMatch(/^checks\.yaml:14: .+; .+$/)
  })

  it('quotes the condition as written in the message', () => {
    expect(parseError('[STAUTS] == 200')).toBe(
      'checks.yaml:14: unknown placeholder [STAUTS] in "[STAUTS] == 200"; use one of [STATUS] [RESPONSE_TIME] [BODY] [BODY].path [CONNECTED] [CERTIFICATE_EXPIRATION] [DOMAIN_EXPIRATION] [IP] [DNS_RCODE]',
    )
    expect(parseError('[STATUS] == abc', '--condition')).toBe(
      '--condition: [STATUS] expects a number, not "abc", in "[STATUS] == abc"; write it like [STATUS] == 200',
    )
  })

  it('keeps the message one line when the condition spans lines', () => {
    const line = parseError('[STATUS]\n== abc')
    expect(line).not.toContain('\n')
    expect(line).toContain('"[STATUS]\\n== abc"')
  })

  it('accepts text that only looks odd, once quoted', () => {
    expect(holds('[BODY] == "[STATUS]"', probe({body: '[STATUS]'}))).toBe(true)
    expect(holds('[BODY] == "f(x"', probe({body: 'f(x'}))).toBe(true)
    expect(holds('[BODY] == "foo(1)"', probe({body: 'foo(1)'}))).toBe(true)
    expect(holds('[BODY] == pat("*[*")', probe({body: 'a[b'}))).toBe(true)
  })
})
