// The iptables-save parser and printer: real rule sets, every error naming
// its line, and the round trip text -> IR -> text -> IR.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TABLES, formatRuleset, parseIptables, RulesetError, validateRuleset, type Ruleset,
} from '../../src/netfilter/iptables.js';
import { arbRuleset } from './arb.js';
import { CALICO_SAVE, DOCKER_SAVE } from './fixtures.js';

/** The IR without where it came from (lines, texts), as plain data. */
function canon(rs: Ruleset): unknown {
  const out: Record<string, unknown> = {};
  for (const t of TABLES) {
    out[t] = [...rs.tables[t].chains.values()].sort((a, b) => Number(!a.builtin) - Number(!b.builtin) || (a.builtin ? 0 : a.name < b.name ? -1 : 1)).map((c) => ({
      name: c.name,
      builtin: c.builtin,
      policy: c.builtin ? c.policy : undefined,
      rules: c.rules.map(({ line: _l, text: _t, counters: _c, ...r }) => JSON.parse(JSON.stringify(r))),
    }));
  }
  return out;
}

const ip = (s: string) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0) >>> 0;

describe('parseIptables: real rule sets', () => {
  it("reads Docker's nat and filter tables", () => {
    const rs = parseIptables(DOCKER_SAVE);
    const nat = rs.tables.nat.chains;
    expect([...nat.keys()]).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'DOCKER']);
    const pre = nat.get('PREROUTING')!.rules[0];
    expect(pre.matches).toEqual([{ m: 'addrtype', dst: { types: ['LOCAL'], invert: false } }]);
    expect(pre.target).toEqual({ kind: 'JUMP', chain: 'DOCKER' });
    expect(pre.line).toBe(8);
    expect(pre.text).toBe('-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER');
    const out = nat.get('OUTPUT')!.rules[0];
    expect(out.dst).toEqual({ addr: ip('127.0.0.0'), plen: 8, invert: true });
    const masq = nat.get('POSTROUTING')!.rules[0];
    expect(masq.src).toEqual({ addr: ip('172.17.0.0'), plen: 16, invert: false });
    expect(masq.out).toEqual({ name: 'docker0', invert: true });
    expect(masq.target).toEqual({ kind: 'MASQUERADE', random: false });
    const dnat = nat.get('DOCKER')!.rules[1];
    expect(dnat.in).toEqual({ name: 'docker0', invert: true });
    expect(dnat.proto).toBe('tcp');
    expect(dnat.matches).toEqual([{ m: 'tcp', dport: { lo: 8080, hi: 8080, invert: false } }]);
    expect(dnat.target).toEqual({ kind: 'DNAT', addr: ip('172.17.0.2'), portLo: 80, portHi: 80 });

    const filter = rs.tables.filter.chains;
    expect([...filter.keys()]).toEqual([
      'INPUT', 'FORWARD', 'OUTPUT', 'DOCKER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER-USER',
    ]);
    expect(filter.get('FORWARD')!.policy).toBe('DROP');
    expect(filter.get('INPUT')!.policy).toBe('ACCEPT');
    expect(filter.get('DOCKER')!.builtin).toBe(false);
    expect(filter.get('DOCKER')!.policy).toBeUndefined();
    const fwd = filter.get('FORWARD')!.rules;
    expect(fwd.map((r) => r.target)).toEqual([
      { kind: 'JUMP', chain: 'DOCKER-USER' },
      { kind: 'JUMP', chain: 'DOCKER-ISOLATION-STAGE-1' },
      { kind: 'ACCEPT' },
      { kind: 'JUMP', chain: 'DOCKER' },
      { kind: 'ACCEPT' },
      { kind: 'ACCEPT' },
    ]);
    expect(fwd[2].matches).toEqual([{ m: 'conntrack', state: { states: ['RELATED', 'ESTABLISHED'], invert: false } }]);
    expect(fwd[2].out).toEqual({ name: 'docker0', invert: false });
    const pub = filter.get('DOCKER')!.rules[0];
    expect(pub).toMatchObject({
      dst: { addr: ip('172.17.0.2'), plen: 32, invert: false },
      in: { name: 'docker0', invert: true },
      out: { name: 'docker0', invert: false },
      proto: 'tcp',
      matches: [{ m: 'tcp', dport: { lo: 80, hi: 80, invert: false } }],
      target: { kind: 'ACCEPT' },
    });
    expect(filter.get('DOCKER-ISOLATION-STAGE-2')!.rules[1].target).toEqual({ kind: 'RETURN' });
  });

  it('reads Calico-like rules: cali+ wildcards, comments, --random-fully', () => {
    const rs = parseIptables(CALICO_SAVE);
    const fwd = rs.tables.filter.chains.get('cali-FORWARD')!.rules;
    expect(fwd[0].in).toEqual({ name: 'cali+', invert: false });
    expect(fwd[0].matches).toEqual([{ m: 'comment', comment: 'cali:X3vB2lGcBrfkYquC' }]);
    expect(rs.tables.filter.chains.get('cali-fw-cali1234567890a')!.rules[1].matches).toEqual([{ m: 'conntrack', state: { states: ['INVALID'], invert: false } }]);
    const masq = rs.tables.nat.chains.get('cali-nat-outgoing')!.rules[0];
    expect(masq.dst).toEqual({ addr: ip('10.244.0.0'), plen: 16, invert: true });
    expect(masq.target).toEqual({ kind: 'MASQUERADE', random: false, randomFully: true });
  });

  it('takes the spellings iptables prints and accepts', () => {
    const rs = parseIptables(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-N MINE
-A INPUT -s 10.1.2.3 -p 6 --dport 1000:2000 -j ACCEPT
-A INPUT -d 10.9.9.9/255.255.0.0 -p udp -m udp ! --sport :1023 -j MINE
-A INPUT -p tcp -m tcp --sport 1024: -m conntrack ! --ctstate NEW,INVALID,NEW -j ACCEPT
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT ! -p icmp -m addrtype ! --src-type LOCAL --dst-type LOCAL
[5:300] -A INPUT -i eth+ -j DROP
-A MINE -j RETURN
-P OUTPUT DROP
COMMIT
`);
    const r = rs.tables.filter.chains.get('INPUT')!.rules;
    expect(r[0].src).toEqual({ addr: ip('10.1.2.3'), plen: 32, invert: false });
    expect(r[0].proto).toBe('tcp');
    expect(r[0].matches).toEqual([{ m: 'tcp', dport: { lo: 1000, hi: 2000, invert: false } }]);
    expect(r[1].dst).toEqual({ addr: ip('10.9.0.0'), plen: 16, invert: false });
    expect(r[1].matches).toEqual([{ m: 'udp', sport: { lo: 0, hi: 1023, invert: true } }]);
    expect(r[1].target).toEqual({ kind: 'JUMP', chain: 'MINE' });
    expect(r[2].matches).toEqual([
      { m: 'tcp', sport: { lo: 1024, hi: 65535, invert: false } },
      { m: 'conntrack', state: { states: ['INVALID', 'NEW'], invert: true } },
    ]);
    expect(r[3].matches).toEqual([{ m: 'state', state: { states: ['ESTABLISHED'], invert: false } }]);
    expect(r[4]).toMatchObject({ proto: 'icmp', protoInvert: true, matches: [{ m: 'addrtype', src: { types: ['LOCAL'], invert: true }, dst: { types: ['LOCAL'], invert: false } }] });
    expect(r[4].target).toEqual({ kind: 'NONE' });
    expect(r[5].in).toEqual({ name: 'eth+', invert: false });
    expect(r[5].counters).toEqual({ packets: 5, bytes: 300 });
    expect(rs.tables.filter.chains.get('OUTPUT')!.policy).toBe('DROP');
    // A table not in the text keeps its builtin chains, policies ACCEPT.
    expect([...rs.tables.nat.chains.values()].map((c) => [c.name, c.policy, c.rules.length])).toEqual([
      ['PREROUTING', 'ACCEPT', 0], ['INPUT', 'ACCEPT', 0], ['OUTPUT', 'ACCEPT', 0], ['POSTROUTING', 'ACCEPT', 0],
    ]);
  });

  it('reads NAT target options', () => {
    const rs = parseIptables(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1-10.0.0.4:5000-5010 --random
-A OUTPUT -j DNAT --to-destination 10.0.0.9
-A POSTROUTING -p tcp -j SNAT --to-source 192.168.0.1:1024-2047 --random-fully
-A POSTROUTING -p tcp -j MASQUERADE --to-ports 20000-30000 --random
-A INPUT -p udp -j MASQUERADE --to-ports 7
COMMIT
`);
    const c = rs.tables.nat.chains;
    expect(c.get('PREROUTING')!.rules[0].target).toEqual({ kind: 'DNAT', addr: ip('10.0.0.1'), addrHi: ip('10.0.0.4'), portLo: 5000, portHi: 5010, random: true });
    expect(c.get('OUTPUT')!.rules[0].target).toEqual({ kind: 'DNAT', addr: ip('10.0.0.9') });
    expect(c.get('POSTROUTING')!.rules[0].target).toEqual({ kind: 'SNAT', addr: ip('192.168.0.1'), portLo: 1024, portHi: 2047, randomFully: true });
    expect(c.get('POSTROUTING')!.rules[1].target).toEqual({ kind: 'MASQUERADE', portLo: 20000, portHi: 30000, random: true });
    expect(c.get('INPUT')!.rules[0].target).toEqual({ kind: 'MASQUERADE', portLo: 7, portHi: 7, random: false });
  });
});

describe('parseIptables: errors name the line and quote it', () => {
  const filterHead = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n';
  const natHead = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n';
  /** Parses text whose bad line is `bad` (found in the text); checks the error names it. */
  function expectError(text: string, bad: string, what: RegExp | string) {
    const lines = text.split('\n');
    const n = lines.indexOf(bad) + 1;
    expect(n, 'the bad line is in the text').toBeGreaterThan(0);
    let err: unknown;
    try {
      parseIptables(text, { sets: (n) => n === 'known' });
    } catch (e) {
      err = e;
    }
    expect(err, `no error for ${bad}`).toBeInstanceOf(RulesetError);
    const e = err as RulesetError;
    expect(e.message.startsWith(`line ${n}: `), e.message).toBe(true);
    expect(e.message.endsWith(` in "${bad}"`), e.message).toBe(true);
    expect(e.line).toBe(n);
    expect(e.text).toBe(bad);
    if (typeof what === 'string') expect(e.message).toContain(what);
    else expect(e.message).toMatch(what);
    return e;
  }
  const inFilter = (bad: string, what: RegExp | string, after = '') => expectError(`${filterHead}${bad}\n${after}COMMIT\n`, bad, what);
  const inNat = (bad: string, what: RegExp | string, after = '') => expectError(`${natHead}${bad}\n${after}COMMIT\n`, bad, what);

  it('unknown option, with the exact message', () => {
    const e = inFilter('-A FORWARD --foo 1 -j ACCEPT', 'unknown option "--foo"');
    expect(e.message).toBe('line 7: unknown option "--foo" in "-A FORWARD --foo 1 -j ACCEPT"');
    inFilter('-A FORWARD -m conntrack --state NEW -j ACCEPT', 'unknown option "--state"');
    inFilter('-A FORWARD --ctstate NEW -j ACCEPT', 'unknown option "--ctstate"');
    inFilter('-A FORWARD -p udp --syn -j ACCEPT', 'unknown option "--syn" (needs "-m tcp" before it)');
    inFilter('-A FORWARD -g ACCEPT', '-g needs a chain, not the target "ACCEPT"');
    inFilter('-A FORWARD --to-destination 1.2.3.4 -j ACCEPT', 'unknown option "--to-destination"');
    inFilter('-A FORWARD -j ACCEPT --random', 'unknown option "--random" for target ACCEPT');
    inNat('-A PREROUTING -j DNAT --to-destination 1.2.3.4 --to-ports 5', 'unknown option "--to-ports" for target DNAT');
  });

  it('unknown targets and matches', () => {
    inFilter('-A FORWARD -j TPROXY', 'unsupported target "TPROXY"');
    inFilter('-A FORWARD -p tcp -j REDIRECT', 'unsupported target "REDIRECT"');
    inFilter('-A FORWARD -m recent --rcheck -j ACCEPT', 'unsupported match "-m recent"');
    inFilter('-A FORWARD -m frobnicate -j ACCEPT', 'unknown match "-m frobnicate"');
    inFilter('-A FORWARD -p frob -j ACCEPT', 'unsupported protocol "frob"');
    inFilter('-A FORWARD -m state --state NEW,SNAT -j ACCEPT', 'unsupported state "SNAT"');
    inFilter('-A FORWARD -m addrtype --dst-type LOKAL -j ACCEPT', 'unsupported address type "LOKAL"');
    inFilter('-A FORWARD -m multiport --dports 1,2 -j ACCEPT', '"-m multiport" needs "-p tcp"');
    inFilter('-A FORWARD -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT', 'too many ports');
    inFilter('-A FORWARD -m set --match-set foo src -j ACCEPT', 'set "foo" doesn\'t exist');
    inFilter('-A FORWARD -j CT --notrack', 'CT is only valid in the raw table');
    inFilter('-A FORWARD -p udp -j REJECT --reject-with tcp-reset', 'tcp-reset needs "-p tcp"');
    inFilter('-A FORWARD -j MARK', 'MARK needs --set-xmark');
    inFilter('-A FORWARD -m rpfilter -j DROP', '"-m rpfilter" is only valid in the raw and mangle tables');
    inFilter('-A FORWARD -p icmp -m icmp --icmp-type frob -j DROP', 'bad ICMP type "frob"');
    inFilter('-A FORWARD -m limit --limit 3/fortnight -j DROP', 'bad rate "3/fortnight"');
  });

  it('unknown chains and jumps to missing chains', () => {
    inFilter('-A NOPE -j ACCEPT', 'unknown chain "NOPE"');
    inFilter('-A FORWARD -j NOSUCH', 'jump to unknown chain or target "NOSUCH"', '-A FORWARD -j ACCEPT\n');
    inFilter('-A A -j FORWARD', 'cannot jump to built-in chain "FORWARD"');
    // A chain of the other table is not there either.
    expectError(`${natHead}COMMIT\n*filter\n:C - [0:0]\n-A FORWARD -j A\nCOMMIT\n`, '-A FORWARD -j A', 'jump to unknown chain or target "A"');
  });

  it('loops, direct and indirect', () => {
    inFilter('-A A -j A', /chain loop "A" -> "A"/);
    // A -> B -> A: the jump closing the loop is named.
    const text = `${filterHead}-A FORWARD -j A\n-A A -p tcp -j B\n-A B -j A\nCOMMIT\n`;
    expectError(text, '-A B -j A', 'chain loop "A" -> "B" -> "A"');
    const three = `${filterHead}:C - [0:0]\n-A A -j B\n-A B -j RETURN\n-A B -j C\n-A C -s 1.2.3.4 -j A\nCOMMIT\n`;
    expectError(three, '-A C -s 1.2.3.4 -j A', 'chain loop "A" -> "B" -> "C" -> "A"');
  });

  it('NAT targets outside the nat table', () => {
    inFilter('-A FORWARD -j MASQUERADE', 'MASQUERADE is only valid in the nat table');
    inFilter('-A A -j DNAT --to-destination 1.2.3.4', 'DNAT is only valid in the nat table');
    inFilter('-A INPUT -j SNAT --to-source 1.2.3.4', 'SNAT is only valid in the nat table');
  });

  it('DNAT only in PREROUTING/OUTPUT, SNAT/MASQUERADE only in POSTROUTING/INPUT (and chains reached from them)', () => {
    inNat('-A POSTROUTING -j DNAT --to-destination 1.2.3.4', 'DNAT is only valid in PREROUTING and OUTPUT');
    inNat('-A INPUT -j DNAT --to-destination 1.2.3.4', 'DNAT is only valid in PREROUTING and OUTPUT');
    inNat('-A PREROUTING -j SNAT --to-source 1.2.3.4', 'SNAT is only valid in POSTROUTING and INPUT');
    inNat('-A OUTPUT -j MASQUERADE', 'MASQUERADE is only valid in POSTROUTING and INPUT');
    inNat('-A A -j DNAT --to-destination 1.2.3.4', 'chain "A" is reached from POSTROUTING', '-A PREROUTING -j A\n-A POSTROUTING -j A\n');
    inNat('-A B -j MASQUERADE', 'chain "B" is reached from PREROUTING', '-A PREROUTING -j A\n-A A -j B\n');
    // In chains nothing reaches, or reached only from the right places, they are fine.
    expect(() => parseIptables(`${natHead}-A A -j DNAT --to-destination 1.2.3.4\n-A B -j MASQUERADE\n-A OUTPUT -j A\n-A INPUT -j B\nCOMMIT\n`)).not.toThrow();
  });

  it('--sport/--dport need -p tcp or udp', () => {
    inFilter('-A INPUT --dport 80 -j ACCEPT', '"--dport" needs "-p tcp" or "-p udp"');
    inFilter('-A INPUT -p icmp --sport 80 -j ACCEPT', '"--sport" needs "-p tcp" or "-p udp"');
    inFilter('-A INPUT ! -p tcp --dport 80 -j ACCEPT', '"--dport" needs "-p tcp" or "-p udp"');
    inFilter('-A INPUT -p udp -m tcp --dport 80 -j ACCEPT', '"-m tcp" needs "-p tcp"');
    inNat('-A PREROUTING -j DNAT --to-destination 1.2.3.4:80', 'DNAT with ports needs "-p tcp" or "-p udp"');
    inNat('-A POSTROUTING -p icmp -j MASQUERADE --to-ports 1000', 'MASQUERADE with ports needs "-p tcp" or "-p udp"');
  });

  it('bad values', () => {
    inFilter('-A INPUT -s 10.0.0.256 -j ACCEPT', 'bad address "10.0.0.256"');
    inFilter('-A INPUT -s 10.0.0.0/33 -j ACCEPT', 'bad prefix length "33"');
    inFilter('-A INPUT -d 10.0.0.0/255.0.255.0 -j ACCEPT', 'non-contiguous netmask');
    inFilter('-A INPUT -p tcp --dport 70000 -j ACCEPT', 'bad port "70000"');
    inFilter('-A INPUT -p tcp --dport 2000:1000 -j ACCEPT', 'bad port range "2000:1000"');
    inFilter('-A INPUT -p tcp --dport http -j ACCEPT', 'bad port or range "http"');
    inFilter('-A INPUT -i averyveryverylongname -j ACCEPT', 'bad interface name');
    inFilter('-A INPUT -s 1.2.3.4 -s 1.2.3.5 -j ACCEPT', 'option "-s" given twice');
    inFilter('-A INPUT -j ACCEPT -j DROP', 'option "-j" given twice');
    inFilter('-A INPUT -s -j ACCEPT', 'option "-s" needs a value');
    inFilter('-A INPUT -m comment --comment "open -j ACCEPT', 'unterminated quote');
    inFilter('-A INPUT ! -j ACCEPT', 'option "-j" cannot be inverted');
    inFilter('-A OUTPUT -i eth0 -j ACCEPT', '"-i" is not valid in OUTPUT');
    inFilter('-A INPUT -o eth0 -j ACCEPT', '"-o" is not valid in INPUT');
    inNat('-A PREROUTING -j DNAT', 'DNAT needs "--to-destination"');
    inNat('-A PREROUTING -j DNAT --to-destination 1.2.3.4:', 'bad --to-destination "1.2.3.4:"');
  });

  it('bad structure', () => {
    expectError('# hi\n-A INPUT -j ACCEPT\n', '-A INPUT -j ACCEPT', 'outside a table');
    expectError('*security\nCOMMIT\n', '*security', 'unsupported table "security"');
    expectError('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n', '*filter', 'table "filter" has no COMMIT');
    expectError('*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n', ':FOO ACCEPT [0:0]', 'user chain "FOO" cannot have a policy');
    expectError('*filter\n:INPUT - [0:0]\nCOMMIT\n', ':INPUT - [0:0]', 'policy "-" of built-in chain "INPUT"');
    expectError('*filter\n:INPUT REJECT [0:0]\nCOMMIT\n', ':INPUT REJECT [0:0]', 'is not ACCEPT or DROP');
    expectError('*filter\n:A - [0:0]\n:A -\nCOMMIT\n', ':A -', 'declared twice');
    expectError('*filter\n:DROP - [0:0]\nCOMMIT\n', ':DROP - [0:0]', "is a target's name");
    expectError('*filter\n-Z INPUT\nCOMMIT\n', '-Z INPUT', 'unknown command "-Z"');
    expectError('*filter\n-D INPUT -j ACCEPT\nCOMMIT\n', '-D INPUT -j ACCEPT', 'no rule "-A INPUT -j ACCEPT" to delete');
    expectError('*filter\n*nat\nCOMMIT\n', '*nat', 'starts before COMMIT');
  });

  it('duplicate table names the second one', () => {
    const text = '*filter\nCOMMIT\n*filter\nCOMMIT\n';
    expect(() => parseIptables(text)).toThrow(/^line 3: table "filter" appears twice in "\*filter"$/);
  });

  it('is all or nothing: a bad line anywhere, and nothing is returned', () => {
    const bad = DOCKER_SAVE.replace('-A DOCKER-USER -j RETURN', '-A DOCKER-USER -j RETURN --bogus');
    const n = bad.split('\n').indexOf('-A DOCKER-USER -j RETURN --bogus') + 1;
    expect(() => parseIptables(bad)).toThrow(`line ${n}: unknown option "--bogus" in "-A DOCKER-USER -j RETURN --bogus"`);
  });
});

describe('formatRuleset', () => {
  it('prints what iptables-save prints', () => {
    const text = formatRuleset(parseIptables(DOCKER_SAVE));
    const lines = text.split('\n');
    for (const l of [
      '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
      '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
      '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
      ':FORWARD DROP [0:0]',
      ':DOCKER-ISOLATION-STAGE-1 - [0:0]',
    ]) {
      expect(lines).toContain(l);
    }
    // Every rule line of the input comes back as it was.
    for (const l of DOCKER_SAVE.split('\n').filter((x) => x.startsWith('-A'))) expect(lines).toContain(l);
    for (const l of CALICO_SAVE.split('\n').filter((x) => x.startsWith('-A'))) expect(formatRuleset(parseIptables(CALICO_SAVE)).split('\n')).toContain(l);
  });

  it('round trips the fixtures', () => {
    for (const text of [DOCKER_SAVE, CALICO_SAVE]) {
      const a = parseIptables(text);
      const printed = formatRuleset(a);
      const b = parseIptables(printed);
      expect(canon(b)).toEqual(canon(a));
      expect(formatRuleset(b)).toBe(printed);
    }
  });

  it('round trips random rulesets (IR -> text -> IR)', () => {
    fc.assert(
      fc.property(arbRuleset(), (rs) => {
        validateRuleset(rs);
        const text = formatRuleset(rs);
        const back = parseIptables(text);
        expect(canon(back)).toEqual(canon(rs));
        expect(formatRuleset(back)).toBe(text);
        // Every rule knows its line.
        const lines = text.split('\n');
        for (const t of TABLES) {
          for (const c of back.tables[t].chains.values()) for (const r of c.rules) expect(lines[r.line - 1]).toBe(r.text);
        }
      }),
      { numRuns: 300 },
    );
  });
});
