// The WAF's rules. Each has a stable id (what exceptions and explain name), an attack class
// and a paranoia level: level 1 (the default) holds the rules that match attack syntax,
// not words, so that prose, code snippets and names like O'Brien pass; higher levels add
// broader rules with more false positives.
//
// Backtracking budget: every pattern is a sequence of literals, character classes and
// BOUNDED quantifiers ({0,200}), with no nested or adjacent overlapping quantifiers, so the
// work per start position is bounded and a rule is linear in the input (test/waf/redos.test.ts
// feeds 100 KB adversarial inputs to each rule). Needles are the pre-filter: a rule runs on
// a part only when every group has at least one needle in it. All needles are found in one
// pass per part whatever their number (prefilter.ts), so a group costs nothing; what matters
// is that each is a superset condition: every string the pattern matches must hold one
// needle of every group, or the rule silently never runs on it
// (test/waf/engine-equivalence.test.ts checks this on generated attacks).

export type AttackClass = 'sqli' | 'xss' | 'lfi' | 'cmdi' | 'protocol';

export interface PatternRule {
  readonly id: string;
  readonly attack: AttackClass;
  readonly paranoia: 1 | 2 | 3 | 4;
  readonly description: string;
  /** Groups of needles in the normalized value; each group needs one hit. */
  readonly needles: readonly (readonly string[])[];
  readonly pattern: RegExp;
}

const quote = ['\'', '"', '`'];

export const patternRules: readonly PatternRule[] = [
  // --- SQL injection -------------------------------------------------------------------
  {
    id: 'sqli-001', attack: 'sqli', paranoia: 1, description: 'a quote closing a string, then a boolean tautology (\' or 1=1, " or "a"="a)',
    // Every match holds its operator: xor holds or.
    needles: [quote, ['or', 'and', '||', '&&']],
    // `===` and `!==` are code, not SQL in any dialect (SQLite does take `==`). After a backtick
    // (inline code in prose, or a MySQL identifier) "and if (" is English; after ' or " it is
    // MySQL's IF, which takes a space or a comment before its parenthesis.
    pattern: /['"] ?\)? ?(?:or|and|xor|\|\||&&) ?\(? ?(?:['"`]?[\w.-]{0,40}['"`]? ?(?:==?(?!=)|<=>|!=(?!=)|<>|<|>|\blike\b|\bis\b|\bin\b|\bregexp\b)|true\b|false\b|not\b|(?:sleep|benchmark|pg_sleep|exists|ascii|substring|substr|char|length|if)\s?\()|` ?\)? ?(?:or|and|xor|\|\||&&) ?\(? ?(?:['"`]?[\w.-]{0,40}['"`]? ?(?:==?(?!=)|<=>|!=(?!=)|<>|<|>|\blike\b|\bis\b|\bin\b|\bregexp\b)|true\b|false\b|not\b|(?:sleep|benchmark|pg_sleep|exists|ascii|substring|substr|char|length)\s?\()/,
  },
  {
    id: 'sqli-002', attack: 'sqli', paranoia: 1, description: 'an unquoted tautology after OR/AND (1 or 1=1, and \'a\'=\'a\')',
    needles: [['or ', 'and '], ['=']],
    pattern: /(?:^|[\s)])(?:or|and) \(?(\d{1,10}) ?(?:=|<=>) ?\1(?![\d.])|(?:^|[\s)])(?:or|and) '(\w{1,20})' ?= ?'\2'/,
  },
  {
    id: 'sqli-003', attack: 'sqli', paranoia: 1, description: 'UNION SELECT with a column list or FROM (union-based extraction)',
    needles: [['union']],
    pattern: /\bunion(?: all| distinct)? ?\(? ?select\b[^;]{0,200}?(?:\bfrom [\w.`[]|\bnull\b|@@\w|\b\d{1,6} ?, ?\d|\b(?:concat|group_concat|char|version|user|database|schema|load_file|md5|hex|unhex|cast|convert|substring|ascii|current_user) ?\()/,
  },
  {
    id: 'sqli-004', attack: 'sqli', paranoia: 1, description: 'a stacked query after a closed string or number (\'; DROP TABLE ...)',
    // Every match holds one of the statement keywords, each written out in its branch:
    // prose and code with semicolons but none of these words skip the pattern.
    needles: [[';'], ['drop ', 'delete from', 'insert into', 'update ', 'truncate ', 'alter ', 'create ', 'shutdown', 'exec', 'declare @', 'select ', 'waitfor delay']],
    pattern: /(?:['"`\d)] ?;|^ ?;) ?(?:drop (?:table|database|schema|user)\b|delete from\b|insert into\b|update [\w.`]{1,64} set\b|truncate (?:table )?\w|alter (?:table|user)\b|create (?:table|user|function)\b|shutdown\b|exec(?:ute)? [\w@(]|declare @|select [^;]{0,100}?\bfrom\b|waitfor delay\b)/,
  },
  {
    id: 'sqli-005', attack: 'sqli', paranoia: 1, description: 'a value ending by closing a string and commenting out the rest (admin\'--)',
    needles: [quote, ['--', '#']],
    pattern: /\w['"`]\)? ?(?:--|#) ?$/,
  },
  {
    id: 'sqli-006', attack: 'sqli', paranoia: 1, description: 'database functions and objects that only injections use (xp_cmdshell, load_file, pg_sleep, benchmark, @@version)',
    needles: [['xp_', 'sp_', 'load_', "waitfor delay '", 'waitfor delay "', 'pg_', 'benchmark(', 'benchmark (', 'dbms_', 'utl_', '@@', 'sleep(', 'sleep (']],
    pattern: /\bxp_cmdshell\b|\bsp_executesql\b|\bload_file ?\(|\bwaitfor delay ['"]|\bpg_sleep ?\(|\bbenchmark ?\( ?\d{4,}|\bdbms_pipe\.|\butl_http\.|@@version\b|(?:\band|\bor|\bselect|\|\||&&|['"] ?[;,+]) ?\(? ?(?:sleep|pg_sleep) ?\(/,
  },
  {
    id: 'sqli-007', attack: 'sqli', paranoia: 1, description: 'SELECT ... INTO OUTFILE or DUMPFILE (writing a file, e.g. a web shell, from SQL)',
    needles: [['outfile', 'dumpfile']],
    pattern: /\binto (?:out|dump)file\b/,
  },
  {
    id: 'sqli-101', attack: 'sqli', paranoia: 2, description: 'SQL statement shapes anywhere (SELECT ... FROM, INSERT INTO, information_schema)',
    needles: [['select', 'insert', 'delete', 'drop', 'union', 'information_schema', 'sqlite_master']],
    pattern: /\bselect [^;]{0,100}?\bfrom\b|\binsert into\b|\bdelete from\b|\bdrop table\b|\bunion(?: all)? select\b|\binformation_schema\b|\bsqlite_master\b/,
  },

  // --- Cross-site scripting ------------------------------------------------------------
  {
    id: 'xss-001', attack: 'xss', paranoia: 1, description: 'a <script> tag',
    // Not "<script": the pattern allows a space after the < or the / ("< script", "</ script").
    needles: [['<'], ['script']],
    pattern: /<\/? ?script\b/,
  },
  {
    id: 'xss-002', attack: 'xss', paranoia: 1, description: 'an HTML tag with an event handler attribute (<img onerror=...>, <svg/onload=...>)',
    needles: [['<'], ['=']],
    pattern: /<[a-z][\w:-]{0,30}[\s/][^>]{0,200}?\bon[a-z]{3,30} ?=/,
  },
  {
    id: 'xss-003', attack: 'xss', paranoia: 1, description: 'a javascript:, vbscript: or data:text/html URL',
    // Every match ends in "t:" / "t :" (whatever splits the word: browsers drop tabs and
    // newlines inside a URL scheme, so `javas\tcript:` runs) or holds "data".
    needles: [['t:', 't :', 'data']],
    pattern: /(?:^|[\s"'=(<>`])(?:j ?a ?v ?a ?s ?c ?r ?i ?p ?t|v ?b ?s ?c ?r ?i ?p ?t|livescript) ?:(?=[\w/(\[{'"`!~+-])|\bdata ?: ?text\/html\b/,
  },
  {
    id: 'xss-004', attack: 'xss', paranoia: 1, description: 'tags that load or run active content (<iframe>, <object>, <embed>, <base>, <meta http-equiv>)',
    needles: [['<']],
    pattern: /<(?:iframe|frame|frameset|object|embed|applet|base)\b|<meta\b[^>]{0,200}?\bhttp-equiv\b/,
  },
  {
    id: 'xss-101', attack: 'xss', paranoia: 2, description: 'script sinks and risky tags anywhere (alert(, document.cookie, <svg, <style)',
    needles: [['alert', 'prompt', 'confirm', 'eval', 'document.', 'fromcharcode', '<svg', '<math', '<style', '<link', '<form', '<img', '<body', '<input']],
    pattern: /\b(?:alert|prompt|confirm|eval) ?\(|\bdocument\.(?:cookie|domain|write)\b|\bfromcharcode\b|<(?:svg|math|style|link|form|img|body|input)\b/,
  },

  // --- Path traversal / local file inclusion -----------------------------------------
  {
    id: 'lfi-001', attack: 'lfi', paranoia: 1, description: 'three or more ../ in a row',
    needles: [['../', '..\\']],
    pattern: /(?:\.\.[\\/]){3}/,
  },
  {
    id: 'lfi-002', attack: 'lfi', paranoia: 1, description: 'a ../ leading to a sensitive file (../etc/passwd, ..\\win.ini, ../.env)',
    needles: [['../', '..\\']],
    pattern: /\.\.[\\/][^\s'"]{0,100}?(?:etc[\\/](?:passwd|shadow|hosts|group)\b|win\.ini\b|boot\.ini\b|system32\b|proc[\\/]self\b|\.ssh[\\/]|\.env\b|\.git[\\/]|web\.config\b|\.ht(?:access|passwd)\b)/,
  },
  {
    id: 'lfi-003', attack: 'lfi', paranoia: 1, description: 'an absolute path to an OS secrets file (/etc/passwd, /proc/self/environ, c:\\windows\\win.ini)',
    needles: [['/etc/', '/proc/', ':\\windows', ':/windows']],
    pattern: /\/etc\/(?:passwd|shadow|master\.passwd)\b|\/proc\/self\/(?:environ|cmdline|fd|mem|maps)\b|c:[\\/]windows[\\/](?:win\.ini|system32)\b/,
  },
  {
    id: 'lfi-004', attack: 'lfi', paranoia: 1, description: 'a PHP/stream wrapper URL (php://filter, phar://, expect://)',
    needles: [['://'], ['php:', 'phar:', 'expect:', 'zip:', 'zlib:', 'glob:', 'compress.']],
    pattern: /\b(?:php|phar|expect|zip|zlib|glob|compress\.zlib|compress\.bzip2):\/\//,
  },
  {
    id: 'lfi-101', attack: 'lfi', paranoia: 2, description: 'any ../ or ..\\ segment, or a file:// URL',
    needles: [['..', 'file:']],
    pattern: /(?:^|[\\/])\.\.(?:[\\/]|$)|\bfile:\/\//,
  },

  // --- OS command injection ------------------------------------------------------------
  {
    id: 'cmdi-001', attack: 'cmdi', paranoia: 1, description: 'a shell separator followed by a command (; id, && whoami, $(uname -a), | sh)',
    needles: [[';', '&&', '||', '$(', '|']],
    pattern: /(?:;|&&|\|\||\$\() ?(?:(?:id|whoami|hostname|ifconfig|ipconfig|uname|getuid)(?= ?(?:$|[;|&`)#]| -))|cat \/|wget |curl |nc |ncat |netcat |telnet |nslookup |(?:ba|z|k)?sh -|powershell\b|cmd(?:\.exe)? \/[ck]\b|python[23]? -c\b|perl -e\b|ruby -e\b|php -r\b)|\| ?(?:(?:ba|z|k)?sh|nc|ncat|netcat)(?: |$)/,
  },
  {
    id: 'cmdi-002', attack: 'cmdi', paranoia: 1, description: 'reverse-shell and dropper shapes (/dev/tcp/, nc -e, bash -i, powershell -enc)',
    needles: [['/dev/', 'nc ', 'ncat ', 'sh -i', 'mkfifo', 'powershell', 'cmd', 'chmod', 'wget ', 'curl ']],
    pattern: /\/dev\/(?:tcp|udp)\/|\bnc(?:at)? (?:-\w{1,4} ){0,4}-\w{0,3}e |\b(?:ba|z|k)?sh -i\b|\bmkfifo \/|\bpowershell(?:\.exe)? -(?:e|enc|encodedcommand|nop|noprofile|w|windowstyle|c|command)\b|\bcmd(?:\.exe)? \/[ck] |\bchmod \+?[0-7]{0,4}x? ?\/tmp\/|\b(?:wget|curl) [^\s|;]{1,300} ?(?:-o ?\/tmp\/|\| ?(?:ba)?sh\b)/,
  },
  {
    id: 'cmdi-101', attack: 'cmdi', paranoia: 2, description: 'command substitution or a separator before any common command (backticked ls, ; rm, && cat)',
    needles: [['`', '$(', ';', '&&', '||', '|']],
    pattern: /`(?:ls|id|cat|pwd|whoami|uname|env|ps|rm|echo|curl|wget)\b[^`]{0,100}`|(?:;|&&|\|\||\|) ?(?:ls|cat|rm|echo|ps|env|printenv|ping|sleep|kill|chmod|chown|sudo|su|pwd)\b/,
  },
];

/** Request-level rules on framing and encoding: evaluated by code in protocol.ts. */
export const protocolRules = {
  'proto-001': { paranoia: 1, description: 'both Content-Length and Transfer-Encoding (request smuggling)' },
  'proto-002': { paranoia: 1, description: 'a Transfer-Encoding other than chunked' },
  'proto-003': { paranoia: 1, description: 'a NUL byte in a decoded value (truncation attacks)' },
  'proto-004': { paranoia: 1, description: 'a single header value longer than 8192 bytes' },
  'proto-005': { paranoia: 1, description: 'invalid percent-encoding or %u encoding in the query or a form body' },
  'proto-006': { paranoia: 1, description: 'percent-encoded bytes that are not valid UTF-8 (overlong encodings like %c0%af)' },
  'proto-007': { paranoia: 1, description: 'CR or LF followed by a header name in a decoded query, header or cookie value (response splitting)' },
  'proto-101': { paranoia: 2, description: 'a body that does not parse as its declared Content-Type' },
} as const satisfies Record<string, { paranoia: 1 | 2 | 3 | 4; description: string }>;

export type ProtocolRuleId = keyof typeof protocolRules;

export const allRuleIds: ReadonlySet<string> = new Set([...patternRules.map((r) => r.id), ...Object.keys(protocolRules)]);
