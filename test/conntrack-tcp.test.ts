// netfilter's TCP conntrack state machine (assembly/tables/conntrack-tcp.ts)
// against the model transcribed from nf_conntrack_proto_tcp.c
// (test/model/conntrack-tcp.ts), and the kernel's named scenarios.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as M from './model/conntrack-tcp.js';

type Fn1 = (a: number) => number;
type Fn3 = (a: number, b: number, c: number) => number;
interface Ct {
  tcp_flag_index: Fn1;
  tcp_next_state: Fn3;
  tcp_transition: Fn3;
  tcp_flags_valid: Fn1;
  tcp_timeout_ms: Fn1;
}

const root = join(import.meta.dirname, '..');
let ct: Ct;
let wasm: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ct-'));
  try {
    const out = join(dir, 'ct.wasm');
    // --config names a file that does not exist, so the project's asconfig.json
    // (whose release target would also write build/podnet.wat) is not applied.
    execFileSync(
      'npx',
      [
        'asc',
        'test/fixtures/conntrack-tcp-entry.ts',
        '--config',
        join(dir, 'none.json'),
        '--runtime',
        'stub',
        '--importMemory',
        '--sharedMemory',
        '--initialMemory',
        '16',
        '--maximumMemory',
        '65536',
        '--enable',
        'threads',
        '-O3',
        '-o',
        out,
      ],
      { cwd: root, stdio: 'pipe' },
    );
    wasm = Uint8Array.from(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm), { env: { memory, abort() {} } });
  const ex = instance.exports as Record<string, unknown>;
  if (typeof ex._start === 'function') (ex._start as () => void)();
  ct = ex as unknown as Ct;
});

const {
  TCP_CONNTRACK_NONE: NONE,
  TCP_CONNTRACK_SYN_SENT: SYN_SENT,
  TCP_CONNTRACK_SYN_RECV: SYN_RECV,
  TCP_CONNTRACK_ESTABLISHED: ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT: FIN_WAIT,
  TCP_CONNTRACK_CLOSE_WAIT: CLOSE_WAIT,
  TCP_CONNTRACK_LAST_ACK: LAST_ACK,
  TCP_CONNTRACK_TIME_WAIT: TIME_WAIT,
  TCP_CONNTRACK_CLOSE: CLOSE,
  TCP_CONNTRACK_SYN_SENT2: SYN_SENT2,
  TCP_CONNTRACK_MAX: INVALID,
  TCP_CONNTRACK_IGNORE: IGNORE,
  TCPHDR_FIN: FIN,
  TCPHDR_SYN: SYN,
  TCPHDR_RST: RST,
  TCPHDR_PSH: PSH,
  TCPHDR_ACK: ACK,
  TCPHDR_URG: URG,
  TCPHDR_ECE: ECE,
  TCPHDR_CWR: CWR,
} = M;
const ORIG = M.IP_CT_DIR_ORIGINAL;
const REPLY = M.IP_CT_DIR_REPLY;

const name = (s: number) => M.tcp_conntrack_names[s] ?? String(s);

/** Runs packets (dir, flags) through the AS state machine from NONE; returns every state reached. */
function run(packets: [number, number][], from = NONE): string[] {
  const seen = [name(from)];
  let s = from;
  for (const [dir, flags] of packets) {
    const next = ct.tcp_next_state(s, dir, flags);
    expect(next, `${name(s)} + ${dir ? 'REPLY' : 'ORIG'} 0x${flags.toString(16)}`).toBe(M.nextState(s, dir, flags));
    seen.push(name(next));
    // INVALID and IGNORE leave the connection's state as it was.
    if (next !== INVALID && next !== IGNORE) s = next;
  }
  return seen;
}

describe('TCP conntrack: the AS encoding equals the kernel table', () => {
  it('has no data segment and imports only memory', () => {
    const mod = new WebAssembly.Module(wasm);
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`)).toEqual(['env.memory']);
    // Walk the sections: id 11 is the data section.
    const ids: number[] = [];
    let p = 8;
    while (p < wasm.length) {
      const id = wasm[p++];
      let size = 0;
      let shift = 0;
      for (;;) {
        const b = wasm[p++];
        size |= (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
      }
      ids.push(id);
      p += size;
    }
    expect(ids).not.toContain(11);
  });

  it('tcp_next_state matches the model for every (state, dir, flag byte)', () => {
    let n = 0;
    const bad: string[] = [];
    for (let state = 0; state < 16; state++)
      for (const dir of [ORIG, REPLY])
        for (let flags = 0; flags < 256; flags++) {
          const got = ct.tcp_next_state(state, dir, flags);
          const want = M.nextState(state, dir, flags);
          if (got !== want) bad.push(`${name(state)} dir ${dir} flags 0x${flags.toString(16)}: ${got} != ${want}`);
          n++;
        }
    expect(bad).toEqual([]);
    expect(n).toBe(16 * 2 * 256);
  });

  it('tcp_transition equals the table cell for every (state, dir, index), and INVALID past it', () => {
    for (let dir = 0; dir < 2; dir++)
      for (let index = 0; index < 8; index++)
        for (let state = 0; state < 12; state++) {
          const want = state < INVALID && index <= M.TCP_NONE_SET ? M.tcp_conntracks[dir][index][state] : INVALID;
          expect(ct.tcp_transition(state, dir, index), `${dir} ${index} ${state}`).toBe(want);
        }
    // Any nonzero dir is REPLY.
    expect(ct.tcp_next_state(SYN_SENT, 7, SYN | ACK)).toBe(SYN_RECV);
  });

  it('tcp_flag_index matches get_conntrack_index for every flag byte', () => {
    for (let flags = 0; flags < 256; flags++) expect(ct.tcp_flag_index(flags)).toBe(M.get_conntrack_index(flags));
    // Precedence: RST over SYN, SYN over FIN, FIN over ACK.
    expect(ct.tcp_flag_index(RST | SYN | ACK)).toBe(M.TCP_RST_SET);
    expect(ct.tcp_flag_index(SYN | FIN)).toBe(M.TCP_SYN_SET);
    expect(ct.tcp_flag_index(SYN | FIN | ACK)).toBe(M.TCP_SYNACK_SET);
    expect(ct.tcp_flag_index(FIN | ACK)).toBe(M.TCP_FIN_SET);
    expect(ct.tcp_flag_index(ACK | PSH)).toBe(M.TCP_ACK_SET);
    expect(ct.tcp_flag_index(PSH | URG)).toBe(M.TCP_NONE_SET);
  });

  it('tcp_flags_valid matches tcp_valid_flags for every flag byte', () => {
    let valid = 0;
    for (let flags = 0; flags < 256; flags++) {
      expect(!!ct.tcp_flags_valid(flags), `0x${flags.toString(16)}`).toBe(M.flagsValid(flags));
      if (M.flagsValid(flags)) valid++;
    }
    // 9 combinations, each with any of PSH, ECE, CWR.
    expect(valid).toBe(9 * 8);
  });

  it('tcp_timeout_ms is tcp_timeouts in ms', () => {
    for (let s = 0; s < 20; s++) expect(ct.tcp_timeout_ms(s), name(s)).toBe(M.timeoutMs(s));
    const s = (x: number) => ct.tcp_timeout_ms(x) / 1000;
    expect([ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE].map(s)).toEqual([
      432000, 120, 60, 120, 60, 30, 120, 10,
    ]);
    expect(s(M.TCP_CONNTRACK_RETRANS)).toBe(300);
    expect(s(M.TCP_CONNTRACK_UNACK)).toBe(300);
    expect([NONE, INVALID, IGNORE].map(s)).toEqual([0, 0, 0]);
  });
});

describe('TCP conntrack: scenarios', () => {
  const handshake: [number, number][] = [
    [ORIG, SYN],
    [REPLY, SYN | ACK],
    [ORIG, ACK],
    [ORIG, PSH | ACK],
    [REPLY, ACK],
    [REPLY, PSH | ACK],
    [ORIG, ACK],
  ];

  it('3-way handshake, data, then the client closes: TIME_WAIT', () => {
    expect(
      run([...handshake, [ORIG, FIN | ACK], [REPLY, ACK], [REPLY, FIN | ACK], [ORIG, ACK]]),
    ).toEqual([
      'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED', 'ESTABLISHED',
      'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT',
    ]);
  });

  it('the server closes first: TIME_WAIT', () => {
    expect(run([...handshake, [REPLY, FIN | ACK], [ORIG, ACK], [ORIG, FIN | ACK], [REPLY, ACK]]).slice(-5)).toEqual([
      'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT',
    ]);
  });

  it('FINs cross (each FIN|ACK is a FIN): FIN_WAIT, LAST_ACK, TIME_WAIT; retransmissions stay', () => {
    expect(
      run([...handshake, [ORIG, FIN | ACK], [REPLY, FIN | ACK], [REPLY, FIN | ACK], [ORIG, ACK], [ORIG, ACK], [REPLY, FIN | ACK]]).slice(-6),
    ).toEqual(['FIN_WAIT', 'LAST_ACK', 'LAST_ACK', 'TIME_WAIT', 'TIME_WAIT', 'TIME_WAIT']);
  });

  it('RST (with or without ACK) from either side closes every state but NONE', () => {
    for (const dir of [ORIG, REPLY])
      for (const rst of [RST, RST | ACK]) {
        expect(ct.tcp_next_state(NONE, dir, rst)).toBe(INVALID);
        for (let s = SYN_SENT; s <= SYN_SENT2; s++) expect(ct.tcp_next_state(s, dir, rst), name(s)).toBe(CLOSE);
      }
    expect(run([...handshake, [REPLY, RST]]).at(-1)).toBe('CLOSE');
    expect(run([[ORIG, SYN], [REPLY, RST | ACK]])).toEqual(['NONE', 'SYN_SENT', 'CLOSE']);
  });

  it('a retransmitted SYN stays SYN_SENT; a SYN after CLOSE or TIME_WAIT reopens', () => {
    expect(run([[ORIG, SYN], [ORIG, SYN], [ORIG, SYN | ECE | CWR]])).toEqual(['NONE', 'SYN_SENT', 'SYN_SENT', 'SYN_SENT']);
    expect(ct.tcp_next_state(TIME_WAIT, ORIG, SYN)).toBe(SYN_SENT);
    expect(ct.tcp_next_state(CLOSE, ORIG, SYN)).toBe(SYN_SENT);
    // "sTW -> sSS Reopened connection, but server may have switched role"
    expect(ct.tcp_next_state(TIME_WAIT, REPLY, SYN)).toBe(SYN_SENT);
    expect(ct.tcp_next_state(CLOSE, REPLY, SYN)).toBe(INVALID);
  });

  it('simultaneous open goes through SYN_SENT2', () => {
    // Both send a SYN; each answers the other's with a SYN/ACK.
    expect(run([[ORIG, SYN], [REPLY, SYN], [REPLY, SYN], [ORIG, SYN | ACK], [REPLY, SYN | ACK], [ORIG, ACK]])).toEqual([
      'NONE', 'SYN_SENT', 'SYN_SENT2', 'SYN_SENT2', 'SYN_RECV', 'IGNORE', 'ESTABLISHED',
    ]);
    // From SYN_SENT2 the reply's SYN/ACK also gives SYN_RECV; a late original SYN stays.
    expect(ct.tcp_next_state(SYN_SENT2, REPLY, SYN | ACK)).toBe(SYN_RECV);
    expect(ct.tcp_next_state(SYN_SENT2, ORIG, SYN)).toBe(SYN_SENT2);
    // The table keeps a REPLY ACK in SYN_RECV; nf_conntrack_tcp_packet() turns
    // it into ESTABLISHED after a simultaneous open (not in the table).
    expect(ct.tcp_next_state(SYN_RECV, REPLY, ACK)).toBe(SYN_RECV);
  });

  it('a SYN/ACK in the original direction of a new connection is invalid', () => {
    expect(ct.tcp_next_state(NONE, ORIG, SYN | ACK)).toBe(INVALID);
    expect(ct.tcp_next_state(SYN_SENT, ORIG, SYN | ACK)).toBe(INVALID);
  });

  it('an ACK on NONE is picked up as ESTABLISHED (tcp_loose); other non-SYNs are not', () => {
    expect(ct.tcp_next_state(NONE, ORIG, ACK)).toBe(ESTABLISHED);
    expect(ct.tcp_next_state(NONE, ORIG, PSH | ACK)).toBe(ESTABLISHED);
    expect(ct.tcp_next_state(NONE, ORIG, SYN)).toBe(SYN_SENT);
    expect(ct.tcp_next_state(NONE, ORIG, FIN | ACK)).toBe(INVALID);
    expect(ct.tcp_next_state(NONE, ORIG, 0)).toBe(INVALID);
    // "sNO -> sIV Never reached": a new entry is always in the original direction.
    for (const f of [SYN, SYN | ACK, ACK, FIN | ACK, RST]) expect(ct.tcp_next_state(NONE, REPLY, f)).toBe(INVALID);
  });

  it('out-of-sync packets are IGNOREd', () => {
    expect(ct.tcp_next_state(ESTABLISHED, ORIG, SYN)).toBe(IGNORE);
    expect(ct.tcp_next_state(SYN_RECV, REPLY, SYN | ACK)).toBe(IGNORE);
    expect(ct.tcp_next_state(SYN_SENT, REPLY, ACK)).toBe(IGNORE);
    expect(ct.tcp_next_state(SYN_SENT, ORIG, ACK)).toBe(INVALID);
    expect(ct.tcp_next_state(SYN_SENT, ORIG, FIN | ACK)).toBe(INVALID);
  });

  it('tcp_error rejects impossible flag combinations up front', () => {
    const ok = (f: number) => !!ct.tcp_flags_valid(f);
    for (const f of [SYN, SYN | ACK, ACK, FIN | ACK, RST, RST | ACK, SYN | URG, ACK | URG, FIN | ACK | URG])
      for (const extra of [0, PSH, ECE, CWR, PSH | ECE | CWR]) expect(ok(f | extra), `0x${(f | extra).toString(16)}`).toBe(true);
    const rejected = [
      0, // no flags at all (null scan)
      PSH, // only "always valid" bits
      FIN, // FIN without ACK (FIN scan)
      SYN | FIN,
      SYN | RST,
      FIN | RST,
      SYN | FIN | ACK,
      SYN | RST | ACK,
      FIN | RST | ACK,
      SYN | ACK | URG, // unlike SYN|URG and ACK|URG
      RST | URG,
      URG,
      FIN | PSH | URG, // Xmas scan
      0xff,
      0x3f,
    ];
    for (const f of rejected) expect(ok(f), `0x${f.toString(16)}`).toBe(false);
  });
});
