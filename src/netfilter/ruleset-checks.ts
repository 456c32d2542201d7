// The checks iptables makes on a ruleset: where targets and matches may be
// (per rule, at -A) and across a table at COMMIT (jumps to missing chains,
// loops, NAT targets and rpfilter reached from the wrong builtin chains, sets).
import { BUILTIN_CHAINS, RulesetError, TABLES, type Rule, type Ruleset, type Table, type TableName } from './ir.js';
import type { Fail } from './matches.js';

const NO_IN = ['OUTPUT', 'POSTROUTING'];
const NO_OUT = ['PREROUTING', 'INPUT'];

/** Rules that must hold wherever the rule sits (iptables checks them at -A). */
export function checkRuleIn(table: TableName, chain: string, r: Rule, fail: Fail): void {
  const k = r.target.kind;
  if ((k === 'DNAT' || k === 'SNAT' || k === 'MASQUERADE') && table !== 'nat') fail(`${k} is only valid in the nat table`);
  if (k === 'REJECT' && table !== 'filter') fail('REJECT is only valid in the filter table');
  if (k === 'NOTRACK' && table !== 'raw') fail(`${r.target.kind === 'NOTRACK' ? r.target.name : k} is only valid in the raw table`);
  if (k === 'JUMP' || k === 'GOTO') {
    const c = (r.target as { chain: string }).chain;
    if (BUILTIN_CHAINS[table].includes(c)) fail(`cannot jump to built-in chain "${c}"`);
  }
  // iptables refuses -i where there is no input device, -o where there is no output device.
  if (r.in && NO_IN.includes(chain)) fail(`"-i" is not valid in ${chain}`);
  if (r.out && NO_OUT.includes(chain)) fail(`"-o" is not valid in ${chain}`);
  for (const m of r.matches ?? []) {
    if (m.m === 'rpfilter' && table !== 'raw' && table !== 'mangle') fail('"-m rpfilter" is only valid in the raw and mangle tables');
    if (m.m === 'rpfilter' && BUILTIN_CHAINS[table].includes(chain) && chain !== 'PREROUTING') fail(`"-m rpfilter" is only valid in PREROUTING, not ${chain}`);
    if (m.m === 'addrtype' && m.limitIn && NO_IN.includes(chain)) fail(`"--limit-iface-in" is not valid in ${chain}`);
    if (m.m === 'addrtype' && m.limitOut && NO_OUT.includes(chain)) fail(`"--limit-iface-out" is not valid in ${chain}`);
  }
}

/** The builtin chains of a table each chain can be reached from. */
function reachedFrom(t: Table): Map<string, Set<string>> {
  const from = new Map<string, Set<string>>();
  for (const c of t.chains.values()) from.set(c.name, new Set());
  for (const b of t.chains.values()) {
    if (!b.builtin) continue;
    const stack = [b.name];
    const seen = new Set<string>(stack);
    while (stack.length) {
      const c = t.chains.get(stack.pop()!)!;
      from.get(c.name)!.add(b.name);
      for (const r of c.rules) {
        if (r.target.kind !== 'JUMP' && r.target.kind !== 'GOTO') continue;
        const to = r.target.chain;
        if (t.chains.has(to) && !seen.has(to)) {
          seen.add(to);
          stack.push(to);
        }
      }
    }
  }
  return from;
}

function ruleFail(r: Rule, chain: string, index: number): Fail {
  return (what: string) => {
    if (r.line > 0) throw new RulesetError(`line ${r.line}: ${what} in "${r.text}"`, r.line, r.text);
    throw new RulesetError(`rule ${index + 1} of chain ${chain}: ${what}`, 0, r.text);
  };
}

/** Whole-table checks: jumps to missing chains, loops, where NAT targets and rpfilter may be, sets that do not exist. */
export function checkTable(name: TableName, t: Table, sets?: (name: string) => boolean): void {
  for (const c of t.chains.values()) {
    c.rules.forEach((r, i) => {
      if ((r.target.kind === 'JUMP' || r.target.kind === 'GOTO') && !t.chains.has(r.target.chain)) {
        ruleFail(r, c.name, i)(`jump to unknown chain or target "${r.target.chain}"`);
      }
      if (sets) {
        for (const m of r.matches ?? []) {
          if (m.m === 'set' && !sets(m.name)) ruleFail(r, c.name, i)(`set "${m.name}" doesn't exist (ipset.load it first)`);
        }
      }
    });
  }
  // Loops: depth-first search over the jump graph; a jump to a chain on the current path closes one.
  const state = new Map<string, 1 | 2>(); // 1 on the path, 2 done
  const path: string[] = [];
  const visit = (cn: string): void => {
    state.set(cn, 1);
    path.push(cn);
    const c = t.chains.get(cn)!;
    c.rules.forEach((r, i) => {
      if (r.target.kind !== 'JUMP' && r.target.kind !== 'GOTO') return;
      const to = r.target.chain;
      const s = state.get(to);
      if (s === 1) {
        const loop = [...path.slice(path.indexOf(to)), to].map((x) => `"${x}"`).join(' -> ');
        ruleFail(r, cn, i)(`chain loop ${loop}`);
      }
      if (s === undefined) visit(to);
    });
    path.pop();
    state.set(cn, 2);
  };
  for (const c of t.chains.values()) if (!state.has(c.name)) visit(c.name);
  const from = reachedFrom(t);
  for (const c of t.chains.values()) {
    const bs = from.get(c.name)!;
    c.rules.forEach((r, i) => {
      const k = r.target.kind;
      const ok = name !== 'nat' ? null : k === 'DNAT' ? ['PREROUTING', 'OUTPUT'] : k === 'SNAT' || k === 'MASQUERADE' ? ['POSTROUTING', 'INPUT'] : null;
      if (ok) {
        const bad = [...bs].filter((b) => !ok.includes(b));
        if (bad.length) {
          const via = c.builtin ? '' : ` (chain "${c.name}" is reached from ${bad.join(', ')})`;
          ruleFail(r, c.name, i)(`${k} is only valid in ${ok.join(' and ')} and chains reached from them${via}`);
        }
      }
      if (!c.builtin && (r.matches ?? []).some((m) => m.m === 'rpfilter')) {
        const bad = [...bs].filter((b) => b !== 'PREROUTING');
        if (bad.length) ruleFail(r, c.name, i)(`"-m rpfilter" is only valid in PREROUTING (chain "${c.name}" is reached from ${bad.join(', ')})`);
      }
    });
  }
}

/**
 * Checks an IR built by other means as parseIptables checks text: targets
 * and matches where they may be, jumps, loops. Throws RulesetError.
 */
export function validateRuleset(rs: Ruleset): void {
  for (const name of TABLES) {
    const t = rs.tables[name];
    if (!t) throw new RulesetError(`table ${name} missing`, 0, '');
    for (const b of BUILTIN_CHAINS[name]) {
      const c = t.chains.get(b);
      if (!c || !c.builtin) throw new RulesetError(`table ${name}: built-in chain ${b} missing`, 0, '');
      if (c.policy !== 'ACCEPT' && c.policy !== 'DROP') throw new RulesetError(`table ${name}: chain ${b} has no policy`, 0, '');
    }
    for (const c of t.chains.values()) {
      if (c.builtin && !BUILTIN_CHAINS[name].includes(c.name)) throw new RulesetError(`table ${name}: "${c.name}" is not a built-in chain`, 0, '');
      c.rules.forEach((r, i) => checkRuleIn(name, c.name, r, ruleFail(r, c.name, i)));
    }
    checkTable(name, t);
  }
}
